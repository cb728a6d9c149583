package dev.berth.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.images.TestImages.Layer;
import dev.berth.images.TestImages.Spec;
import dev.berth.images.rootfs.Whiteouts;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pulls against an in-test registry: formats, auth, dedup, leases vs GC, and hostile registries.
 */
class PullerTest {
  @TempDir Path tmp;
  Path root;
  Path outside;
  ImageStore store;
  TestRegistry registry;
  Puller puller;
  final List<String> lines = Collections.synchronizedList(new ArrayList<>());

  @BeforeEach
  void setUp() throws IOException {
    assumeTrue(
        "root".equals(System.getProperty("user.name")),
        "the layer store needs root (chown, mknod, trusted xattrs)");
    root = tmp.resolve("store");
    outside = Files.createDirectory(tmp.resolve("outside"));
    store = new ImageStore(root);
    registry = new TestRegistry();
    puller = puller(Map.of());
  }

  Puller puller(Map<String, List<URI>> mirrors) {
    RegistryConfig c =
        new RegistryConfig(
            registry.host(),
            "library",
            Set.of(),
            mirrors,
            Duration.ofSeconds(2),
            Duration.ofSeconds(1),
            3);
    return new Puller(store, c, new RegistryCredentials(tmp.resolve("auth.json")));
  }

  @AfterEach
  void tearDown() {
    if (puller != null) puller.close();
    if (registry != null) registry.close();
  }

  ImageRecord pull(String ref) throws ImageException {
    try {
      return puller.pull(ref, null, null, (id, s, c, t) -> lines.add(id + " " + s));
    } catch (ImageException e) {
      System.out.println("pull " + ref + " failed: " + e.getMessage() + "\nprogress: " + lines);
      throw e;
    }
  }

  static byte[] base() {
    return new Layer()
        .dir("etc", 0755)
        .file("etc/hostname", "base\n")
        .file("etc/gone", "old\n")
        .dir("opq", 0755)
        .file("opq/old", "lower\n")
        .tar();
  }

  static byte[] top() {
    return new Layer()
        .dir("etc", 0755)
        .file("etc/.wh.gone", "")
        .dir("opq", 0755)
        .file("opq/.wh..wh..opq", "")
        .file("opq/new", "upper\n")
        .tar();
  }

  static byte[] third() {
    return new Layer().dir("data", 0755).file("data/zstd", "z\n").tar();
  }

  Spec threeLayers() {
    return new Spec().layer(base(), false).layer(top(), false).layer(third(), false);
  }

  long count(Path dir) throws IOException {
    if (!Files.exists(dir)) return 0;
    try (Stream<Path> s = Files.list(dir)) {
      return s.count();
    }
  }

  /** Nothing in the store, nothing staged, nothing outside it. */
  void assertUntouched() throws IOException {
    assertEquals(0, count(root.resolve("blobs/sha256")), "blobs left");
    assertEquals(0, count(root.resolve("layers")), "layers left");
    assertEquals(0, count(root.resolve("tmp")), "staging left");
    assertEquals(0, count(outside), "a file was written outside the store");
    assertTrue(store.list().isEmpty());
  }

  // ------------------------------------------------------------------ formats

  @Test
  void pulls_an_oci_index_with_gzip_uncompressed_and_zstd_layers_whiteouts_and_opaque_dirs()
      throws Exception {
    Spec spec = threeLayers();
    String amd =
        registry.putImage(
            "library/app", null, spec, List.of("gzip", "none", "zstd"), ImageSources.OCI_MANIFEST);
    Spec other = new Spec().layer(base(), true).config(c -> c.put("architecture", "s390x"));
    String s390 =
        registry.putImage("library/app", null, other, List.of("gzip"), ImageSources.OCI_MANIFEST);
    String index =
        registry.putIndex(
            "library/app",
            "1.0",
            List.of(
                new String[] {s390, "linux", "s390x"},
                new String[] {amd, "linux", ImageSources.hostArch()}),
            ImageSources.OCI_INDEX);

    ImageRecord img = pull("app:1.0");
    assertEquals(List.of("app:1.0"), img.names());
    assertEquals(List.of("app@" + index), img.repoDigests());
    assertEquals(spec.configDigest(), img.id());
    assertEquals(amd, img.manifestDigest());
    List<Path> dirs = store.layerDirs(img);
    assertEquals(3, dirs.size());
    assertEquals("base\n", Files.readString(dirs.get(0).resolve("etc/hostname")));
    assertTrue(Whiteouts.isWhiteout(dirs.get(1).resolve("etc/gone")));
    assertTrue(Whiteouts.isOpaque(dirs.get(1).resolve("opq")));
    assertEquals("z\n", Files.readString(dirs.get(2).resolve("data/zstd")));
    assertEquals(List.of("sh"), store.config(img).cmd());
    // by digest, by repo digest, by name
    assertEquals(img.id(), store.resolve("app@" + index).orElseThrow().id());
    assertEquals(img.id(), store.resolve("app:1.0").orElseThrow().id());
    assertTrue(lines.contains(" Status: Downloaded newer image for app:1.0"), lines.toString());
    assertEquals(
        0,
        registry.gets("/blobs/" + other.configDigest()),
        "the other platform's image was not fetched");
    lines.clear();
    assertEquals(img.id(), pull("app:1.0").id());
    assertTrue(lines.contains(" Status: Image is up to date for app:1.0"), lines.toString());
    // a new tag of an image whose blobs are all here was still just created: not "up to date"
    registry.putImage(
        "library/app", "2.0", spec, List.of("gzip", "none", "zstd"), ImageSources.OCI_MANIFEST);
    lines.clear();
    assertEquals(img.id(), pull("app:2.0").id());
    assertTrue(lines.contains(" Status: Downloaded newer image for app:2.0"), lines.toString());
    lines.clear();
    pull("app:2.0");
    assertTrue(lines.contains(" Status: Image is up to date for app:2.0"), lines.toString());
  }

  @Test
  void pulls_aDocker_schema2_manifest_list_by_digest_and_an_explicit_registry_host()
      throws Exception {
    Spec spec = new Spec().layer(base(), false);
    String m =
        registry.putImage("team/tool", null, spec, List.of("gzip"), ImageSources.DOCKER_MANIFEST);
    String list =
        registry.putIndex(
            "team/tool",
            "v2",
            List.<String[]>of(new String[] {m, "linux", ImageSources.hostArch()}),
            ImageSources.DOCKER_LIST);
    ImageRecord byDigest = pull(registry.host() + "/team/tool@" + list);
    assertTrue(byDigest.names().isEmpty(), "pulled by digest: no tag");
    assertEquals(List.of(registry.host() + "/team/tool@" + list), byDigest.repoDigests());
    assertFalse(byDigest.dangling());
    ImageRecord byTag = pull("team/tool:v2");
    assertEquals(byDigest.id(), byTag.id());
    assertEquals(List.of("team/tool:v2"), byTag.names());
  }

  @Test
  void unknown_tag_and_unknown_platform_are_clear_errors() throws Exception {
    ImageException e = assertThrows(ImageException.class, () -> pull("nothing:here"));
    assertTrue(e.getMessage().contains("not found: manifest unknown"), e.getMessage());
    String m =
        registry.putImage(
            "library/arm",
            null,
            new Spec().layer(base(), false),
            List.of("gzip"),
            ImageSources.OCI_MANIFEST);
    registry.putIndex(
        "library/arm",
        "latest",
        List.<String[]>of(new String[] {m, "linux", "riscv64"}),
        ImageSources.OCI_INDEX);
    e = assertThrows(ImageException.class, () -> pull("arm"));
    assertTrue(e.getMessage().contains("no matching manifest for linux/"), e.getMessage());
    assertThrows(ImageException.class, () -> pull("UPPER/case"));
    assertUntouched();
  }

  // ------------------------------------------------------------------ auth

  @Test
  void bearer_token_auth_with_stored_login_and_basic_auth() throws Exception {
    registry.putImage(
        "library/private",
        "latest",
        new Spec().layer(base(), false),
        List.of("gzip"),
        ImageSources.OCI_MANIFEST);
    registry.auth = TestRegistry.Auth.BEARER;
    ImageException e = assertThrows(ImageException.class, () -> pull("private"));
    assertTrue(e.getMessage().contains("authentication required"), e.getMessage());
    e =
        assertThrows(
            ImageException.class,
            () ->
                puller.login(
                    registry.host(), new RegistryCredentials.Credentials("alice", "wrong")));
    assertTrue(e.getMessage().contains("incorrect username or password"), e.getMessage());
    assertEquals(
        registry.host(),
        puller.login(registry.host(), new RegistryCredentials.Credentials("alice", "s3cret")));
    Path auth = tmp.resolve("auth.json");
    assertEquals(
        "rw-------",
        java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(auth)));
    assertFalse(Files.readString(auth).contains("s3cret"), "stored base64-encoded, like docker");
    assertEquals("private:latest", pull("private").names().get(0));
    assertTrue(registry.authorizations.contains("Bearer tok-alice"));

    registry.auth = TestRegistry.Auth.BASIC;
    assertTrue(store.remove("private", false, id -> false).size() > 0);
    assertEquals("private:latest", pull("private").names().get(0));
    assertTrue(puller.logout(registry.host()));
    store.remove("private", false, id -> false);
    e = assertThrows(ImageException.class, () -> pull("private"));
    assertTrue(e.getMessage().contains("authentication required"), e.getMessage());
  }

  @Test
  void redirected_blobs_do_not_carry_credentials_to_another_host_and_loops_end() throws Exception {
    Spec spec = new Spec().layer(base(), false);
    registry.putImage("library/redir", "latest", spec, List.of("gzip"), ImageSources.OCI_MANIFEST);
    registry.auth = TestRegistry.Auth.BASIC;
    try (TestRegistry storage = new TestRegistry()) {
      storage.blobs.putAll(registry.blobs);
      registry.hook =
          (ex, path) -> {
            if (!path.contains("/blobs/")) return false;
            ex.getResponseHeaders()
                .add(
                    "Location",
                    "http://"
                        + storage.host()
                        + "/v2/storage/blobs/"
                        + path.substring(path.lastIndexOf('/') + 1));
            ex.sendResponseHeaders(307, -1);
            return true;
          };
      puller.login(registry.host(), new RegistryCredentials.Credentials("alice", "s3cret"));
      assertEquals(spec.configDigest(), pull("redir").id());
      assertTrue(storage.gets("/blobs/" + spec.configDigest()) >= 1);
      assertTrue(
          storage.authorizations.isEmpty(),
          "credentials leaked to the redirect target: " + storage.authorizations);
    }
    store.remove("redir", false, id -> false);
    registry.hook =
        (ex, path) -> {
          if (!path.contains("/blobs/")) return false;
          ex.getResponseHeaders().add("Location", path); // to itself, forever
          ex.sendResponseHeaders(302, -1);
          return true;
        };
    ImageException e = assertThrows(ImageException.class, () -> pull("redir"));
    assertTrue(e.getMessage().contains("too many redirects"), e.getMessage());
    assertUntouched();
  }

  // ------------------------------------------------------------------ sharing and GC

  @Test
  void two_concurrent_pulls_of_one_image_fetch_each_blob_once() throws Exception {
    Spec spec = threeLayers();
    registry.putImage(
        "library/shared",
        "latest",
        spec,
        List.of("gzip", "gzip", "gzip"),
        ImageSources.OCI_MANIFEST);
    CountDownLatch both = new CountDownLatch(2);
    registry.hook =
        (ex, path) -> {
          if (path.contains("/blobs/")) {
            try {
              Thread.sleep(300); // keep the first download in flight while the second pull arrives
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          return false;
        };
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<ImageRecord>> fs = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        fs.add(
            pool.submit(
                () -> {
                  both.countDown();
                  both.await();
                  return pull("shared");
                }));
      }
      assertEquals(
          fs.get(0).get(60, TimeUnit.SECONDS).id(), fs.get(1).get(60, TimeUnit.SECONDS).id());
    } finally {
      pool.shutdownNow();
    }
    for (String blob : registry.blobs.keySet()) {
      assertEquals(1, registry.gets("/blobs/" + blob), "blob " + blob + " fetched more than once");
    }
  }

  @Test
  void garbage_collection_during_aPull_leaves_its_content_alone() throws Exception {
    Spec spec = threeLayers();
    registry.putImage(
        "library/slow", "latest", spec, List.of("gzip", "gzip", "gzip"), ImageSources.OCI_MANIFEST);
    CountDownLatch lastBlobRequested = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    String lastLayer =
        new ArrayList<>(registry.blobs.keySet())
            .stream().filter(d -> !d.equals(spec.configDigest())).reduce((a, b) -> b).orElseThrow();
    registry.hook =
        (ex, path) -> {
          if (path.endsWith(lastLayer)) {
            lastBlobRequested.countDown();
            try {
              release.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          return false;
        };
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<ImageRecord> f = pool.submit(() -> pull("slow"));
      assertTrue(lastBlobRequested.await(20, TimeUnit.SECONDS));
      Thread.sleep(300); // the other layers are in the store now, referenced by no image yet
      assertTrue(count(root.resolve("blobs/sha256")) >= 2);
      store.gc();
      store.prune(true, id -> false);
      release.countDown();
      ImageRecord img = f.get(30, TimeUnit.SECONDS);
      for (Path d : store.layerDirs(img))
        assertTrue(Files.isDirectory(d), d + " collected mid-pull");
    } finally {
      release.countDown();
      pool.shutdownNow();
    }
    // prune -a with no container using it removes it and everything it had
    ImageStore.Pruned p = store.prune(true, id -> false);
    assertEquals(1, p.deleted().size());
    assertTrue(p.reclaimedBytes() > 0);
    assertUntouched();
  }

  @Test
  void mirrors_are_tried_in_order_and_the_registry_last() throws Exception {
    Spec spec = new Spec().layer(base(), false);
    try (TestRegistry empty = new TestRegistry();
        TestRegistry full = new TestRegistry()) {
      full.putImage("library/mirrored", "latest", spec, List.of("gzip"), ImageSources.OCI_MANIFEST);
      puller.close();
      puller =
          puller(
              Map.of(
                  registry.host(),
                  List.of(
                      URI.create("http://" + empty.host()), URI.create("http://" + full.host()))));
      assertEquals(spec.configDigest(), pull("mirrored").id());
      assertTrue(empty.gets("/manifests/latest") >= 1, "first mirror asked");
      assertEquals(
          0, registry.gets("/manifests/latest"), "the registry is not asked when a mirror has it");
    }
  }

  // ------------------------------------------------------------------ hostile registries

  @Test
  void layer_digest_or_size_mismatch_keeps_nothing() throws Exception {
    Spec spec = new Spec().layer(base(), false).layer(top(), false);
    registry.putImage(
        "library/bad", "latest", spec, List.of("gzip", "gzip"), ImageSources.OCI_MANIFEST);
    String layer =
        registry.blobs.keySet().stream()
            .filter(d -> !d.equals(spec.configDigest()))
            .findFirst()
            .orElseThrow();
    byte[] good = registry.blobs.get(layer);
    byte[] tampered = good.clone();
    tampered[tampered.length / 2] ^= 0x55;
    registry.blobs.put(layer, tampered);
    ImageException e = assertThrows(ImageException.class, () -> pull("bad"));
    assertTrue(e.getMessage().contains("digest mismatch"), e.getMessage());
    assertUntouched();

    byte[] longer = java.util.Arrays.copyOf(good, good.length + 10);
    registry.blobs.put(layer, longer);
    e = assertThrows(ImageException.class, () -> pull("bad"));
    assertTrue(
        e.getMessage().contains("more than the " + good.length + " bytes expected"),
        e.getMessage());
    assertUntouched();
  }

  @Test
  void wrong_media_types_and_huge_sizes_are_refused_before_downloading() throws Exception {
    registry.putManifest(
        "library/v1",
        "latest",
        "{\"schemaVersion\":1,\"name\":\"x\"}".getBytes(StandardCharsets.UTF_8),
        "application/vnd.docker.distribution.manifest.v1+prettyjws");
    assertTrue(
        assertThrows(ImageException.class, () -> pull("v1")).getMessage().contains("schema 1"));
    registry.putManifest(
        "library/html", "latest", "<html></html>".getBytes(StandardCharsets.UTF_8), "text/html");
    assertTrue(
        assertThrows(ImageException.class, () -> pull("html"))
            .getMessage()
            .contains("unsupported media type"));

    String cfg = registry.putBlob("{}".getBytes(StandardCharsets.UTF_8));
    String helm =
        "{\"schemaVersion\":2,\"mediaType\":\""
            + ImageSources.OCI_MANIFEST
            + "\",\"config\":{\"mediaType\":"
            + "\"application/vnd.cncf.helm.config.v1+json\",\"digest\":\""
            + cfg
            + "\",\"size\":2},\"layers\":[]}";
    registry.putManifest(
        "library/chart",
        "latest",
        helm.getBytes(StandardCharsets.UTF_8),
        ImageSources.OCI_MANIFEST);
    assertTrue(
        assertThrows(ImageException.class, () -> pull("chart"))
            .getMessage()
            .contains("is not a container image"));

    String layerType =
        "{\"schemaVersion\":2,\"mediaType\":\""
            + ImageSources.OCI_MANIFEST
            + "\",\"config\":{\"mediaType\":\""
            + ImageSources.OCI_CONFIG
            + "\",\"digest\":\""
            + cfg
            + "\",\"size\":2},\"layers\":[{\"mediaType\":\"application/x-evil\","
            + "\"digest\":\""
            + cfg
            + "\",\"size\":2}]}";
    registry.putManifest(
        "library/weird",
        "latest",
        layerType.getBytes(StandardCharsets.UTF_8),
        ImageSources.OCI_MANIFEST);
    assertTrue(
        assertThrows(ImageException.class, () -> pull("weird"))
            .getMessage()
            .contains("unsupported media type \"application/x-evil\""));

    String huge =
        "{\"schemaVersion\":2,\"mediaType\":\""
            + ImageSources.OCI_MANIFEST
            + "\",\"config\":{\"mediaType\":\""
            + ImageSources.OCI_CONFIG
            + "\",\"digest\":\""
            + cfg
            + "\",\"size\":2},\"layers\":[{\"mediaType\":\""
            + ImageSources.OCI_LAYER_GZIP
            + "\",\"digest\":\""
            + cfg
            + "\",\"size\":9223372036854775000}]}";
    registry.putManifest(
        "library/huge", "latest", huge.getBytes(StandardCharsets.UTF_8), ImageSources.OCI_MANIFEST);
    assertTrue(
        assertThrows(ImageException.class, () -> pull("huge"))
            .getMessage()
            .contains("exceeds the limit"));
    assertEquals(0, registry.gets("/blobs/" + cfg), "nothing fetched for refused manifests");

    registry.hook =
        (ex, path) -> {
          if (!path.contains("/manifests/")) return false;
          ex.getResponseHeaders().set("Content-Type", ImageSources.OCI_MANIFEST);
          ex.sendResponseHeaders(200, 0); // chunked, endless
          byte[] junk = new byte[1 << 16];
          java.util.Arrays.fill(junk, (byte) ' ');
          try {
            for (int i = 0; i < 200; i++) ex.getResponseBody().write(junk);
          } catch (IOException closedByClient) {
            // expected: the client stops reading at its limit
          }
          return true;
        };
    assertTrue(
        assertThrows(ImageException.class, () -> pull("endless"))
            .getMessage()
            .contains("more than the"));
    assertUntouched();
  }

  @Test
  void hanging_and_resetting_registries_fail_within_the_timeout() throws Exception {
    Spec spec = new Spec().layer(base(), false);
    registry.putImage("library/hang", "latest", spec, List.of("gzip"), ImageSources.OCI_MANIFEST);
    CountDownLatch never = new CountDownLatch(1);
    registry.hook =
        (ex, path) -> {
          if (!path.contains("/manifests/")) return false;
          try {
            never.await(30, TimeUnit.SECONDS); // never answers
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return true;
        };
    long t0 = System.nanoTime();
    ImageException e = assertThrows(ImageException.class, () -> pull("hang"));
    assertTrue(e.getMessage().contains("did not answer within 1 s"), e.getMessage());
    assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(15), "gave up in time");

    // a body that stops half-way
    String layer =
        registry.blobs.keySet().stream()
            .filter(d -> !d.equals(spec.configDigest()))
            .findFirst()
            .orElseThrow();
    registry.hook =
        (ex, path) -> {
          if (!path.endsWith(layer)) return false;
          byte[] b = registry.blobs.get(layer);
          ex.sendResponseHeaders(200, b.length);
          ex.getResponseBody().write(b, 0, b.length / 2);
          ex.getResponseBody().flush();
          try {
            never.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
          }
          return true;
        };
    e = assertThrows(ImageException.class, () -> pull("hang"));
    assertTrue(e.getMessage().contains("stopped sending"), e.getMessage());

    // connection reset: the server closes the socket without an answer
    registry.hook =
        (ex, path) -> {
          if (!path.endsWith(layer)) return false;
          ex.getHttpContext().getServer(); // no response at all
          throw new IOException("drop");
        };
    e = assertThrows(ImageException.class, () -> pull("hang"));
    assertTrue(
        e.getMessage().contains("connection to " + registry.host() + " failed"), e.getMessage());
    never.countDown();
    assertUntouched();
  }

  @Test
  void hostile_layer_tars_write_nothing_outside_the_store() throws Exception {
    String out = outside.toString();
    List<byte[]> evil =
        List.of(
            new Layer().file("../../../../../../.." + out + "/dotdot", "x").tar(),
            new Layer().symlink("link", out).file("link/through", "x").tar(),
            new Layer().symlink("link", out).hardlink("hard", "link/x").tar(),
            new Layer().file("a", "1").symlink("a", out + "/dup").file("a", "2").tar());
    int i = 0;
    for (byte[] tar : evil) {
      String repo = "library/evil" + i++;
      registry.putImage(
          repo, "latest", new Spec().layer(tar, false), List.of("gzip"), ImageSources.OCI_MANIFEST);
      try {
        pull(repo.substring("library/".length()));
      } catch (ImageException expected) {
        // refused: the message is checked below for the clear cases
      }
      assertEquals(0, count(outside), "layer " + (i - 1) + " wrote outside the store");
    }
    ImageException e = assertThrows(ImageException.class, () -> pull("evil0"));
    assertTrue(e.getMessage().contains("escapes the layer"), e.getMessage());
    e = assertThrows(ImageException.class, () -> pull("evil1"));
    assertTrue(e.getMessage().contains("goes through the symlink"), e.getMessage());
    e = assertThrows(ImageException.class, () -> pull("evil2"));
    assertTrue(e.getMessage().contains("not an earlier file"), e.getMessage());
    // duplicates: the last entry wins, as a regular file inside the layer
    ImageRecord dup = store.resolve("evil3").orElseThrow();
    Path a = store.layerDirs(dup).get(0).resolve("a");
    assertTrue(Files.isRegularFile(a, LinkOption.NOFOLLOW_LINKS));
    assertEquals("2", Files.readString(a));
    assertEquals(0, count(root.resolve("tmp")));
  }
}
