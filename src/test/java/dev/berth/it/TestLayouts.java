package dev.berth.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;

/**
 * Builds OCI image layouts to push to a registry: the busybox test image plus two layers, the
 * second of which deletes a file of the first (whiteout) and replaces a directory (opaque dir):
 *
 * <pre>
 *   layer 2 (gzip):          /etc/berth-test/gone, /opq/old, /opq/keep-not
 *   layer 3 (uncompressed):  /etc/berth-test/.wh.gone, /opq/.wh..wh..opq, /opq/new, /marker = TAG
 * </pre>
 */
final class TestLayouts {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

  private TestLayouts() {}

  /**
   * Writes a layout at {@code out} whose image "latest" is busybox + the two layers (marker text
   * {@code marker}, so different markers make different images). With {@code withArm64}, "latest"
   * is an image index of that image for linux/amd64 and a copy configured as linux/arm64.
   */
  static Path multiLayer(Path busybox, Path out, String marker, boolean withArm64)
      throws IOException {
    Files.createDirectories(out.resolve("blobs/sha256"));
    Files.writeString(out.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    JsonNode index = JSON.readTree(busybox.resolve("index.json").toFile());
    JsonNode manifest =
        JSON.readTree(
            blob(busybox, index.path("manifests").get(0).path("digest").asText()).toFile());
    ObjectNode config =
        (ObjectNode)
            JSON.readTree(blob(busybox, manifest.path("config").path("digest").asText()).toFile());
    // the busybox layer, as it is
    ObjectNode baseLayer = (ObjectNode) manifest.path("layers").get(0);
    copyBlob(busybox, out, baseLayer.path("digest").asText());

    byte[] two =
        tar(
            t -> {
              dir(t, "etc/berth-test/");
              file(t, "etc/berth-test/gone", "old\n");
              dir(t, "opq/");
              file(t, "opq/old", "lower\n");
            });
    byte[] three =
        tar(
            t -> {
              dir(t, "etc/berth-test/");
              file(t, "etc/berth-test/.wh.gone", "");
              dir(t, "opq/");
              file(t, "opq/.wh..wh..opq", "");
              file(t, "opq/new", "upper\n");
              file(t, "marker", marker + "\n");
            });
    byte[] twoGz = gzip(two);
    ArrayNode diffIds = (ArrayNode) config.path("rootfs").path("diff_ids");
    diffIds.add(digest(two));
    diffIds.add(digest(three));
    ArrayNode layers = JSON.createArrayNode();
    layers.add(baseLayer);
    layers.add(
        descriptor("application/vnd.oci.image.layer.v1.tar+gzip", put(out, twoGz), twoGz.length));
    layers.add(descriptor("application/vnd.oci.image.layer.v1.tar", put(out, three), three.length));

    ObjectNode amd = image(out, config, layers);
    ObjectNode top = amd;
    if (withArm64) {
      ObjectNode armConfig = config.deepCopy();
      armConfig.put("architecture", "arm64");
      ObjectNode arm = image(out, armConfig, layers);
      amd.putObject("platform").put("os", "linux").put("architecture", "amd64");
      arm.putObject("platform").put("os", "linux").put("architecture", "arm64");
      ObjectNode idx = JSON.createObjectNode();
      idx.put("schemaVersion", 2);
      idx.put("mediaType", OCI_INDEX);
      idx.putArray("manifests").add(amd).add(arm);
      byte[] b = JSON.writeValueAsBytes(idx);
      top = descriptor(OCI_INDEX, put(out, b), b.length);
    }
    top.putObject("annotations").put("org.opencontainers.image.ref.name", "latest");
    ObjectNode outIndex = JSON.createObjectNode();
    outIndex.put("schemaVersion", 2);
    outIndex.putArray("manifests").add(top);
    Files.write(out.resolve("index.json"), JSON.writeValueAsBytes(outIndex));
    return out;
  }

  /**
   * Writes a layout at {@code out} whose image "latest" is busybox plus one layer holding an
   * executable file (a test program) at {@code path}.
   */
  static Path withExecutable(Path busybox, Path out, String path, byte[] content)
      throws IOException {
    Files.createDirectories(out.resolve("blobs/sha256"));
    Files.writeString(out.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    JsonNode index = JSON.readTree(busybox.resolve("index.json").toFile());
    JsonNode manifest =
        JSON.readTree(
            blob(busybox, index.path("manifests").get(0).path("digest").asText()).toFile());
    ObjectNode config =
        (ObjectNode)
            JSON.readTree(blob(busybox, manifest.path("config").path("digest").asText()).toFile());
    ObjectNode baseLayer = (ObjectNode) manifest.path("layers").get(0);
    copyBlob(busybox, out, baseLayer.path("digest").asText());
    byte[] layer =
        tar(
            t -> {
              TarArchiveEntry e = new TarArchiveEntry(path);
              e.setMode(0100755);
              e.setSize(content.length);
              t.putArchiveEntry(e);
              t.write(content);
              t.closeArchiveEntry();
            });
    ((ArrayNode) config.path("rootfs").path("diff_ids")).add(digest(layer));
    ArrayNode layers = JSON.createArrayNode();
    layers.add(baseLayer);
    layers.add(descriptor("application/vnd.oci.image.layer.v1.tar", put(out, layer), layer.length));
    ObjectNode top = image(out, config, layers);
    top.putObject("annotations").put("org.opencontainers.image.ref.name", "latest");
    ObjectNode outIndex = JSON.createObjectNode();
    outIndex.put("schemaVersion", 2);
    outIndex.putArray("manifests").add(top);
    Files.write(out.resolve("index.json"), JSON.writeValueAsBytes(outIndex));
    return out;
  }

  private static ObjectNode image(Path out, ObjectNode config, ArrayNode layers)
      throws IOException {
    byte[] c = JSON.writeValueAsBytes(config);
    ObjectNode m = JSON.createObjectNode();
    m.put("schemaVersion", 2);
    m.put("mediaType", OCI_MANIFEST);
    m.set("config", descriptor("application/vnd.oci.image.config.v1+json", put(out, c), c.length));
    m.set("layers", layers);
    byte[] mb = JSON.writeValueAsBytes(m);
    return descriptor(OCI_MANIFEST, put(out, mb), mb.length);
  }

  private static ObjectNode descriptor(String type, String digest, long size) {
    ObjectNode d = JSON.createObjectNode();
    d.put("mediaType", type);
    d.put("digest", digest);
    d.put("size", size);
    return d;
  }

  static Path blob(Path layout, String digest) {
    return layout.resolve("blobs/sha256").resolve(digest.substring("sha256:".length()));
  }

  private static void copyBlob(Path from, Path to, String digest) throws IOException {
    if (!Files.exists(blob(to, digest))) Files.copy(blob(from, digest), blob(to, digest));
  }

  private static String put(Path layout, byte[] data) throws IOException {
    String d = digest(data);
    if (!Files.exists(blob(layout, d))) Files.write(blob(layout, d), data);
    return d;
  }

  static String digest(byte[] data) {
    try {
      return "sha256:"
          + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private interface TarBody {
    void write(TarArchiveOutputStream t) throws IOException;
  }

  private static byte[] tar(TarBody body) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream t = new TarArchiveOutputStream(bytes)) {
      t.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      body.write(t);
    }
    return bytes.toByteArray();
  }

  private static void dir(TarArchiveOutputStream t, String name) throws IOException {
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setMode(040755);
    t.putArchiveEntry(e);
    t.closeArchiveEntry();
  }

  private static void file(TarArchiveOutputStream t, String name, String content)
      throws IOException {
    byte[] b = content.getBytes(StandardCharsets.UTF_8);
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setMode(0100644);
    e.setSize(b.length);
    t.putArchiveEntry(e);
    t.write(b);
    t.closeArchiveEntry();
  }

  private static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (OutputStream gz = new GzipCompressorOutputStream(out)) {
      gz.write(data);
    }
    return out.toByteArray();
  }
}
