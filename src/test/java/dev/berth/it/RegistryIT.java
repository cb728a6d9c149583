package dev.berth.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.it.BerthHarness.Result;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pulls from Debian's docker-registry on 127.0.0.1 with real berthd, shims and runc: multi-layer
 * images with a whiteout and an opaque dir (pushed with skopeo as OCI, docker schema 2 and as a
 * multi-platform index), implicit pulls, login, concurrent pulls, prune, an unreachable registry.
 */
@Timeout(300)
class RegistryIT {
  @TempDir static Path scratch;

  @BeforeAll
  static void requireRegistry() {
    // not a skip: ops/setup.sh installs them, and a registry test that silently does not run proves
    // nothing
    assertTrue(
        LocalRegistry.available(),
        "docker-registry and skopeo are missing (ops/setup.sh installs them)");
  }

  private static Path layout(String name, String marker, boolean arm64) throws Exception {
    return TestLayouts.multiLayer(
        BerthHarness.busyboxImage(), scratch.resolve(name), marker, arm64);
  }

  private static long count(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) return 0;
    try (Stream<Path> s = Files.list(dir)) {
      return s.count();
    }
  }

  @Test
  void pulls_aMulti_layer_image_and_runs_it_with_whiteout_and_opaque_dir_applied()
      throws Exception {
    Path oci = layout("one", "one", false);
    try (LocalRegistry reg = LocalRegistry.start(scratch.resolve("reg-one"), null, null);
        BerthHarness berth = BerthHarness.start("RegistryIT-multi")) {
      reg.push(oci, "latest", "test/multi:1", "oci", false);
      reg.push(oci, "latest", "test/multi:v2s2", "v2s2", false);
      String ref = reg.host() + "/test/multi:1";

      Result pull = berth.berth("pull", ref);
      assertEquals(0, pull.exitCode(), pull.toString());
      assertTrue(pull.stdout().contains("1: Pulling from test/multi"), pull.stdout());
      assertTrue(pull.stdout().contains(": Pull complete"), pull.stdout());
      assertTrue(
          pull.stdout().contains("Status: Downloaded newer image for " + ref), pull.stdout());

      assertEquals(
          "new\none\ngone",
          berth.ok(
              "run",
              "--rm",
              ref,
              "sh",
              "-c",
              "ls /opq; cat /marker; test -e /etc/berth-test/gone && echo present || echo gone"));

      JsonNode img =
          berth.images().stream()
              .filter(i -> i.path("names").toString().contains(ref))
              .findFirst()
              .orElseThrow();
      assertTrue(
          img.path("repoDigests").get(0).asText().startsWith(reg.host() + "/test/multi@sha256:"),
          img.toString());
      String repoDigest = img.path("repoDigests").get(0).asText();

      Result again = berth.berth("pull", ref);
      assertTrue(
          again.stdout().contains("Status: Image is up to date for " + ref), again.toString());
      // by digest, and the same content as docker schema 2: nothing new to unpack
      assertEquals(0, berth.berth("pull", "-q", repoDigest).exitCode());
      Result v2 = berth.berth("pull", reg.host() + "/test/multi:v2s2");
      assertEquals(0, v2.exitCode(), v2.toString());
      assertEquals(
          "one", berth.ok("run", "--rm", reg.host() + "/test/multi:v2s2", "cat", "/marker"));

      // a pulled image saves as a tar that skopeo reads as OCI archive and docker-archive, and
      // imports again
      Path saved = scratch.resolve("multi-saved.tar");
      berth.ok("image", "save", "-o", saved.toString(), ref);
      // (two names: the OCI index has an entry per name, told apart by the tag annotation)
      for (String image :
          List.of("oci-archive:" + saved + ":1", "docker-archive:" + saved + ":" + ref)) {
        Result inspect =
            BerthHarness.exec(
                java.time.Duration.ofSeconds(60), List.of("skopeo", "inspect", image));
        assertEquals(0, inspect.exitCode(), inspect.toString());
      }
      assertTrue(
          berth
              .ok("image", "import", saved.toString(), "--name", "resaved:1")
              .contains(img.path("id").asText()));
      berth.ok("rmi", "resaved:1");

      // in use: rmi refused; unused: prune -a takes everything, blobs and layers too
      String c = berth.ok("create", ref, "true");
      // both tags name one image (same config): the first rmi only untags, the last one is refused
      assertEquals("Untagged: " + ref, berth.ok("rmi", ref));
      Result rmi = berth.berth("rmi", reg.host() + "/test/multi:v2s2");
      assertEquals(125, rmi.exitCode(), rmi.toString());
      assertTrue(rmi.stderr().contains("is used by a container"), rmi.stderr());
      berth.ok("rm", c);
      Result prune = berth.berth("image", "prune", "-a", "-f");
      assertEquals(0, prune.exitCode(), prune.toString());
      assertTrue(prune.stdout().contains("Total reclaimed space"), prune.stdout());
      assertTrue(berth.images().isEmpty(), berth.images().toString());
      Path store = berth.root.resolve("images");
      assertEquals(0, count(store.resolve("blobs/sha256")), "blobs left after prune");
      assertEquals(0, count(store.resolve("layers")), "layers left after prune");
    }
  }

  @Test
  void implicit_pull_from_the_default_registry_picks_the_platform_of_an_index() throws Exception {
    Path oci = layout("two", "two", true);
    try (LocalRegistry reg = LocalRegistry.start(scratch.resolve("reg-two"), null, null);
        BerthHarness berth =
            BerthHarness.start("RegistryIT-implicit", List.of("--default-registry", reg.host()))) {
      reg.push(oci, "latest", "library/multi:latest", "oci", true);

      Result run = berth.berth("run", "--rm", "multi", "cat", "/marker");
      assertEquals(0, run.exitCode(), run.toString());
      assertEquals("two", run.out());
      assertTrue(run.stderr().contains("Unable to find image 'multi' locally"), run.stderr());
      String amd =
          berth.images().stream()
              .filter(i -> i.path("names").toString().contains("\"multi:latest\""))
              .findFirst()
              .orElseThrow()
              .path("id")
              .asText();

      Result arm = berth.berth("pull", "--platform", "linux/arm64", "multi");
      assertEquals(0, arm.exitCode(), arm.toString());
      String armId =
          berth.images().stream()
              .filter(i -> i.path("names").toString().contains("\"multi:latest\""))
              .findFirst()
              .orElseThrow()
              .path("id")
              .asText();
      assertNotEquals(amd, armId, "the arm64 entry of the index is another image");

      Result never = berth.berth("run", "--pull", "never", "--rm", "nothere", "true");
      assertEquals(125, never.exitCode());
      assertTrue(never.stderr().contains("no such image"), never.stderr());
      Result missing = berth.berth("pull", "nothere");
      assertEquals(125, missing.exitCode());
      assertEquals(1, missing.stderrLines().size(), missing.toString());
      assertTrue(missing.stderr().contains("not found"), missing.stderr());
      Result bad = berth.berth("pull", "Bad/Name");
      assertEquals(125, bad.exitCode());
      assertTrue(bad.stderr().contains("invalid reference format"), bad.stderr());
    }
  }

  @Test
  void login_stores_credentials_and_authenticated_pulls_work() throws Exception {
    Path oci = layout("three", "three", false);
    try (LocalRegistry reg = LocalRegistry.start(scratch.resolve("reg-three"), "alice", "s3cret");
        BerthHarness berth = BerthHarness.start("RegistryIT-login")) {
      reg.push(oci, "latest", "test/private:1", "oci", false);
      String ref = reg.host() + "/test/private:1";
      Result anon = berth.berth("pull", ref);
      assertEquals(125, anon.exitCode());
      assertTrue(anon.stderr().contains("berth login " + reg.host()), anon.stderr());

      Path auth = berth.root.resolve("auth.json");
      Result wrong =
          berth.berthWithInput("nope\n", "login", "-u", "alice", "--password-stdin", reg.host());
      assertEquals(125, wrong.exitCode());
      assertTrue(wrong.stderr().contains("incorrect username or password"), wrong.stderr());
      assertFalse(Files.exists(auth), "refused credentials are not stored");

      Result ok =
          berth.berthWithInput("s3cret\n", "login", "-u", "alice", "--password-stdin", reg.host());
      assertEquals(0, ok.exitCode(), ok.toString());
      assertTrue(ok.stdout().contains("Login Succeeded"), ok.stdout());
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(auth)));
      assertFalse(Files.readString(auth).contains("s3cret"));

      assertEquals(0, berth.berth("pull", ref).exitCode());
      assertEquals("three", berth.ok("run", "--rm", ref, "cat", "/marker"));

      assertTrue(berth.ok("logout", reg.host()).contains("Removing login credentials"));
      berth.ok("rmi", ref);
      assertEquals(125, berth.berth("pull", ref).exitCode());
    }
  }

  @Test
  void concurrent_pulls_fetch_each_blob_once_and_an_unreachable_registry_changes_nothing()
      throws Exception {
    Path oci = layout("four", "four", false);
    try (LocalRegistry reg = LocalRegistry.start(scratch.resolve("reg-four"), null, null);
        BerthHarness berth = BerthHarness.start("RegistryIT-concurrent")) {
      reg.push(oci, "latest", "test/shared:1", "oci", false);
      String ref = reg.host() + "/test/shared:1";
      List<Process> pulls = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        pulls.add(
            new ProcessBuilder(
                    BerthHarness.BERTH.toString(),
                    "--socket",
                    berth.socket.toString(),
                    "pull",
                    "-q",
                    ref)
                .redirectErrorStream(true)
                .redirectOutput(scratch.resolve("pull-" + i + ".log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start());
      }
      for (int i = 0; i < 2; i++) {
        assertTrue(pulls.get(i).waitFor(120, TimeUnit.SECONDS));
        assertEquals(
            0, pulls.get(i).exitValue(), Files.readString(scratch.resolve("pull-" + i + ".log")));
      }
      // skopeo recompresses on push, so the registry's digests are not the layout's: count what it
      // served.
      // config + the two new layers, each once; the busybox layer came with the harness's import.
      java.util.Map<String, Long> gets = reg.blobGetCounts();
      assertEquals(3, gets.size(), gets.toString());
      gets.forEach(
          (digest, n) ->
              assertEquals(1L, n, "blob " + digest + " fetched more than once: " + gets));

      List<JsonNode> before = berth.images();
      long blobsBefore = count(berth.root.resolve("images/blobs/sha256"));
      Result down = berth.berth("pull", "127.0.0.1:1/nobody/home:1");
      assertEquals(125, down.exitCode());
      assertEquals(1, down.stderrLines().size(), down.toString());
      assertTrue(down.stderr().contains("cannot connect to 127.0.0.1:1"), down.stderr());
      assertEquals(before, berth.images());
      assertEquals(blobsBefore, count(berth.root.resolve("images/blobs/sha256")));
      assertEquals(0, count(berth.root.resolve("images/tmp")), "nothing staged left");
      assertTrue(berth.daemonAlive());
      berth.ok("version");
    }
  }
}
