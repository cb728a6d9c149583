package dev.berth.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.images.ImageRecord;
import dev.berth.images.ImageStore;
import dev.berth.images.TestImages;
import dev.berth.images.rootfs.MountSpec;
import dev.berth.images.rootfs.Rootfs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generated spec is runnable: runc 1.1.5 runs an imported busybox image on an overlay rootfs
 * built from the store's layers, with the user resolved from the image's /etc/passwd, and with the
 * seccomp filter converted from Debian's containers-common profile.
 */
class RuncRunTest {
  @TempDir Path tmp;

  private record Result(int code, String out) {}

  private static Result exec(List<String> cmd, long timeoutSeconds)
      throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("timed out: " + cmd);
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  @Test
  void runc_runs_the_generated_bundle() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "runc needs root");
    assumeTrue(Files.isExecutable(Path.of("/bin/busybox")), "busybox-static is not installed");
    assumeTrue(exec(List.of("runc", "--version"), 10).code == 0, "runc is not installed");

    Path layout = tmp.resolve("busybox");
    TestImages.ociLayout(
        layout,
        new TestImages.Spec()
            .layer(TestImages.busyboxLayer(), true)
            .layer(
                new TestImages.Layer()
                    .dir("etc", 0755)
                    .file("etc/motd", "hello from layer 2\n")
                    .tar(),
                false),
        "latest");
    ImageStore store = new ImageStore(tmp.resolve("store"));
    ImageRecord image = store.importImage(layout, null).get(0);
    assertEquals(List.of("busybox:latest"), image.names());

    assertEquals(
        "ok\n0\nhello from layer 2\n", run(store, image, "", "echo ok; id -u; cat /etc/motd"));
    assertEquals("65534:65534\n", run(store, image, "nobody", "echo $(id -u):$(id -g)"));
    assertEquals("Seccomp:\t0\n", run(store, image, "", "grep Seccomp: /proc/self/status"));

    // runc takes the converted profile: the process runs in seccomp filter mode (2)
    Path profile = Path.of("/usr/share/containers/seccomp.json");
    assumeTrue(Files.isRegularFile(profile), "golang-github-containers-common is not installed");
    JsonNode seccomp =
        SeccompProfile.read(profile)
            .toRuntimeSpec(RuntimeSpec.DEFAULT_CAPABILITIES, SeccompProfile.Host.current())
            .orElseThrow();
    assertEquals(
        "Seccomp:\t2\n", run(store, image, "", "grep Seccomp: /proc/self/status", seccomp));
  }

  private String run(ImageStore store, ImageRecord image, String user, String script)
      throws Exception {
    return run(store, image, user, script, null);
  }

  private String run(
      ImageStore store, ImageRecord image, String user, String script, JsonNode seccomp)
      throws Exception {
    String id = "berth-images-test-" + UUID.randomUUID().toString().substring(0, 8);
    Path bundle = Files.createDirectories(tmp.resolve(id));
    Path rootfs = Files.createDirectories(bundle.resolve("rootfs"));
    Path runcRoot = tmp.resolve("runc");
    MountSpec m =
        Rootfs.overlay(store.layerDirs(image), bundle.resolve("upper"), bundle.resolve("work"));
    Result mount =
        exec(
            List.of(
                "mount",
                "-t",
                m.type(),
                m.source(),
                "-o",
                String.join(",", m.options()),
                rootfs.toString()),
            30);
    assumeTrue(mount.code == 0, "overlay mount not possible here: " + mount.out);
    try {
      int[] ids = Users.resolve(store.layerDirs(image), user);
      List<Integer> extra = new ArrayList<>();
      for (int i = 2; i < ids.length; i++) extra.add(ids[i]);
      byte[] config =
          RuntimeSpec.generate(
              id,
              new ProcessConfig(
                  List.of("sh", "-c", script),
                  store.config(image).env(),
                  "/",
                  ids[0],
                  ids[1],
                  extra),
              "berth-test",
              rootfs,
              List.of(),
              seccomp);
      Files.write(bundle.resolve("config.json"), config);
      Result r =
          exec(
              List.of(
                  "runc", "--root", runcRoot.toString(), "run", "--bundle", bundle.toString(), id),
              60);
      assertEquals(0, r.code, "runc run failed: " + r.out);
      return r.out;
    } finally {
      exec(List.of("runc", "--root", runcRoot.toString(), "delete", "--force", id), 30);
      Result umount = exec(List.of("umount", rootfs.toString()), 30);
      assertEquals(0, umount.code, "umount failed: " + umount.out);
    }
  }
}
