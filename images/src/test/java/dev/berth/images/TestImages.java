package dev.berth.images;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;

/** Builds layer tars, OCI layouts and docker archives for tests, with commons-compress. */
public final class TestImages {
  static final ObjectMapper JSON = new ObjectMapper();
  static final java.util.Date MTIME = new java.util.Date(1_700_000_000_000L);

  private TestImages() {}

  /** A layer tar under construction. */
  public static final class Layer {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes);

    public Layer() {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    }

    public Layer dir(String name, int mode) {
      TarArchiveEntry e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/");
      e.setMode(040000 | mode);
      return put(e, null);
    }

    public Layer file(String name, String content) {
      return file(name, content.getBytes(StandardCharsets.UTF_8), 0644, 0, 0);
    }

    public Layer file(String name, byte[] content, int mode, int uid, int gid) {
      TarArchiveEntry e = new TarArchiveEntry(name);
      e.setMode(0100000 | mode);
      e.setSize(content.length);
      e.setUserId(uid);
      e.setGroupId(gid);
      return put(e, content);
    }

    public Layer symlink(String name, String target) {
      TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
      e.setLinkName(target);
      return put(e, null);
    }

    public Layer hardlink(String name, String target) {
      TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_LINK);
      e.setLinkName(target);
      return put(e, null);
    }

    /** An entry whose name is kept verbatim (absolute paths included). */
    public Layer rawFile(String name, String content) {
      byte[] data = content.getBytes(StandardCharsets.UTF_8);
      TarArchiveEntry e = new TarArchiveEntry(name, true);
      e.setMode(0100644);
      e.setSize(data.length);
      return put(e, data);
    }

    private Layer put(TarArchiveEntry e, byte[] data) {
      e.setModTime(MTIME); // fixed, so the same content always gives the same diff id
      try {
        tar.putArchiveEntry(e);
        if (data != null) tar.write(data);
        tar.closeArchiveEntry();
      } catch (IOException ex) {
        throw new IllegalStateException(ex);
      }
      return this;
    }

    public byte[] tar() {
      try {
        tar.finish();
        tar.close();
      } catch (IOException ex) {
        throw new IllegalStateException(ex);
      }
      return bytes.toByteArray();
    }
  }

  public static byte[] gzip(byte[] data) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (OutputStream gz = new GzipCompressorOutputStream(out)) {
      gz.write(data);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }

  /** An image to write: uncompressed layer tars plus which of them to gzip, and config tweaks. */
  public static final class Spec {
    final List<byte[]> layers = new ArrayList<>();
    final List<Boolean> gzipped = new ArrayList<>();
    List<String> diffIdsOverride;
    Consumer<ObjectNode> config = c -> {};

    public Spec layer(byte[] tar, boolean gzip) {
      layers.add(tar);
      gzipped.add(gzip);
      return this;
    }

    public Spec config(Consumer<ObjectNode> c) {
      this.config = c;
      return this;
    }

    public Spec diffIds(List<String> ids) {
      this.diffIdsOverride = ids;
      return this;
    }

    byte[] blob(int i) {
      return gzipped.get(i) ? gzip(layers.get(i)) : layers.get(i);
    }

    List<String> diffIds() {
      if (diffIdsOverride != null) return diffIdsOverride;
      List<String> ids = new ArrayList<>();
      for (byte[] l : layers) ids.add(Digests.of(l));
      return ids;
    }

    byte[] configBytes() {
      ObjectNode c = JSON.createObjectNode();
      c.put("architecture", ImageSources.hostArch());
      c.put("os", "linux");
      c.put("created", "2024-01-02T03:04:05Z");
      ObjectNode cfg = c.putObject("config");
      cfg.putArray("Env")
          .add("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
          .add("FOO=bar");
      cfg.putArray("Cmd").add("sh");
      cfg.put("WorkingDir", "/");
      ObjectNode rootfs = c.putObject("rootfs");
      rootfs.put("type", "layers");
      ArrayNode ids = rootfs.putArray("diff_ids");
      diffIds().forEach(ids::add);
      config.accept(c);
      try {
        return JSON.writeValueAsBytes(c);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }

    public String configDigest() {
      return Digests.of(configBytes());
    }
  }

  /**
   * Writes an OCI image layout; refName null means no ref annotation. Returns the config digest
   * (image id).
   */
  public static String ociLayout(Path dir, Spec spec, String refName) throws IOException {
    Path blobs = dir.resolve("blobs").resolve("sha256");
    Files.createDirectories(blobs);
    Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    byte[] config = spec.configBytes();
    String configDigest = putBlob(blobs, config);
    ObjectNode m = JSON.createObjectNode();
    m.put("schemaVersion", 2);
    m.put("mediaType", ImageSources.OCI_MANIFEST);
    ObjectNode c = m.putObject("config");
    c.put("mediaType", ImageSources.OCI_CONFIG);
    c.put("digest", configDigest);
    c.put("size", config.length);
    ArrayNode ls = m.putArray("layers");
    for (int i = 0; i < spec.layers.size(); i++) {
      byte[] b = spec.blob(i);
      ObjectNode l = ls.addObject();
      l.put(
          "mediaType", spec.gzipped.get(i) ? ImageSources.OCI_LAYER_GZIP : ImageSources.OCI_LAYER);
      l.put("digest", putBlob(blobs, b));
      l.put("size", b.length);
    }
    byte[] manifest = JSON.writeValueAsBytes(m);
    String manifestDigest = putBlob(blobs, manifest);
    ObjectNode index = JSON.createObjectNode();
    index.put("schemaVersion", 2);
    ObjectNode d = index.putArray("manifests").addObject();
    d.put("mediaType", ImageSources.OCI_MANIFEST);
    d.put("digest", manifestDigest);
    d.put("size", manifest.length);
    if (refName != null)
      d.putObject("annotations").put("org.opencontainers.image.ref.name", refName);
    Files.write(dir.resolve("index.json"), JSON.writeValueAsBytes(index));
    return configDigest;
  }

  private static String putBlob(Path blobs, byte[] data) throws IOException {
    String d = Digests.of(data);
    Files.write(blobs.resolve(Digests.hex(d)), data);
    return d;
  }

  /**
   * Writes a docker-archive (docker save format). With {@code skopeoStyle}, {@code <n>/layer.tar}
   * is a symlink to {@code ../<hex>.tar} like skopeo writes it. Returns the config digest (image
   * id).
   */
  public static String dockerArchive(
      Path file, Spec spec, List<String> repoTags, boolean gzipOuter, boolean skopeoStyle)
      throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    byte[] config = spec.configBytes();
    String configDigest = Digests.of(config);
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      List<String> layerNames = new ArrayList<>();
      for (int i = 0; i < spec.layers.size(); i++) {
        byte[] b = spec.blob(i);
        String hex = Digests.hex(Digests.of(b));
        if (skopeoStyle) {
          add(tar, hex + ".tar", b);
          TarArchiveEntry link =
              new TarArchiveEntry("layer" + i + "/layer.tar", TarConstants.LF_SYMLINK);
          link.setLinkName("../" + hex + ".tar");
          tar.putArchiveEntry(link);
          tar.closeArchiveEntry();
        } else {
          add(tar, "layer" + i + "/layer.tar" + (spec.gzipped.get(i) ? ".gz" : ""), b);
        }
        layerNames.add(
            "layer" + i + "/layer.tar" + (!skopeoStyle && spec.gzipped.get(i) ? ".gz" : ""));
      }
      add(tar, Digests.hex(configDigest) + ".json", config);
      ArrayNode manifest = JSON.createArrayNode();
      ObjectNode e = manifest.addObject();
      e.put("Config", Digests.hex(configDigest) + ".json");
      ArrayNode tags = e.putArray("RepoTags");
      repoTags.forEach(tags::add);
      ArrayNode ls = e.putArray("Layers");
      layerNames.forEach(ls::add);
      add(tar, "manifest.json", JSON.writeValueAsBytes(manifest));
    }
    byte[] out = gzipOuter ? gzip(bytes.toByteArray()) : bytes.toByteArray();
    Files.write(file, out);
    return configDigest;
  }

  private static void add(TarArchiveOutputStream tar, String name, byte[] data) throws IOException {
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setSize(data.length);
    e.setMode(0100644);
    tar.putArchiveEntry(e);
    tar.write(data);
    tar.closeArchiveEntry();
  }

  /** A minimal busybox root filesystem layer from the host's static busybox. */
  public static byte[] busyboxLayer() throws IOException {
    byte[] busybox = Files.readAllBytes(Path.of("/bin/busybox"));
    Layer l = new Layer();
    for (String d : List.of("bin", "dev", "etc", "proc", "sys", "tmp", "root"))
      l.dir(d, d.equals("tmp") ? 01777 : 0755);
    l.file("bin/busybox", busybox, 0755, 0, 0);
    for (String applet : List.of("sh", "echo", "id", "cat", "ls", "test"))
      l.symlink("bin/" + applet, "busybox");
    l.file(
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n");
    l.file("etc/group", "root:x:0:\nnogroup:x:65534:\n");
    return l.tar();
  }
}
