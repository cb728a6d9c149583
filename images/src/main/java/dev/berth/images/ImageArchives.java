package dev.berth.images;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.images.ImageIndex.Entry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Image archives in and out: {@code import} of an OCI image layout or a docker-archive (a directory
 * or a tar), {@code save} of an image as a tar that is both.
 *
 * <p>An import stages everything under tmp/ (blobs copied and verified, layers unpacked and checked
 * against their diff ids, each diff id once) and only then moves blobs and layers into place and
 * publishes the index; a failure rolls the moves back, so a failed import leaves nothing. It runs
 * under the store lock.
 */
final class ImageArchives {
  private final Object lock;
  private final Path tmp;
  private final ContentStore content;
  private final LayerStore layers;
  private final ImageIndex index;
  private final Leases leases;

  ImageArchives(
      Object lock,
      Path tmp,
      ContentStore content,
      LayerStore layers,
      ImageIndex index,
      Leases leases) {
    this.lock = lock;
    this.tmp = tmp;
    this.content = content;
    this.layers = layers;
    this.index = index;
    this.leases = leases;
  }

  // --------------------------------------------------------------------------------------------
  // import

  List<ImageRecord> importImage(Path path, String nameOrNull) throws ImageException {
    References.Ref given = null;
    if (nameOrNull != null && !nameOrNull.isBlank()) {
      given = References.parse(nameOrNull.strip());
      if (given == null || given.digest() != null)
        throw new ImageException("invalid reference format: " + nameOrNull.strip());
    }
    Path src = path.toAbsolutePath().normalize();
    synchronized (lock) {
      Path staging = null;
      try {
        staging = Files.createTempDirectory(tmp, "import-");
        return importLocked(src, given, staging);
      } catch (IOException e) {
        throw new ImageException("importing " + src + " failed: " + ImageException.describe(e), e);
      } catch (RuntimeException e) {
        // hostile input must end in a one-line error and a clean store, never in an escaping
        // exception
        throw new ImageException("importing " + src + " failed: " + e, e);
      } finally {
        if (staging != null) {
          try {
            LayerUnpacker.deleteTree(staging);
          } catch (IOException ignored) {
            // tmp/ is emptied again when the store is next opened
          }
        }
      }
    }
  }

  private List<ImageRecord> importLocked(Path src, References.Ref given, Path staging)
      throws ImageException, IOException {
    if (!Files.exists(src)) throw new ImageException("no such file or directory: " + src);
    Path source;
    if (Files.isDirectory(src)) {
      source = src;
    } else if (Files.isRegularFile(src)) {
      source = staging.resolve("archive");
      Files.createDirectory(source);
      try (InputStream in = Files.newInputStream(src)) {
        LayerUnpacker.unpack(in, source, LayerUnpacker.Mode.ARCHIVE, src.toString());
      } catch (ImageException e) {
        throw new ImageException(
            "not an OCI layout or docker archive: " + src + " (" + e.getMessage() + ")");
      }
    } else {
      throw new ImageException("not an OCI layout or docker archive: " + src);
    }
    List<ImageSources.SourceImage> images;
    if (ImageSources.isOciLayout(source)) {
      images = ImageSources.readOciLayout(source);
    } else if (ImageSources.isDockerArchive(source)) {
      images = ImageSources.readDockerArchive(source);
    } else {
      throw new ImageException("not an OCI layout or docker archive: " + src);
    }
    if (given != null && given.explicitTag() && images.size() > 1) {
      throw new ImageException(
          src + " contains " + images.size() + " images; a name with a tag fits only one");
    }
    String fileRepo =
        References.repositoryFromFileName(
            src.getFileName() == null ? "" : src.getFileName().toString());

    Path stagedBlobs = Files.createDirectory(staging.resolve("blobs"));
    Path stagedLayers = Files.createDirectory(staging.resolve("layers"));
    Map<String, Long> knownSizes = index.layerSizes();
    Map<String, Long> stagedSizes = new HashMap<>();
    List<Entry> imported = new ArrayList<>();
    for (ImageSources.SourceImage img : images) {
      List<String> names = names(img, given, fileRepo);
      stageBytes(stagedBlobs, img.configDigest(), img.config());
      List<String> layerBlobs = new ArrayList<>();
      List<Long> sizes = new ArrayList<>();
      ArrayNode manifestLayers = ImageSources.JSON.createArrayNode();
      for (int i = 0; i < img.layers().size(); i++) {
        ImageSources.SourceLayer l = img.layers().get(i);
        String what = "layer " + (i + 1) + " of image " + Digests.shortForm(img.configDigest());
        Digests.Copied blob = stageFile(stagedBlobs, l, what);
        layerBlobs.add(blob.digest());
        String diffId = img.diffIds().get(i);
        // each diff id is unpacked once: reuse the store's copy or one staged earlier in this
        // import
        Long size = stagedSizes.get(diffId);
        if (size == null && knownSizes.containsKey(diffId) && layers.isUnpacked(diffId)) {
          size = knownSizes.get(diffId);
        }
        if (size == null) {
          size = unpackLayer(stagedLayers, diffId, blobFile(stagedBlobs, blob.digest()), what);
          stagedSizes.put(diffId, size);
        }
        sizes.add(size);
        ObjectNode d = manifestLayers.addObject();
        d.put(
            "mediaType",
            l.mediaType() != null
                ? l.mediaType()
                : layerMediaType(blobFile(stagedBlobs, blob.digest())));
        d.put("digest", blob.digest());
        d.put("size", blob.size());
      }
      byte[] manifest = img.manifest();
      String manifestDigest = img.manifestDigest();
      if (manifest
          == null) { // docker archives have no manifest blob: describe the image as an OCI manifest
        ObjectNode m = ImageSources.JSON.createObjectNode();
        m.put("schemaVersion", 2);
        m.put("mediaType", ImageSources.OCI_MANIFEST);
        ObjectNode c = m.putObject("config");
        c.put("mediaType", ImageSources.OCI_CONFIG);
        c.put("digest", img.configDigest());
        c.put("size", img.config().length);
        m.set("layers", manifestLayers);
        manifest = ImageSources.JSON.writeValueAsBytes(m);
        manifestDigest = Digests.of(manifest);
      }
      stageBytes(stagedBlobs, manifestDigest, manifest);
      long total = sizes.stream().mapToLong(Long::longValue).sum();
      ImageRecord rec =
          new ImageRecord(
              img.configDigest(),
              names,
              total,
              created(img.configJson()),
              manifestDigest,
              img.diffIds());
      imported.add(new Entry(rec, List.copyOf(layerBlobs), List.copyOf(sizes)));
    }
    return commit(stagedBlobs, stagedLayers, imported);
  }

  /**
   * Final names of one imported image: an explicit name wins; a bare repository is combined with
   * the source's tag.
   */
  private static List<String> names(
      ImageSources.SourceImage img, References.Ref given, String fileRepo) throws ImageException {
    Set<String> out = new LinkedHashSet<>();
    List<String> sourceTags = new ArrayList<>();
    for (String n : img.fullNames()) {
      References.Ref r = References.parse(n);
      if (r == null) throw new ImageException("invalid reference format in the image source: " + n);
      if (given == null) out.add(r.name());
      sourceTags.add(r.tag());
    }
    if (img.tag() != null) sourceTags.add(img.tag());
    if (given != null) {
      if (given.explicitTag()) {
        out.add(given.name());
      } else {
        if (sourceTags.isEmpty()) sourceTags.add("latest");
        for (String t : sourceTags) {
          String n = References.normalize(given.repository() + ":" + t);
          if (n == null) throw new ImageException("invalid tag in the image source: " + t);
          out.add(n);
        }
      }
    } else if (img.tag() != null && fileRepo != null) {
      String n = References.normalize(fileRepo + ":" + img.tag());
      if (n == null) throw new ImageException("invalid tag in the image source: " + img.tag());
      out.add(n);
    }
    return List.copyOf(out);
  }

  static Instant created(JsonNode config) {
    String s = config.path("created").asText("");
    if (!s.isEmpty()) {
      try {
        return OffsetDateTime.parse(s).toInstant();
      } catch (DateTimeParseException ignored) {
        // an unparsable "created" is not worth failing the import over
      }
    }
    return Instant.now();
  }

  private Path blobFile(Path stagedBlobs, String digest) {
    Path staged = stagedBlobs.resolve(Digests.hex(digest));
    return Files.exists(staged, LinkOption.NOFOLLOW_LINKS) ? staged : content.path(digest);
  }

  private void stageBytes(Path stagedBlobs, String digest, byte[] bytes) throws IOException {
    String hex = Digests.hex(digest);
    if (Files.exists(content.path(digest)) || Files.exists(stagedBlobs.resolve(hex))) return;
    Files.write(
        stagedBlobs.resolve(hex), bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
  }

  /**
   * Copies a layer blob into staging, verifying it against the source's digest when there is one.
   */
  private Digests.Copied stageFile(Path stagedBlobs, ImageSources.SourceLayer l, String what)
      throws ImageException, IOException {
    if (l.digest() != null) {
      String hex = Digests.hex(l.digest());
      if (Files.exists(content.path(l.digest())))
        return new Digests.Copied(l.digest(), Files.size(content.path(l.digest())));
      if (Files.exists(stagedBlobs.resolve(hex)))
        return new Digests.Copied(l.digest(), Files.size(stagedBlobs.resolve(hex)));
    }
    Path incoming = stagedBlobs.resolve(".incoming");
    Digests.Copied c =
        Digests.copy(
            l.file(),
            incoming,
            l.digest(),
            l.size(),
            what + " (" + (l.digest() != null ? l.digest() : l.file().getFileName()) + ")");
    Path target = stagedBlobs.resolve(Digests.hex(c.digest()));
    if (Files.exists(content.path(c.digest())) || Files.exists(target)) {
      Files.delete(incoming);
    } else {
      Files.move(incoming, target, StandardCopyOption.ATOMIC_MOVE);
    }
    return c;
  }

  /**
   * Unpacks one layer into staging/layers/<diff id hex>, verifying its diff id; returns its
   * uncompressed size.
   */
  private long unpackLayer(Path stagedLayers, String diffId, Path blob, String what)
      throws ImageException, IOException {
    Path work = Files.createTempDirectory(stagedLayers, ".unpack-");
    long size = LayerStore.unpackVerified(blob, work, diffId, what);
    Files.move(work, stagedLayers.resolve(Digests.hex(diffId)), StandardCopyOption.ATOMIC_MOVE);
    return size;
  }

  private static String layerMediaType(Path blob) throws IOException {
    try (InputStream in = Files.newInputStream(blob)) {
      byte[] m = in.readNBytes(2);
      return m.length == 2 && (m[0] & 0xff) == 0x1f && (m[1] & 0xff) == 0x8b
          ? ImageSources.OCI_LAYER_GZIP
          : ImageSources.OCI_LAYER;
    }
  }

  /**
   * Moves staged blobs and layers into the store and publishes the new index; undoes the moves on
   * failure.
   */
  private List<ImageRecord> commit(Path stagedBlobs, Path stagedLayers, List<Entry> imported)
      throws IOException {
    List<Path> moved = new ArrayList<>();
    try {
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(stagedBlobs)) {
        for (Path p : ds) {
          if (p.getFileName().toString().startsWith(".")) continue;
          Path target = content.path("sha256:" + p.getFileName());
          if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) continue;
          Files.move(p, target, StandardCopyOption.ATOMIC_MOVE);
          moved.add(target);
        }
      }
      try (DirectoryStream<Path> ds =
          Files.newDirectoryStream(
              stagedLayers, p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))) {
        for (Path p : ds) {
          if (p.getFileName().toString().startsWith(".")) continue;
          moved.add(layers.moveIn(p, p.getFileName().toString()));
        }
      }
      List<Entry> next = new ArrayList<>(index.entries());
      List<String> ids = new ArrayList<>();
      for (Entry e : imported) {
        ImageIndex.merge(next, e);
        if (!ids.contains(e.record().id())) ids.add(e.record().id());
      }
      index.publish(next);
      List<ImageRecord> out = new ArrayList<>();
      for (String id : ids) {
        for (Entry e : index.entries()) if (e.record().id().equals(id)) out.add(e.record());
      }
      return out;
    } catch (IOException | RuntimeException e) {
      for (Path p : moved) {
        try {
          LayerUnpacker.removeExisting(p);
        } catch (IOException ignored) {
          // left as an orphan; removed at the next start
        }
      }
      throw e;
    }
  }

  // ----------------------------------------------------------------------------------------------
  // save

  /**
   * Writes {@code ref} as a tar that is both an OCI image layout and a docker-archive (like {@code
   * docker save} since docker 25): {@code oci-layout}, {@code index.json} (one entry per name,
   * annotated with the name) and {@code manifest.json} (docker's list with RepoTags), over the
   * store's own blobs. The file is written to a temporary name and renamed when complete.
   */
  ImageRecord save(String ref, Path target) throws ImageException {
    ImageIndex.Match match =
        index
            .find(ref)
            .orElseThrow(
                () ->
                    new ImageException(
                        ImageException.Reason.NOT_FOUND,
                        "no such image: " + (ref == null ? "" : ref.strip())));
    Entry e = match.entry();
    ImageRecord r = e.record();
    // What was asked for, as docker saves it: the one name given, or no name for an id (the
    // image's other names, other repositories' included, stay out of the archive).
    List<String> savedNames =
        match.name() != null && r.names().contains(match.name())
            ? List.of(match.name())
            : List.of();
    Path out = target.toAbsolutePath().normalize();
    if (out.getParent() == null || !Files.isDirectory(out.getParent())) {
      throw new ImageException(
          ImageException.Reason.INVALID, "cannot save to " + out + ": no such directory");
    }
    if (Files.isDirectory(out))
      throw new ImageException(
          ImageException.Reason.INVALID, "cannot save to " + out + ": is a directory");
    Path temp = out.resolveSibling("." + out.getFileName() + ".berth-save");
    try (Lease lease = leases.open()) {
      for (String b : e.blobs()) {
        lease.protectBlob(b);
        if (!content.has(b))
          throw new ImageException(
              "image "
                  + Digests.shortForm(r.id())
                  + " is incomplete: blob "
                  + Digests.shortForm(b)
                  + " is missing");
      }
      byte[] manifest = content.read(r.manifestDigest(), RegistryClient.MAX_DOCUMENT);
      ObjectNode index = ImageSources.JSON.createObjectNode();
      index.put("schemaVersion", 2);
      index.put("mediaType", ImageSources.OCI_INDEX);
      ArrayNode ms = index.putArray("manifests");
      List<String> names =
          savedNames.isEmpty() ? java.util.Collections.singletonList(null) : savedNames;
      for (String n : names) {
        ObjectNode d = ms.addObject();
        d.put("mediaType", ImageSources.OCI_MANIFEST);
        d.put("digest", r.manifestDigest());
        d.put("size", manifest.length);
        if (n != null) {
          ObjectNode a = d.putObject("annotations");
          a.put("io.containerd.image.name", n);
          a.put("org.opencontainers.image.ref.name", References.parse(n).tag());
        }
      }
      ArrayNode docker = ImageSources.JSON.createArrayNode();
      ObjectNode de = docker.addObject();
      de.put("Config", "blobs/sha256/" + Digests.hex(r.id()));
      ArrayNode tags = de.putArray("RepoTags");
      savedNames.forEach(tags::add);
      ArrayNode ls = de.putArray("Layers");
      e.layerBlobs().forEach(b -> ls.add("blobs/sha256/" + Digests.hex(b)));
      try (OutputStream os = Files.newOutputStream(temp);
          org.apache.commons.compress.archivers.tar.TarArchiveOutputStream tar =
              new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(
                  new java.io.BufferedOutputStream(os, 1 << 16))) {
        tar.setLongFileMode(
            org.apache.commons.compress.archivers.tar.TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(
            org.apache.commons.compress.archivers.tar.TarArchiveOutputStream.BIGNUMBER_POSIX);
        tarBytes(
            tar,
            "oci-layout",
            "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        tarBytes(tar, "index.json", ImageSources.JSON.writeValueAsBytes(index));
        tarBytes(tar, "manifest.json", ImageSources.JSON.writeValueAsBytes(docker));
        Set<String> written = new HashSet<>();
        for (String b : e.blobs()) {
          if (!written.add(b)) continue;
          Path f = content.path(b);
          org.apache.commons.compress.archivers.tar.TarArchiveEntry te =
              new org.apache.commons.compress.archivers.tar.TarArchiveEntry(
                  "blobs/sha256/" + Digests.hex(b));
          te.setSize(Files.size(f));
          te.setMode(0100644);
          te.setModTime(0);
          tar.putArchiveEntry(te);
          Files.copy(f, tar);
          tar.closeArchiveEntry();
        }
        tar.finish();
      }
      Files.move(temp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return r;
    } catch (IOException io) {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException ignored) {
        // best effort
      }
      throw new ImageException(
          "saving image "
              + Digests.shortForm(r.id())
              + " to "
              + out
              + " failed: "
              + ImageException.describe(io),
          io);
    }
  }

  private static void tarBytes(
      org.apache.commons.compress.archivers.tar.TarArchiveOutputStream tar, String name, byte[] b)
      throws IOException {
    org.apache.commons.compress.archivers.tar.TarArchiveEntry te =
        new org.apache.commons.compress.archivers.tar.TarArchiveEntry(name);
    te.setSize(b.length);
    te.setMode(0100644);
    te.setModTime(0);
    tar.putArchiveEntry(te);
    tar.write(b);
    tar.closeArchiveEntry();
  }
}
