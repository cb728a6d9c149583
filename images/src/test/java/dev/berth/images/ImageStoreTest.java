package dev.berth.images;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.images.TestImages.Layer;
import dev.berth.images.TestImages.Spec;
import dev.berth.images.rootfs.Whiteouts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageStoreTest {
  @TempDir Path tmp;
  Path root;
  ImageStore store;

  @BeforeEach
  void open() throws IOException {
    assumeTrue(
        "root".equals(System.getProperty("user.name")),
        "the layer store needs root (chown, mknod, trusted xattrs)");
    root = tmp.resolve("store");
    store = new ImageStore(root);
  }

  static byte[] baseLayer() {
    return new Layer()
        .dir("etc", 0755)
        .file("etc/hostname", "base\n")
        .file("etc/gone", "old\n")
        .dir("opq", 0755)
        .file("opq/old", "lower\n")
        .dir("bin", 0755)
        .file("bin/tool", "#!/bin/sh\n".getBytes(StandardCharsets.UTF_8), 04755, 0, 0)
        .file("owned", "x".getBytes(StandardCharsets.UTF_8), 0600, 1234, 5678)
        .symlink("etc/link", "/etc/hostname")
        .hardlink("etc/hostname2", "etc/hostname")
        .dir("tmp", 01777)
        .tar();
  }

  static byte[] topLayer() {
    return new Layer()
        .dir("etc", 0755)
        .file("etc/.wh.gone", "")
        .dir("opq", 0755)
        .file("opq/.wh..wh..opq", "")
        .file("opq/new", "upper\n")
        .file("etc/hostname", "top\n")
        .tar();
  }

  private long count(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.count();
    }
  }

  private void assertStoreEmpty() throws IOException {
    assertEquals(0, count(root.resolve("blobs/sha256")), "no blobs");
    assertEquals(0, count(root.resolve("layers")), "no layers");
    assertEquals(0, count(root.resolve("tmp")), "no staging leftovers");
    assertTrue(store.list().isEmpty());
  }

  // ------------------------------------------------------------------------------------------
  // import

  @Test
  void saved_images_import_again_as_oci_layout_and_as_docker_archive() throws Exception {
    Path archive = tmp.resolve("app.tar");
    String id =
        TestImages.dockerArchive(
            archive,
            new Spec().layer(baseLayer(), false).layer(topLayer(), true),
            List.of("team/app:1", "team/app:latest"),
            false,
            false);
    store.importImage(archive, null);
    Path saved = tmp.resolve("saved.tar");
    assertEquals(id, store.save("team/app:1", saved).id());
    assertFalse(Files.exists(tmp.resolve(".saved.tar.berth-save")), "temp file renamed");

    // into an empty store: same image, same names, same layers
    ImageStore other = new ImageStore(tmp.resolve("other"));
    List<ImageRecord> back = other.importImage(saved, null);
    assertEquals(1, back.size());
    assertEquals(id, back.get(0).id());
    // only the name asked for travels, as with docker save (not the image's other names)
    assertEquals(List.of("team/app:1"), back.get(0).names());
    assertTrue(Whiteouts.isWhiteout(other.layerDirs(back.get(0)).get(1).resolve("etc/gone")));
    // saved by id: no name at all
    Path byId = tmp.resolve("by-id.tar");
    store.save(id, byId);
    ImageStore fourth = new ImageStore(tmp.resolve("fourth"));
    List<ImageRecord> unnamed = fourth.importImage(byId, null);
    assertEquals(id, unnamed.get(0).id());
    assertEquals(List.of(), unnamed.get(0).names());

    // the same tar read as a docker-archive (manifest.json with RepoTags) gives the same image
    Path dockerOnly = tmp.resolve("docker-only");
    Files.createDirectories(dockerOnly);
    try (var in = Files.newInputStream(saved);
        var tar = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(in)) {
      org.apache.commons.compress.archivers.tar.TarArchiveEntry e;
      while ((e = tar.getNextEntry()) != null) {
        if (e.getName().equals("oci-layout") || e.getName().equals("index.json")) continue;
        Path f = dockerOnly.resolve(e.getName());
        Files.createDirectories(f.getParent());
        Files.copy(tar, f);
      }
    }
    ImageStore third = new ImageStore(tmp.resolve("third"));
    assertEquals(id, third.importImage(dockerOnly, null).get(0).id());

    ImageException e =
        assertThrows(ImageException.class, () -> store.save("nothing", tmp.resolve("x.tar")));
    assertTrue(e.getMessage().contains("no such image"));
    assertThrows(
        ImageException.class, () -> store.save("team/app:1", tmp.resolve("no/such/dir/x.tar")));
  }

  @Test
  void imports_oci_layout_and_resolves_references() throws Exception {
    Path layout = tmp.resolve("busybox");
    String id = TestImages.ociLayout(layout, new Spec().layer(baseLayer(), true), "latest");
    List<ImageRecord> got = store.importImage(layout, null);
    assertEquals(1, got.size());
    ImageRecord r = got.get(0);
    assertEquals(id, r.id());
    assertEquals(List.of("busybox:latest"), r.names());
    assertEquals(Instant.parse("2024-01-02T03:04:05Z"), r.createdAt());
    assertEquals(baseLayer().length, r.size());
    assertTrue(
        Files.isRegularFile(root.resolve("blobs/sha256").resolve(Digests.hex(r.manifestDigest()))));
    assertEquals(List.of(r), store.list());

    for (String ref :
        List.of(
            "busybox",
            "busybox:latest",
            "docker.io/library/busybox:latest",
            "library/busybox",
            id,
            Digests.hex(id),
            id.substring(0, 7 + 4),
            Digests.hex(id).substring(0, 4),
            Digests.hex(id).substring(0, 12))) {
      assertEquals(Optional.of(r), store.resolve(ref), ref);
    }
    for (String ref :
        List.of(
            "busybox:1.36", "other", "abc", "sha256:" + "0".repeat(64), "", "UPPER", "sha256:zz")) {
      assertEquals(Optional.empty(), store.resolve(ref), ref);
    }

    ImageConfig c = store.config(r);
    assertEquals(List.of("sh"), c.cmd());
    assertEquals(List.of(), c.entrypoint());
    assertTrue(c.env().contains("FOO=bar"));
    assertEquals("/", c.workingDir());

    List<Path> dirs = store.layerDirs(r);
    assertEquals(1, dirs.size());
    Path l = dirs.get(0);
    assertEquals(root.resolve("layers").resolve(Digests.hex(r.diffIds().get(0))), l);
    assertEquals("base\n", Files.readString(l.resolve("etc/hostname")));
    assertEquals(Path.of("/etc/hostname"), Files.readSymbolicLink(l.resolve("etc/link")));
    assertEquals(
        Files.getAttribute(l.resolve("etc/hostname"), "unix:ino"),
        Files.getAttribute(l.resolve("etc/hostname2"), "unix:ino"));
    assertEquals(
        04755,
        (int) Files.getAttribute(l.resolve("bin/tool"), "unix:mode") & 07777,
        "setuid bit kept");
    assertEquals(
        01777, (int) Files.getAttribute(l.resolve("tmp"), "unix:mode") & 07777, "sticky bit kept");
    assertEquals(1234, Files.getAttribute(l.resolve("owned"), "unix:uid"));
    assertEquals(5678, Files.getAttribute(l.resolve("owned"), "unix:gid"));
    assertEquals(0600, (int) Files.getAttribute(l.resolve("owned"), "unix:mode") & 07777);
  }

  @Test
  void imports_multi_layer_docker_archive_with_whiteouts() throws Exception {
    for (boolean skopeo : List.of(false, true)) {
      Path archive = tmp.resolve("img-" + skopeo + ".tar.gz");
      Spec spec = new Spec().layer(baseLayer(), false).layer(topLayer(), true);
      String id =
          TestImages.dockerArchive(
              archive, spec, List.of("team/app:1.0", "docker.io/library/app:2"), true, skopeo);
      List<ImageRecord> got = store.importImage(archive, null);
      assertEquals(1, got.size());
      ImageRecord r = got.get(0);
      assertEquals(id, r.id());
      assertEquals(List.of("team/app:1.0", "app:2"), r.names());
      assertEquals(2, r.diffIds().size());
      List<Path> dirs = store.layerDirs(r);
      Path top = dirs.get(1);
      assertTrue(Whiteouts.isWhiteout(top.resolve("etc/gone")), "whiteout is a 0/0 char device");
      assertTrue(Whiteouts.isOpaque(top.resolve("opq")), "opaque xattr set");
      assertFalse(Whiteouts.isOpaque(dirs.get(0).resolve("opq")));
      assertEquals("upper\n", Files.readString(top.resolve("opq/new")));
      assertFalse(Files.exists(top.resolve("opq/.wh..wh..opq"), LinkOption.NOFOLLOW_LINKS));
    }
    assertEquals(1, store.list().size(), "the same image twice is one image");
  }

  @Test
  void overlay_of_imported_layers_applies_whiteouts() throws Exception {
    Path archive = tmp.resolve("img.tar");
    TestImages.dockerArchive(
        archive,
        new Spec().layer(baseLayer(), true).layer(topLayer(), false),
        List.of("wo:1"),
        false,
        false);
    ImageRecord r = store.importImage(archive, null).get(0);
    var mount =
        dev.berth.images.rootfs.Rootfs.overlay(
            store.layerDirs(r), tmp.resolve("c/upper"), tmp.resolve("c/work"));
    Path merged = Files.createDirectories(tmp.resolve("c/merged"));
    Process p =
        new ProcessBuilder(
                "mount",
                "-t",
                mount.type(),
                mount.source(),
                "-o",
                String.join(",", mount.options()),
                merged.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assumeTrue(p.waitFor() == 0, "overlay mount not possible here: " + out);
    try {
      assertEquals("top\n", Files.readString(merged.resolve("etc/hostname")));
      assertFalse(
          Files.exists(merged.resolve("etc/gone"), LinkOption.NOFOLLOW_LINKS), "whited out");
      try (Stream<Path> s = Files.list(merged.resolve("opq"))) {
        assertEquals(
            List.of("new"),
            s.map(x -> x.getFileName().toString()).toList(),
            "opaque dir hides the lower content");
      }
      assertTrue(Files.exists(merged.resolve("bin/tool")));
    } finally {
      new ProcessBuilder("umount", merged.toString()).inheritIO().start().waitFor();
    }
  }

  @Test
  void names_from_name_argument_and_directory() throws Exception {
    Path layout = tmp.resolve("My_App");
    String id = TestImages.ociLayout(layout, new Spec().layer(baseLayer(), false), "1.0");
    assertEquals(List.of("my_app:1.0"), store.importImage(layout, null).get(0).names());
    assertEquals(
        List.of("my_app:1.0", "repo:1.0"), store.importImage(layout, "repo").get(0).names());
    assertEquals(
        List.of("my_app:1.0", "repo:1.0", "localhost:5000/x/y:v2"),
        store.importImage(layout, "localhost:5000/x/y:v2").get(0).names());
    assertEquals(1, store.list().size());
    assertEquals(id, store.resolve("localhost:5000/x/y:v2").orElseThrow().id());
    ImageException e =
        assertThrows(ImageException.class, () -> store.importImage(layout, "Bad Name"));
    assertEquals("invalid reference format: Bad Name", e.getMessage());

    // an untagged OCI layout imported without a name is dangling, reachable by id
    Path bare = tmp.resolve("bare");
    String bareId = TestImages.ociLayout(bare, new Spec().layer(topLayer(), false), null);
    assertEquals(List.of(), store.importImage(bare, null).get(0).names());
    assertEquals(bareId, store.resolve(bareId.substring(7, 19)).orElseThrow().id());
  }

  @Test
  void a_name_moves_to_the_newest_image() throws Exception {
    Path a = tmp.resolve("a.tar");
    Path b = tmp.resolve("b.tar");
    TestImages.dockerArchive(
        a, new Spec().layer(baseLayer(), false), List.of("app:latest"), false, false);
    TestImages.dockerArchive(
        b, new Spec().layer(topLayer(), false), List.of("app:latest"), false, false);
    ImageRecord ra = store.importImage(a, null).get(0);
    ImageRecord rb = store.importImage(b, null).get(0);
    assertEquals(rb.id(), store.resolve("app").orElseThrow().id());
    assertEquals(List.of(), store.resolve(ra.id()).orElseThrow().names());
  }

  @Test
  void reuses_layers_by_diff_id() throws Exception {
    byte[] empty = new Layer().tar();
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b.tar");
    TestImages.ociLayout(
        a, new Spec().layer(baseLayer(), true).layer(empty, false).layer(empty, false), "1");
    TestImages.dockerArchive(
        b,
        new Spec().layer(baseLayer(), false).layer(topLayer(), true),
        List.of("b:1"),
        false,
        false);
    ImageRecord ra = store.importImage(a, "a").get(0);
    Path base = store.layerDirs(ra).get(0);
    Object inode = Files.getAttribute(base, "unix:ino");
    assertEquals(2, count(root.resolve("layers")), "two identical empty layers are unpacked once");
    ImageRecord rb = store.importImage(b, null).get(0);
    assertEquals(base, store.layerDirs(rb).get(0));
    assertEquals(
        inode, Files.getAttribute(base, "unix:ino"), "the shared layer was not unpacked again");
    assertEquals(3, count(root.resolve("layers")));
  }

  @Test
  void ambiguous_id_prefix_resolves_to_nothing() throws Exception {
    byte[] layer = baseLayer();
    Spec first = new Spec().layer(layer, false);
    String prefix = Digests.hex(first.configDigest()).substring(0, 4);
    Spec second = null;
    for (int i = 0; second == null; i++) {
      int n = i;
      Spec s =
          new Spec()
              .layer(layer, false)
              .config(c -> c.with("config").with("Labels").put("n", Integer.toString(n)));
      if (Digests.hex(s.configDigest()).startsWith(prefix)
          && !s.configDigest().equals(first.configDigest())) second = s;
    }
    TestImages.ociLayout(tmp.resolve("one"), first, "1");
    TestImages.ociLayout(tmp.resolve("two"), second, "2");
    ImageRecord one = store.importImage(tmp.resolve("one"), null).get(0);
    ImageRecord two = store.importImage(tmp.resolve("two"), null).get(0);
    assertEquals(Optional.empty(), store.resolve(prefix));
    assertEquals(Optional.empty(), store.resolve("sha256:" + prefix));
    assertEquals(Optional.of(one), store.resolve(one.id()));
    assertEquals(Optional.of(two), store.resolve(two.id().substring(0, 30)));
    assertEquals(Optional.of(two), store.resolve("two:2"));
    assertEquals(1, store.config(two).labels().size());
  }

  // ------------------------------------------------------------------------------------------
  // remove

  @Test
  void remove_untags_then_deletes_and_respects_use() throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    String idA =
        TestImages.ociLayout(a, new Spec().layer(baseLayer(), true).layer(topLayer(), false), "1");
    String idB = TestImages.ociLayout(b, new Spec().layer(baseLayer(), true), "1");
    store.importImage(a, "app:1");
    store.importImage(a, "app:2");
    ImageRecord rb = store.importImage(b, "other").get(0);
    ImageRecord ra = store.resolve("app:1").orElseThrow();
    assertEquals(List.of("app:1", "app:2"), ra.names());

    // by name with several names: only the name goes, even while in use
    assertEquals(List.of("app:1"), store.remove("app:1", false, id -> true));
    assertEquals(List.of("app:2"), store.resolve(idA).orElseThrow().names());
    assertThrows(ImageException.class, () -> store.remove("app:1", false, id -> false));

    // in use: refused; forced: untagged but kept (its layers are mounted)
    ImageException inUse =
        assertThrows(ImageException.class, () -> store.remove("app:2", false, idA::equals));
    assertTrue(inUse.getMessage().contains("used by a container"), inUse.getMessage());
    assertEquals(List.of("app:2"), store.remove("app:2", true, idA::equals));
    ImageRecord dangling = store.resolve(idA).orElseThrow();
    assertEquals(List.of(), dangling.names());
    store.layerDirs(dangling).forEach(d -> assertTrue(Files.isDirectory(d)));

    // no longer in use: deleted; the layer shared with b stays, the other goes
    List<Path> dirsA = store.layerDirs(dangling);
    assertEquals(List.of(idA), store.remove(idA.substring(7, 15), false, id -> false));
    assertEquals(Optional.empty(), store.resolve(idA));
    assertTrue(Files.isDirectory(dirsA.get(0)), "shared layer kept");
    assertFalse(Files.exists(dirsA.get(1)), "unshared layer deleted");
    assertFalse(Files.exists(root.resolve("blobs/sha256").resolve(Digests.hex(idA))));
    assertFalse(
        Files.exists(root.resolve("blobs/sha256").resolve(Digests.hex(ra.manifestDigest()))));
    assertTrue(Files.exists(root.resolve("blobs/sha256").resolve(Digests.hex(idB))));

    // state survives a restart
    ImageStore reopened = new ImageStore(root);
    assertEquals(store.list(), reopened.list());
    assertEquals(Optional.of(rb), reopened.resolve("other:1"));
    assertEquals(Optional.empty(), reopened.resolve("other"));

    assertEquals(List.of("other:1", idB), reopened.remove("other:1", false, id -> false));
    ImageException missing =
        assertThrows(ImageException.class, () -> reopened.remove("other:1", false, id -> false));
    assertEquals("no such image: other:1", missing.getMessage());
    store = reopened;
    assertStoreEmpty();
  }

  @Test
  void remove_by_id_of_an_image_with_several_names_needs_force() throws Exception {
    Path a = tmp.resolve("a");
    String id = TestImages.ociLayout(a, new Spec().layer(baseLayer(), false), "1");
    store.importImage(a, "x");
    store.importImage(a, "y");
    ImageException e =
        assertThrows(ImageException.class, () -> store.remove(id, false, i -> false));
    assertTrue(e.getMessage().contains("must be forced"), e.getMessage());
    assertEquals(List.of("x:1", "y:1", id), store.remove(id, true, i -> false));
    assertStoreEmpty();
  }

  @Test
  void orphans_are_collected_on_open() throws Exception {
    Path a = tmp.resolve("a");
    TestImages.ociLayout(a, new Spec().layer(baseLayer(), false), "1");
    store.importImage(a, "keep");
    Files.createDirectories(root.resolve("layers").resolve("f".repeat(64)).resolve("x"));
    Files.writeString(root.resolve("blobs/sha256").resolve("e".repeat(64)), "orphan");
    Files.createDirectories(root.resolve("tmp/import-123/layers"));
    ImageStore reopened = new ImageStore(root);
    assertEquals(1, reopened.list().size());
    assertEquals(1, count(root.resolve("layers")));
    assertEquals(3, count(root.resolve("blobs/sha256")));
    assertEquals(0, count(root.resolve("tmp")));
  }

  // ------------------------------------------------------------------------------- malformed input

  @Test
  void malformed_input_leaves_nothing_behind() throws Exception {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    ImageException e = assertThrows(ImageException.class, () -> store.importImage(empty, null));
    assertEquals("not an OCI layout or docker archive: " + empty, e.getMessage());
    Path junk = tmp.resolve("junk.tar");
    Files.writeString(junk, "hello, this is not a tar file at all".repeat(20));
    e = assertThrows(ImageException.class, () -> store.importImage(junk, null));
    assertTrue(
        e.getMessage().startsWith("not an OCI layout or docker archive: " + junk), e.getMessage());
    e = assertThrows(ImageException.class, () -> store.importImage(tmp.resolve("nope"), null));
    assertEquals("no such file or directory: " + tmp.resolve("nope"), e.getMessage());
    assertStoreEmpty();

    // a corrupt layer blob: digest mismatch
    Path bad = tmp.resolve("bad");
    Spec spec = new Spec().layer(baseLayer(), false).layer(topLayer(), true);
    TestImages.ociLayout(bad, spec, "1");
    Path blob = bad.resolve("blobs/sha256").resolve(Digests.hex(Digests.of(spec.blob(1))));
    byte[] corrupt = Files.readAllBytes(blob);
    corrupt[corrupt.length / 2] ^= 0x55;
    Files.write(blob, corrupt);
    e = assertThrows(ImageException.class, () -> store.importImage(bad, null));
    assertTrue(e.getMessage().contains("digest mismatch"), e.getMessage());
    assertStoreEmpty();

    // a missing blob
    Files.delete(blob);
    e = assertThrows(ImageException.class, () -> store.importImage(bad, null));
    assertTrue(e.getMessage().contains("missing blob"), e.getMessage());
    assertStoreEmpty();

    // wrong diff ids in the config (the second layer; the first one unpacks fine and must be
    // undone)
    Path wrongDiff = tmp.resolve("wrongdiff");
    TestImages.ociLayout(
        wrongDiff,
        new Spec()
            .layer(baseLayer(), false)
            .layer(topLayer(), true)
            .diffIds(List.of(Digests.of(baseLayer()), Digests.of(new byte[] {1}))),
        "1");
    e = assertThrows(ImageException.class, () -> store.importImage(wrongDiff, null));
    assertTrue(e.getMessage().contains("diff id mismatch"), e.getMessage());
    assertStoreEmpty();

    // bad JSON
    Path badJson = tmp.resolve("badjson");
    TestImages.ociLayout(badJson, new Spec().layer(baseLayer(), false), "1");
    Files.writeString(badJson.resolve("index.json"), "{\"manifests\": [");
    e = assertThrows(ImageException.class, () -> store.importImage(badJson, null));
    assertTrue(e.getMessage().contains("invalid JSON"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
    assertStoreEmpty();

    // a docker archive whose manifest names a missing layer
    Path archive = tmp.resolve("arch.tar");
    TestImages.dockerArchive(
        archive, new Spec().layer(baseLayer(), false), List.of("x:1"), false, false);
    Path unpacked = Files.createDirectories(tmp.resolve("unpacked"));
    new ProcessBuilder("tar", "-xf", archive.toString(), "-C", unpacked.toString())
        .inheritIO()
        .start()
        .waitFor();
    Files.delete(unpacked.resolve("layer0/layer.tar"));
    e = assertThrows(ImageException.class, () -> store.importImage(unpacked, null));
    assertTrue(e.getMessage().contains("missing \"layer0/layer.tar\""), e.getMessage());
    assertStoreEmpty();

    // a failed import does not disturb what is already there
    Path good = tmp.resolve("good");
    TestImages.ociLayout(good, new Spec().layer(baseLayer(), false), "1");
    store.importImage(good, "good");
    long blobs = count(root.resolve("blobs/sha256"));
    assertThrows(ImageException.class, () -> store.importImage(wrongDiff, null));
    assertEquals(blobs, count(root.resolve("blobs/sha256")));
    assertEquals(1, count(root.resolve("layers")));
    assertEquals(0, count(root.resolve("tmp")));
    assertEquals(1, store.list().size());
  }

  // --------------------------------------------------------------------------------- hostile tars

  @Test
  void hostile_layers_are_refused_and_write_nothing_outside() throws Exception {
    Path canary = Files.createDirectories(tmp.resolve("canary"));
    Files.writeString(canary.resolve("keep"), "original");
    long passwdLinks =
        ((Number) Files.getAttribute(Path.of("/etc/passwd"), "unix:nlink")).longValue();
    // each hostile layer with the reason it must be refused for
    List<Map.Entry<byte[], String>> hostile =
        List.of(
            Map.entry(
                new Layer().rawFile(canary.resolve("abs").toString(), "pwned").tar(),
                "unsafe absolute path"),
            Map.entry(new Layer().file("../../canary/dotdot", "pwned").tar(), "escapes the layer"),
            Map.entry(
                new Layer().dir("a", 0755).file("a/../../canary/dotdot2", "pwned").tar(),
                "escapes the layer"),
            Map.entry(
                new Layer().symlink("evil", canary.toString()).file("evil/through", "pwned").tar(),
                "goes through the symlink \"evil\""),
            Map.entry(
                new Layer().symlink("etc", "/etc").file("etc/berth-pwned", "pwned").tar(),
                "goes through the symlink \"etc\""),
            Map.entry(
                new Layer()
                    .symlink("rel", "../../../../../../../..")
                    .file("rel/tmp/berth-pwned", "pwned")
                    .tar(),
                "goes through the symlink"),
            Map.entry(
                new Layer().hardlink("passwd", "/etc/passwd").tar(),
                "unsafe absolute path \"/etc/passwd\""),
            Map.entry(new Layer().hardlink("keep", "../../canary/keep").tar(), "escapes the layer"),
            Map.entry(
                new Layer().symlink("d", canary.toString()).hardlink("x", "d/keep").tar(),
                "not an earlier file in the layer"),
            Map.entry(
                new Layer().symlink("d", canary.toString()).dir("d/sub", 0755).tar(),
                "goes through the symlink"),
            Map.entry(
                new Layer().symlink("w", canary.toString()).file("w/.wh.keep", "").tar(),
                "goes through the symlink"));
    int i = 0;
    for (Map.Entry<byte[], String> h : hostile) {
      Path layout = tmp.resolve("hostile" + i);
      TestImages.ociLayout(layout, new Spec().layer(h.getKey(), i % 2 == 0), "1");
      int n = i++;
      ImageException e =
          assertThrows(
              ImageException.class, () -> store.importImage(layout, null), "hostile layer " + n);
      assertTrue(
          e.getMessage().contains(h.getValue()), "hostile layer " + n + ": " + e.getMessage());
      assertFalse(e.getMessage().contains("\n"));
      assertStoreEmpty();
      try (Stream<Path> s = Files.list(canary)) {
        assertEquals(
            List.of(canary.resolve("keep")),
            s.toList(),
            "hostile layer " + n + " wrote into the canary dir");
      }
      assertEquals("original", Files.readString(canary.resolve("keep")));
      assertEquals(
          1, ((Number) Files.getAttribute(canary.resolve("keep"), "unix:nlink")).longValue());
    }
    assertFalse(Files.exists(Path.of("/etc/berth-pwned")));
    assertFalse(Files.exists(Path.of("/tmp/berth-pwned")));
    assertEquals(
        passwdLinks,
        ((Number) Files.getAttribute(Path.of("/etc/passwd"), "unix:nlink")).longValue());
  }

  @Test
  void duplicate_entries_last_one_wins_without_following_links() throws Exception {
    Path canary = Files.createDirectories(tmp.resolve("canary"));
    Files.writeString(canary.resolve("keep"), "original");
    byte[] layer =
        new Layer()
            .file("dup", "one")
            .file("dup", "two")
            .file("x", "file")
            .dir("x", 0700)
            .symlink("s", canary.resolve("keep").toString())
            .file("s", "replaced")
            .dir("d", 0755)
            .file("d/child", "c")
            .symlink("d", "/")
            .file("a/../b", "normalised")
            .tar();
    Path layout = tmp.resolve("dups");
    TestImages.ociLayout(layout, new Spec().layer(layer, false), "1");
    ImageRecord r = store.importImage(layout, null).get(0);
    Path l = store.layerDirs(r).get(0);
    assertEquals("two", Files.readString(l.resolve("dup")));
    assertTrue(Files.isDirectory(l.resolve("x"), LinkOption.NOFOLLOW_LINKS));
    assertEquals(0700, (int) Files.getAttribute(l.resolve("x"), "unix:mode") & 0777);
    assertTrue(Files.isRegularFile(l.resolve("s"), LinkOption.NOFOLLOW_LINKS));
    assertEquals("replaced", Files.readString(l.resolve("s")));
    assertEquals("original", Files.readString(canary.resolve("keep")));
    assertTrue(Files.isSymbolicLink(l.resolve("d")));
    assertEquals("normalised", Files.readString(l.resolve("b")));
  }

  // ------------------------------------------------------------------------------ the real busybox

  @Test
  void imports_the_project_busybox_image_in_both_formats() throws Exception {
    Path images = Path.of(System.getProperty("user.dir")).resolve("../build/images").normalize();
    Path layout = images.resolve("busybox");
    Path archive = images.resolve("busybox-docker.tar");
    assumeTrue(
        Files.isRegularFile(layout.resolve("index.json")) && Files.isRegularFile(archive),
        "ops/setup.sh has not built build/images/busybox");
    ImageRecord fromLayout = store.importImage(layout, null).get(0);
    assertEquals(List.of("busybox:latest"), fromLayout.names());
    ImageRecord fromArchive = store.importImage(archive, null).get(0);
    assertEquals(fromLayout.id(), fromArchive.id());
    assertEquals(1, store.list().size());
    Path l = store.layerDirs(fromArchive).get(0);
    assertArrayEquals(
        Files.readAllBytes(Path.of("/bin/busybox")), Files.readAllBytes(l.resolve("bin/busybox")));
    assertEquals(List.of("sh"), store.config(fromArchive).cmd());
    assertNotEquals(0, fromArchive.size());
  }
}
