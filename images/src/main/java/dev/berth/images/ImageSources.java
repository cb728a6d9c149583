package dev.berth.images;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads what an import source describes (OCI image layout or an unpacked docker-archive) without
 * copying anything: which images, their names, config and manifest documents and where each layer
 * blob is. Every document read here is verified against its digest where one is known.
 */
final class ImageSources {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  static final String OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
  static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
  static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
  static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
  private static final String REF_NAME = "org.opencontainers.image.ref.name";
  private static final String CONTAINERD_NAME = "io.containerd.image.name";
  private static final long MAX_DOCUMENT =
      16L << 20; // JSON documents are small; refuse to buffer huge ones
  private static final int MAX_NESTING = 4;

  /**
   * A layer blob as the source has it. {@code digest} is null when the source does not say (docker
   * archive).
   */
  record SourceLayer(Path file, String digest, long size, String mediaType) {}

  /**
   * One image of the source.
   *
   * @param fullNames references the source names completely ("busybox:latest")
   * @param tag a bare tag the source gives (OCI ref.name "latest"); combined with a repository
   *     later
   * @param manifest the manifest document, or null when it must be synthesized (docker archive)
   */
  record SourceImage(
      List<String> fullNames,
      String tag,
      byte[] config,
      String configDigest,
      byte[] manifest,
      String manifestDigest,
      List<SourceLayer> layers,
      List<String> diffIds,
      JsonNode configJson) {}

  private ImageSources() {}

  static boolean isOciLayout(Path dir) {
    return Files.isRegularFile(dir.resolve("oci-layout"))
        && Files.isRegularFile(dir.resolve("index.json"));
  }

  static boolean isDockerArchive(Path dir) {
    return Files.isRegularFile(dir.resolve("manifest.json"));
  }

  // ------------------------------------------------------------------------------------------ OCI
  // layout

  static List<SourceImage> readOciLayout(Path dir) throws ImageException, IOException {
    JsonNode layout =
        parse(
            Digests.readSmall(dir.resolve("oci-layout"), MAX_DOCUMENT, "OCI layout"), "oci-layout");
    if (!layout.path("imageLayoutVersion").isTextual()) {
      throw new ImageException(
          "invalid OCI layout " + dir + ": oci-layout has no imageLayoutVersion");
    }
    JsonNode index =
        parse(
            Digests.readSmall(dir.resolve("index.json"), MAX_DOCUMENT, "OCI layout"), "index.json");
    JsonNode manifests = index.path("manifests");
    if (!manifests.isArray() || manifests.isEmpty()) {
      throw new ImageException(
          "OCI layout " + dir + " contains no images (index.json has no manifests)");
    }
    // Top-level entries are separate images when named; unnamed per-platform entries are one image.
    List<JsonNode> candidates = new ArrayList<>();
    manifests.forEach(candidates::add);
    if (candidates.size() > 1) {
      List<JsonNode> matching = new ArrayList<>();
      for (JsonNode d : candidates) {
        if (!d.has("platform") || platformMatches(d.path("platform"))) matching.add(d);
      }
      if (matching.isEmpty())
        throw new ImageException("OCI layout " + dir + " has no image for " + hostPlatform());
      candidates = matching;
    }
    List<SourceImage> out = new ArrayList<>();
    for (JsonNode desc : candidates) {
      List<String> fullNames = new ArrayList<>();
      String tag = null;
      String containerdName = desc.path("annotations").path(CONTAINERD_NAME).asText("");
      String refName = desc.path("annotations").path(REF_NAME).asText("");
      if (!containerdName.isEmpty()) fullNames.add(containerdName);
      if (!refName.isEmpty()) {
        if (refName.contains(":") || refName.contains("/")) {
          if (!fullNames.contains(refName) && containerdName.isEmpty()) fullNames.add(refName);
        } else if (containerdName.isEmpty()) {
          tag = refName;
        }
      }
      out.add(readOciManifest(dir, desc, fullNames, tag, 0));
    }
    return mergeSameImage(out);
  }

  /**
   * Entries that name the same manifest (one per name, as docker save writes them) are one image.
   */
  private static List<SourceImage> mergeSameImage(List<SourceImage> images) {
    java.util.LinkedHashMap<String, SourceImage> byManifest = new java.util.LinkedHashMap<>();
    for (SourceImage i : images) {
      SourceImage seen = byManifest.get(i.manifestDigest());
      if (seen == null) {
        byManifest.put(i.manifestDigest(), i);
        continue;
      }
      List<String> names = new ArrayList<>(seen.fullNames());
      i.fullNames().stream().filter(n -> !names.contains(n)).forEach(names::add);
      String tag = seen.tag() != null ? seen.tag() : i.tag(); // bare tags: the first one wins
      byManifest.put(
          i.manifestDigest(),
          new SourceImage(
              List.copyOf(names),
              tag,
              seen.config(),
              seen.configDigest(),
              seen.manifest(),
              seen.manifestDigest(),
              seen.layers(),
              seen.diffIds(),
              seen.configJson()));
    }
    return new ArrayList<>(byManifest.values());
  }

  private static SourceImage readOciManifest(
      Path dir, JsonNode desc, List<String> fullNames, String tag, int depth)
      throws ImageException, IOException {
    if (depth > MAX_NESTING)
      throw new ImageException("OCI layout " + dir + ": image indexes nested too deeply");
    String digest = Digests.require(desc.path("digest").asText(null), "OCI layout descriptor");
    byte[] bytes = readBlob(dir, digest, desc.path("size").asLong(-1));
    JsonNode doc = parse(bytes, "manifest " + Digests.shortForm(digest));
    String mediaType = doc.path("mediaType").asText(desc.path("mediaType").asText(""));
    if (doc.has("manifests") || mediaType.equals(OCI_INDEX) || mediaType.equals(DOCKER_LIST)) {
      JsonNode chosen = choosePlatform(doc.path("manifests"), dir, digest);
      return readOciManifest(dir, chosen, fullNames, tag, depth + 1);
    }
    if (!doc.has("layers") || !doc.path("config").isObject()) {
      throw new ImageException(
          "OCI layout "
              + dir
              + ": "
              + Digests.shortForm(digest)
              + " is not an image manifest ("
              + (mediaType.isEmpty() ? "no media type" : mediaType)
              + ")");
    }
    JsonNode cfgDesc = doc.path("config");
    String configDigest =
        Digests.require(
            cfgDesc.path("digest").asText(null),
            "manifest " + Digests.shortForm(digest) + " config");
    byte[] config = readBlob(dir, configDigest, cfgDesc.path("size").asLong(-1));
    List<SourceLayer> layers = new ArrayList<>();
    JsonNode ls = doc.path("layers");
    if (!ls.isArray())
      throw new ImageException(
          "manifest " + Digests.shortForm(digest) + ": \"layers\" is not a list");
    for (JsonNode l : ls) {
      String ld =
          Digests.require(
              l.path("digest").asText(null), "manifest " + Digests.shortForm(digest) + " layer");
      Path file = blobPath(dir, ld);
      if (!Files.isRegularFile(file))
        throw new ImageException("OCI layout " + dir + " is missing blob " + ld);
      layers.add(
          new SourceLayer(
              file, ld, l.path("size").asLong(-1), l.path("mediaType").asText(OCI_LAYER)));
    }
    JsonNode configJson = parse(config, "config " + Digests.shortForm(configDigest));
    return new SourceImage(
        List.copyOf(fullNames),
        tag,
        config,
        configDigest,
        bytes,
        digest,
        List.copyOf(layers),
        diffIds(configJson, configDigest, layers.size()),
        configJson);
  }

  private static JsonNode choosePlatform(JsonNode manifests, Path dir, String indexDigest)
      throws ImageException {
    if (!manifests.isArray() || manifests.isEmpty()) {
      throw new ImageException(
          "image index " + Digests.shortForm(indexDigest) + " lists no manifests");
    }
    if (manifests.size() == 1) return manifests.get(0);
    for (JsonNode m : manifests) {
      if (platformMatches(m.path("platform"))) return m;
    }
    throw new ImageException(
        "image index "
            + Digests.shortForm(indexDigest)
            + " in "
            + dir
            + " has no image for "
            + hostPlatform());
  }

  private static boolean platformMatches(JsonNode p) {
    return "linux".equals(p.path("os").asText())
        && hostArch().equals(p.path("architecture").asText());
  }

  static String hostArch() {
    String a = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    return switch (a) {
      case "amd64", "x86_64" -> "amd64";
      case "aarch64", "arm64" -> "arm64";
      default -> a;
    };
  }

  private static String hostPlatform() {
    return "linux/" + hostArch();
  }

  static Path blobPath(Path layout, String digest) {
    return layout.resolve("blobs").resolve("sha256").resolve(Digests.hex(digest));
  }

  private static byte[] readBlob(Path layout, String digest, long size)
      throws ImageException, IOException {
    Path file = blobPath(layout, digest);
    if (!Files.isRegularFile(file))
      throw new ImageException("OCI layout " + layout + " is missing blob " + digest);
    byte[] bytes = Digests.readSmall(file, MAX_DOCUMENT, "blob " + Digests.shortForm(digest));
    String got = Digests.of(bytes);
    if (!got.equals(digest))
      throw new ImageException("blob " + digest + ": digest mismatch: got " + got);
    if (size >= 0 && size != bytes.length) {
      throw new ImageException(
          "blob " + digest + ": size mismatch: expected " + size + " bytes, got " + bytes.length);
    }
    return bytes;
  }

  // ------------------------------------------------------------------------------------ docker
  // archive

  /**
   * {@code dir} is an unpacked docker-archive (the daemon unpacks the tar into its staging area
   * first).
   */
  static List<SourceImage> readDockerArchive(Path dir) throws ImageException, IOException {
    JsonNode manifest =
        parse(
            Digests.readSmall(dir.resolve("manifest.json"), MAX_DOCUMENT, "docker archive"),
            "manifest.json");
    if (!manifest.isArray() || manifest.isEmpty()) {
      throw new ImageException("docker archive: manifest.json lists no images");
    }
    List<SourceImage> out = new ArrayList<>();
    for (JsonNode entry : manifest) {
      String configName = entry.path("Config").asText("");
      if (configName.isEmpty())
        throw new ImageException("docker archive: manifest.json entry without Config");
      byte[] config =
          Digests.readSmall(member(dir, configName), MAX_DOCUMENT, "docker archive config");
      String configDigest = Digests.of(config);
      List<String> names = new ArrayList<>();
      for (JsonNode t : entry.path("RepoTags")) names.add(t.asText());
      List<SourceLayer> layers = new ArrayList<>();
      JsonNode ls = entry.path("Layers");
      if (!ls.isArray())
        throw new ImageException("docker archive: manifest.json entry without Layers");
      for (JsonNode l : ls) {
        layers.add(new SourceLayer(member(dir, l.asText("")), null, -1, null));
      }
      JsonNode configJson = parse(config, "config " + Digests.shortForm(configDigest));
      out.add(
          new SourceImage(
              List.copyOf(names),
              null,
              config,
              configDigest,
              null,
              null,
              List.copyOf(layers),
              diffIds(configJson, configDigest, layers.size()),
              configJson));
    }
    return out;
  }

  /**
   * A member of an unpacked archive by its archive path. Symlinks inside the archive are allowed
   * (skopeo writes {@code <id>/layer.tar -> ../<diffid>.tar}) but the resolved file must stay
   * inside {@code dir}.
   */
  private static Path member(Path dir, String name) throws ImageException, IOException {
    if (name.isEmpty() || name.startsWith("/") || name.indexOf('\0') >= 0) {
      throw new ImageException("docker archive: invalid member name \"" + name + "\"");
    }
    Path base = dir.toRealPath();
    Path p = base.resolve(name).normalize();
    if (!p.startsWith(base) || !Files.exists(p))
      throw new ImageException("docker archive is missing \"" + name + "\"");
    Path real = p.toRealPath();
    if (!real.startsWith(base) || !Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) {
      throw new ImageException("docker archive: \"" + name + "\" is not a file inside the archive");
    }
    return real;
  }

  // --------------------------------------------------------------------------------------------
  // common

  static List<String> diffIds(JsonNode config, String configDigest, int layerCount)
      throws ImageException {
    String what = "config " + Digests.shortForm(configDigest);
    if (!config.isObject()) throw new ImageException(what + " is not a JSON object");
    JsonNode ids = config.path("rootfs").path("diff_ids");
    if (!ids.isArray()) throw new ImageException(what + " has no rootfs.diff_ids");
    List<String> out = new ArrayList<>();
    for (JsonNode id : ids) out.add(Digests.require(id.asText(null), what + " diff_id"));
    if (out.size() != layerCount) {
      throw new ImageException(
          what
              + " lists "
              + out.size()
              + " diff_ids but the manifest has "
              + layerCount
              + " layers");
    }
    return List.copyOf(out);
  }

  static JsonNode parse(byte[] bytes, String what) throws ImageException {
    try {
      JsonNode n = JSON.readTree(bytes);
      if (n == null || n.isMissingNode()) throw new ImageException(what + ": empty JSON document");
      return n;
    } catch (JsonProcessingException e) {
      throw new ImageException(what + ": invalid JSON (" + e.getOriginalMessage() + ")");
    } catch (IOException e) {
      throw new ImageException(what + ": unreadable JSON (" + e.getMessage() + ")");
    }
  }
}
