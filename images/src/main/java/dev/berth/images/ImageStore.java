package dev.berth.images;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
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
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The local image store: content-addressed blobs, layers unpacked once per diff id, and an index of
 * images and their names.
 *
 * <pre>
 * root/
 *   blobs/sha256/&lt;hex&gt;   configs, manifests and layer blobs as imported (verified while copying)
 *   layers/&lt;diffid hex&gt;/  a layer unpacked in overlayfs format, usable directly as a lowerdir
 *   index.json            images, names and layer sizes (replaced atomically: temp + rename)
 *   tmp/                  staging for imports and deletions; emptied at startup
 * </pre>
 *
 * <p>Consistency: an import stages everything under tmp/ and only then moves blobs and layers into
 * place and writes the index; a failure rolls the moves back, so a failed import leaves nothing.
 * Deletion writes the index first and then deletes files. Whatever a crash leaves behind (staging
 * dirs, blobs or layers no image references) is removed when the store is opened.
 *
 * <p>Thread safety: mutations (import, remove) are serialized on one lock; readers work on an
 * immutable snapshot published through a volatile field and never block.
 */
public final class ImageStore {
  private static final Pattern FULL_ID = Pattern.compile("sha256:[0-9a-f]{64}");
  private static final Pattern ID_PREFIX = Pattern.compile("(?:sha256:)?([0-9a-f]{4,64})");
  private static final int INDEX_VERSION = 1;

  /**
   * An image plus what the store needs to garbage-collect it.
   *
   * @param otherBlobs further documents kept with the image (the image index a pull chose the
   *     manifest from)
   */
  private record Entry(
      ImageRecord record, List<String> layerBlobs, List<Long> layerSizes, List<String> otherBlobs) {
    Entry(ImageRecord record, List<String> layerBlobs, List<Long> layerSizes) {
      this(record, layerBlobs, layerSizes, List.of());
    }

    Set<String> blobs() {
      Set<String> s = new LinkedHashSet<>();
      s.add(record.id());
      if (record.manifestDigest() != null) s.add(record.manifestDigest());
      s.addAll(layerBlobs);
      s.addAll(otherBlobs);
      return s;
    }
  }

  private final Path root;
  private final Path blobs;
  private final Path layers;
  private final Path tmp;
  private final Path indexFile;
  private final Object lock = new Object();
  private volatile List<Entry> entries;

  /**
   * Content that pulls in progress are about to reference; the garbage collector leaves it alone.
   * Guarded by lock.
   */
  private final Set<Lease> leases = new HashSet<>();

  /**
   * Sizes of layers unpacked by pulls not yet committed (committed ones are in the index). Guarded
   * by lock.
   */
  private final Map<String, Long> pendingLayerSizes = new HashMap<>();

  public ImageStore(Path root) throws IOException {
    this.root = root.toAbsolutePath().normalize();
    this.blobs = this.root.resolve("blobs").resolve("sha256");
    this.layers = this.root.resolve("layers");
    this.tmp = this.root.resolve("tmp");
    this.indexFile = this.root.resolve("index.json");
    Files.createDirectories(blobs);
    Files.createDirectories(layers);
    Files.createDirectories(tmp);
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(tmp)) {
      for (Path p : ds) LayerUnpacker.removeExisting(p);
    }
    this.entries = loadIndex();
    collectOrphans();
  }

  // -------------------------------------------------------------------------------------------
  // queries

  public List<ImageRecord> list() {
    return entries.stream().map(Entry::record).toList();
  }

  public Optional<ImageRecord> resolve(String ref) {
    return find(entries, ref).map(m -> m.entry.record());
  }

  public ImageConfig config(ImageRecord image) throws ImageException {
    Path file = blobs.resolve(Digests.hex(Digests.require(image.id(), "image")));
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new ImageException(
          "config of image " + Digests.shortForm(image.id()) + " is not in the store");
    }
    JsonNode c =
        ImageSources.parse(bytes, "config " + Digests.shortForm(image.id())).path("config");
    Map<String, String> labels = new LinkedHashMap<>();
    c.path("Labels").fields().forEachRemaining(f -> labels.put(f.getKey(), f.getValue().asText()));
    return new ImageConfig(
        strings(c.path("Entrypoint")),
        strings(c.path("Cmd")),
        strings(c.path("Env")),
        c.path("WorkingDir").asText(""),
        c.path("User").asText(""),
        labels);
  }

  /** The unpacked layer directories of {@code image}, lowest first. */
  public List<Path> layerDirs(ImageRecord image) {
    List<Path> out = new ArrayList<>(image.diffIds().size());
    for (String d : image.diffIds()) out.add(layers.resolve(Digests.hex(d)));
    return List.copyOf(out);
  }

  private static List<String> strings(JsonNode n) {
    List<String> out = new ArrayList<>();
    if (n.isArray()) n.forEach(x -> out.add(x.asText()));
    else if (n.isTextual()) out.add(n.asText()); // tolerate a bare string, as docker does for Cmd
    return out;
  }

  private record Match(Entry entry, String name) {}

  /** Name first (docker's order), then full id, then a unique id prefix. */
  private static Optional<Match> find(List<Entry> entries, String ref) {
    if (ref == null || ref.isBlank()) return Optional.empty();
    String r = ref.strip();
    if (FULL_ID.matcher(r).matches()) {
      return entries.stream()
          .filter(e -> e.record.id().equals(r))
          .findFirst()
          .map(e -> new Match(e, null));
    }
    References.Ref parsed = References.parse(r);
    if (parsed != null) {
      if (parsed.digest() != null) {
        String repoDigest = parsed.repository() + "@" + parsed.digest();
        for (Entry e : entries) {
          if (e.record.repoDigests().contains(repoDigest)) return Optional.of(new Match(e, null));
        }
        for (Entry e : entries) {
          if (parsed.digest().equals(e.record.manifestDigest())
              && e.record.names().stream().anyMatch(n -> n.startsWith(parsed.repository() + ":"))) {
            return Optional.of(new Match(e, null));
          }
        }
      } else {
        for (Entry e : entries) {
          if (e.record.names().contains(parsed.name()))
            return Optional.of(new Match(e, parsed.name()));
        }
      }
    }
    var m = ID_PREFIX.matcher(r);
    if (m.matches()) {
      String prefix = "sha256:" + m.group(1);
      List<Entry> hits = entries.stream().filter(e -> e.record.id().startsWith(prefix)).toList();
      if (hits.size() == 1) return Optional.of(new Match(hits.get(0), null));
    }
    return Optional.empty();
  }

  // --------------------------------------------------------------------------------------------
  // import

  public List<ImageRecord> importImage(Path path, String nameOrNull) throws ImageException {
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
        throw new ImageException("importing " + src + " failed: " + describe(e), e);
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
    Map<String, Long> knownSizes = layerSizes(entries);
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
        String hex = Digests.hex(diffId);
        // each diff id is unpacked once: reuse the store's copy or one staged earlier in this
        // import
        Long size = stagedSizes.get(diffId);
        if (size == null
            && knownSizes.containsKey(diffId)
            && Files.isDirectory(layers.resolve(hex), LinkOption.NOFOLLOW_LINKS)) {
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
    return Files.exists(staged, LinkOption.NOFOLLOW_LINKS)
        ? staged
        : blobs.resolve(Digests.hex(digest));
  }

  private void stageBytes(Path stagedBlobs, String digest, byte[] bytes) throws IOException {
    String hex = Digests.hex(digest);
    if (Files.exists(blobs.resolve(hex)) || Files.exists(stagedBlobs.resolve(hex))) return;
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
      if (Files.exists(blobs.resolve(hex)))
        return new Digests.Copied(l.digest(), Files.size(blobs.resolve(hex)));
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
    if (Files.exists(blobs.resolve(Digests.hex(c.digest()))) || Files.exists(target)) {
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
    long size = unpackVerified(blob, work, diffId, what);
    Files.move(work, stagedLayers.resolve(Digests.hex(diffId)), StandardCopyOption.ATOMIC_MOVE);
    return size;
  }

  /**
   * Unpacks layer blob {@code blob} into the empty dir {@code work} and checks it is {@code
   * diffId}; returns its size.
   */
  private static long unpackVerified(Path blob, Path work, String diffId, String what)
      throws ImageException, IOException {
    LayerUnpacker.Result r;
    try (InputStream in = Files.newInputStream(blob)) {
      r = LayerUnpacker.unpack(in, work, LayerUnpacker.Mode.LAYER, what);
    }
    if (!r.diffId().equals(diffId)) {
      throw new ImageException(
          what
              + ": diff id mismatch: the config says "
              + diffId
              + ", the content is "
              + r.diffId());
    }
    // overlayfs takes the lowerdir's root attributes for "/" when no upper overrides them: keep it
    // 0755
    Files.setAttribute(work, "unix:mode", 0755);
    return r.size();
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
          Path target = blobs.resolve(p.getFileName());
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
          Path target = layers.resolve(p.getFileName());
          if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            // an orphan from an interrupted run is not trusted over what was just verified
            moveAside(target);
          }
          Files.move(p, target, StandardCopyOption.ATOMIC_MOVE);
          moved.add(target);
        }
      }
      List<Entry> next = new ArrayList<>(entries);
      List<String> ids = new ArrayList<>();
      for (Entry e : imported) {
        merge(next, e);
        if (!ids.contains(e.record.id())) ids.add(e.record.id());
      }
      writeIndex(next);
      entries = List.copyOf(next);
      List<ImageRecord> out = new ArrayList<>();
      for (String id : ids) {
        for (Entry e : entries) if (e.record.id().equals(id)) out.add(e.record);
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

  /**
   * Adds or updates {@code e} in {@code list}; its names move to it from any other image (docker
   * load semantics).
   */
  private static void merge(List<Entry> list, Entry e) {
    Set<String> names = new LinkedHashSet<>();
    Set<String> repoDigests = new LinkedHashSet<>();
    for (Entry o : list) {
      if (o.record.id().equals(e.record.id())) {
        names.addAll(o.record.names());
        repoDigests.addAll(o.record.repoDigests());
      }
    }
    names.addAll(e.record.names());
    repoDigests.addAll(e.record.repoDigests());
    Set<String> otherBlobs = new LinkedHashSet<>(e.otherBlobs);
    Set<String> moving = new HashSet<>(e.record.names());
    for (int i = 0; i < list.size(); i++) {
      Entry o = list.get(i);
      if (o.record.id().equals(e.record.id())) {
        otherBlobs.addAll(o.otherBlobs);
        Entry merged = withNames(o, List.copyOf(names));
        list.set(
            i,
            new Entry(
                withRepoDigests(merged.record, repoDigests),
                merged.layerBlobs,
                merged.layerSizes,
                List.copyOf(otherBlobs)));
        continue;
      }
      List<String> keep = o.record.names().stream().filter(n -> !moving.contains(n)).toList();
      if (keep.size() != o.record.names().size()) list.set(i, withNames(o, keep));
    }
    if (list.stream().noneMatch(o -> o.record.id().equals(e.record.id())))
      list.add(withNames(e, List.copyOf(names)));
  }

  private static Entry withNames(Entry e, List<String> names) {
    ImageRecord r = e.record;
    return new Entry(
        new ImageRecord(
            r.id(),
            names,
            r.size(),
            r.createdAt(),
            r.manifestDigest(),
            r.diffIds(),
            r.repoDigests()),
        e.layerBlobs,
        e.layerSizes,
        e.otherBlobs);
  }

  private static ImageRecord withRepoDigests(ImageRecord r, Set<String> repoDigests) {
    return new ImageRecord(
        r.id(),
        r.names(),
        r.size(),
        r.createdAt(),
        r.manifestDigest(),
        r.diffIds(),
        List.copyOf(repoDigests));
  }

  // ------------------------------------------------------------------------------- pulls (leases)

  /**
   * Protects content a pull is gathering from the garbage collector until the image that references
   * it is committed (containerd's leases). Closing the lease deletes whatever it protected that no
   * image and no other lease references, so a failed pull leaves nothing behind.
   */
  public final class Lease implements AutoCloseable {
    private final Set<String> blobs = new HashSet<>();
    private final Set<String> layers = new HashSet<>();
    private boolean closed;

    private Lease() {}

    /** Keeps blob {@code digest} (present or about to be) out of the collector's reach. */
    public void protectBlob(String digest) {
      synchronized (lock) {
        if (closed) throw new IllegalStateException("lease closed");
        blobs.add(digest);
      }
    }

    public void protectLayer(String diffId) {
      synchronized (lock) {
        if (closed) throw new IllegalStateException("lease closed");
        layers.add(diffId);
      }
    }

    @Override
    public void close() {
      synchronized (lock) {
        if (closed) return;
        closed = true;
        leases.remove(this);
        collect(blobs, layers, Map.of());
      }
    }
  }

  public Lease lease() {
    synchronized (lock) {
      Lease l = new Lease();
      leases.add(l);
      return l;
    }
  }

  /** Whether blob {@code digest} is in the store; protects it first, so the answer stays true. */
  public boolean hasBlob(Lease lease, String digest) {
    lease.protectBlob(digest);
    return Files.isRegularFile(blobs.resolve(Digests.hex(digest)), LinkOption.NOFOLLOW_LINKS);
  }

  /** Free bytes on the store's file system (what downloads and unpacked layers will take up). */
  public long usableSpace() throws IOException {
    return Files.getFileStore(tmp).getUsableSpace();
  }

  /**
   * A new, empty file under tmp/ for a download (same file system as the blobs, so moving it in is
   * atomic).
   */
  public Path newIngestFile() throws IOException {
    return Files.createTempFile(tmp, "ingest-", "");
  }

  /**
   * Moves a verified download into the store as blob {@code digest} (or drops it when another got
   * there first).
   */
  public void putBlob(Lease lease, String digest, Path verified) throws IOException {
    lease.protectBlob(digest);
    synchronized (lock) {
      Path target = blobs.resolve(Digests.hex(Digests.requireUnchecked(digest)));
      if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
        Files.deleteIfExists(verified);
      } else {
        Files.move(verified, target, StandardCopyOption.ATOMIC_MOVE);
      }
    }
  }

  /** Reads a stored blob of at most {@code max} bytes (configs, manifests). */
  public byte[] readBlob(String digest, long max) throws ImageException, IOException {
    return Digests.readSmall(
        blobs.resolve(Digests.hex(Digests.require(digest, "blob"))),
        max,
        "blob " + Digests.shortForm(digest));
  }

  /**
   * Makes sure layer {@code diffId} is unpacked, from blob {@code blobDigest} (which must be in the
   * store); returns its uncompressed size. Unpacking happens outside the store lock, in tmp/.
   */
  public long ensureLayer(Lease lease, String diffId, String blobDigest, String what)
      throws ImageException, IOException {
    lease.protectLayer(diffId);
    String hex = Digests.hex(Digests.require(diffId, what));
    Path target = layers.resolve(hex);
    synchronized (lock) {
      Long known = knownLayerSize(diffId);
      if (known != null && Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) return known;
    }
    if (blobDigest == null)
      throw new ImageException(
          what + ": layer " + Digests.shortForm(diffId) + " is not in the store");
    Path staging = Files.createTempDirectory(tmp, "unpack-");
    try {
      Path work = Files.createDirectory(staging.resolve("layer"));
      long size = unpackVerified(blobs.resolve(Digests.hex(blobDigest)), work, diffId, what);
      synchronized (lock) {
        if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
          if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) moveAside(target);
          Files.move(work, target, StandardCopyOption.ATOMIC_MOVE);
        }
        pendingLayerSizes.put(diffId, size);
      }
      return size;
    } finally {
      try {
        LayerUnpacker.deleteTree(staging);
      } catch (IOException ignored) {
        // tmp/ is emptied at the next start
      }
    }
  }

  /**
   * Whether layer {@code diffId} is unpacked (protect it with the lease first to keep the answer
   * true).
   */
  public boolean hasLayer(String diffId) {
    synchronized (lock) {
      return knownLayerSize(diffId) != null
          && Files.isDirectory(
              layers.resolve(Digests.hex(Digests.requireUnchecked(diffId))),
              LinkOption.NOFOLLOW_LINKS);
    }
  }

  private Long knownLayerSize(String diffId) {
    Long p = pendingLayerSizes.get(diffId);
    if (p != null) return p;
    for (Entry e : entries) {
      int i = e.record.diffIds().indexOf(diffId);
      if (i >= 0) return e.layerSizes.get(i);
    }
    return null;
  }

  /**
   * What a pull fetched, ready to become an image.
   *
   * @param name "repository:tag" it was pulled as, or null when pulled by digest
   * @param repoDigest "repository@sha256:..." (the digest the registry served for the reference)
   * @param indexDigest the image index the manifest was chosen from, or null
   */
  public record Pulled(
      String name,
      String repoDigest,
      String configDigest,
      String manifestDigest,
      String indexDigest,
      List<String> layerBlobs,
      List<String> diffIds,
      List<Long> layerSizes,
      Instant created) {}

  /**
   * Records a pulled image (all its blobs and layers present under {@code lease}); its name moves
   * to it.
   */
  public ImageRecord commitPulled(Lease lease, Pulled p) throws ImageException {
    synchronized (lock) {
      List<String> needed = new ArrayList<>(p.layerBlobs());
      needed.add(p.configDigest());
      needed.add(p.manifestDigest());
      if (p.indexDigest() != null) needed.add(p.indexDigest());
      for (String b : needed) {
        if (!lease.blobs.contains(b)
            || !Files.isRegularFile(blobs.resolve(Digests.hex(b)), LinkOption.NOFOLLOW_LINKS)) {
          throw new ImageException(
              "pulled image is incomplete: blob "
                  + Digests.shortForm(b)
                  + " is missing"
                  + (lease.blobs.contains(b) ? "" : " (not leased)"));
        }
      }
      for (String d : p.diffIds()) {
        if (!lease.layers.contains(d)
            || !Files.isDirectory(layers.resolve(Digests.hex(d)), LinkOption.NOFOLLOW_LINKS)) {
          throw new ImageException(
              "pulled image is incomplete: layer " + Digests.shortForm(d) + " is missing");
        }
      }
      long total = p.layerSizes().stream().mapToLong(Long::longValue).sum();
      ImageRecord rec =
          new ImageRecord(
              p.configDigest(),
              p.name() == null ? List.of() : List.of(p.name()),
              total,
              p.created(),
              p.manifestDigest(),
              p.diffIds(),
              List.of(p.repoDigest()));
      List<Entry> next = new ArrayList<>(entries);
      merge(
          next,
          new Entry(
              rec,
              List.copyOf(p.layerBlobs()),
              List.copyOf(p.layerSizes()),
              p.indexDigest() == null ? List.of() : List.of(p.indexDigest())));
      try {
        publish(next);
      } catch (IOException e) {
        throw new ImageException(
            "recording image " + Digests.shortForm(p.configDigest()) + " failed: " + describe(e),
            e);
      }
      for (String d : p.diffIds()) pendingLayerSizes.remove(d);
      return entries.stream()
          .filter(e -> e.record.id().equals(p.configDigest()))
          .findFirst()
          .orElseThrow()
          .record;
    }
  }

  // ---------------------------------------------------------------------------------- prune and gc

  /** What {@link #prune} and {@link #gc} removed. */
  public record Pruned(List<String> untagged, List<String> deleted, long reclaimedBytes) {}

  /**
   * Removes images no container uses: dangling ones (neither name nor repo digest), or with {@code
   * all} every unused one, like {@code docker image prune [-a]}; then collects unreferenced
   * content.
   */
  public Pruned prune(boolean all, Predicate<String> imageIdInUse) throws ImageException {
    synchronized (lock) {
      Map<String, Long> sizes = layerSizes(entries);
      List<Entry> next = new ArrayList<>();
      List<String> untagged = new ArrayList<>();
      List<String> deleted = new ArrayList<>();
      for (Entry e : entries) {
        boolean inUse = imageIdInUse != null && imageIdInUse.test(e.record.id());
        if (!inUse && (all || e.record.dangling())) {
          untagged.addAll(e.record.names());
          untagged.addAll(e.record.repoDigests());
          deleted.add(e.record.id());
        } else {
          next.add(e);
        }
      }
      if (!deleted.isEmpty()) {
        try {
          publish(next);
        } catch (IOException e) {
          throw new ImageException("pruning images failed: " + describe(e), e);
        }
      }
      long reclaimed = gcLocked(sizes);
      return new Pruned(List.copyOf(untagged), List.copyOf(deleted), reclaimed);
    }
  }

  /**
   * Deletes blobs and unpacked layers that no image and no pull in progress references; returns the
   * bytes freed.
   */
  public long gc() {
    synchronized (lock) {
      return gcLocked(Map.of());
    }
  }

  private long gcLocked(Map<String, Long> formerLayerSizes) {
    Set<String> allBlobs = new HashSet<>();
    Set<String> allLayers = new HashSet<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(blobs)) {
      for (Path p : ds) allBlobs.add("sha256:" + p.getFileName());
    } catch (IOException ignored) {
      // nothing to collect
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(layers)) {
      for (Path p : ds) allLayers.add("sha256:" + p.getFileName());
    } catch (IOException ignored) {
      // nothing to collect
    }
    return collect(allBlobs, allLayers, formerLayerSizes);
  }

  /** Deletes those of the given blobs and layers that nothing references. Caller holds the lock. */
  private long collect(
      Set<String> blobCandidates, Set<String> layerCandidates, Map<String, Long> formerLayerSizes) {
    Set<String> usedBlobs = new HashSet<>();
    Set<String> usedLayers = new HashSet<>();
    for (Entry e : entries) {
      usedBlobs.addAll(e.blobs());
      usedLayers.addAll(e.record.diffIds());
    }
    for (Lease l : leases) {
      usedBlobs.addAll(l.blobs);
      usedLayers.addAll(l.layers);
    }
    long freed = 0;
    for (String b : blobCandidates) {
      if (usedBlobs.contains(b) || !Digests.valid(b)) continue;
      Path f = blobs.resolve(Digests.hex(b));
      try {
        long size = Files.size(f);
        if (Files.deleteIfExists(f)) freed += size;
      } catch (IOException ignored) {
        // gone already, or collected next time
      }
    }
    for (String d : layerCandidates) {
      if (usedLayers.contains(d) || !Digests.valid(d)) continue;
      Path dir = layers.resolve(Digests.hex(d));
      if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) continue;
      Long size = pendingLayerSizes.remove(d);
      if (size == null) size = formerLayerSizes.get(d);
      deleteQuietly(dir);
      if (size != null) freed += size;
    }
    return freed;
  }

  // ----------------------------------------------------------------------------------------------
  // save

  /**
   * Writes {@code ref} as a tar that is both an OCI image layout and a docker-archive (like {@code
   * docker save} since docker 25): {@code oci-layout}, {@code index.json} (one entry per name,
   * annotated with the name) and {@code manifest.json} (docker's list with RepoTags), over the
   * store's own blobs. The file is written to a temporary name and renamed when complete.
   */
  public ImageRecord save(String ref, Path target) throws ImageException {
    Entry e =
        find(entries, ref)
            .orElseThrow(
                () ->
                    new ImageException(
                        ImageException.Reason.NOT_FOUND,
                        "no such image: " + (ref == null ? "" : ref.strip())))
            .entry;
    ImageRecord r = e.record;
    Path out = target.toAbsolutePath().normalize();
    if (out.getParent() == null || !Files.isDirectory(out.getParent())) {
      throw new ImageException(
          ImageException.Reason.INVALID, "cannot save to " + out + ": no such directory");
    }
    if (Files.isDirectory(out))
      throw new ImageException(
          ImageException.Reason.INVALID, "cannot save to " + out + ": is a directory");
    Path temp = out.resolveSibling("." + out.getFileName() + ".berth-save");
    try (Lease lease = lease()) {
      for (String b : e.blobs()) {
        if (!hasBlob(lease, b))
          throw new ImageException(
              "image "
                  + Digests.shortForm(r.id())
                  + " is incomplete: blob "
                  + Digests.shortForm(b)
                  + " is missing");
      }
      byte[] manifest = readBlob(r.manifestDigest(), RegistryClient.MAX_DOCUMENT);
      ObjectNode index = ImageSources.JSON.createObjectNode();
      index.put("schemaVersion", 2);
      index.put("mediaType", ImageSources.OCI_INDEX);
      ArrayNode ms = index.putArray("manifests");
      List<String> names =
          r.names().isEmpty() ? java.util.Collections.singletonList(null) : r.names();
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
      r.names().forEach(tags::add);
      ArrayNode ls = de.putArray("Layers");
      e.layerBlobs.forEach(b -> ls.add("blobs/sha256/" + Digests.hex(b)));
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
          Path f = blobs.resolve(Digests.hex(b));
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
          "saving image " + Digests.shortForm(r.id()) + " to " + out + " failed: " + describe(io),
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

  // --------------------------------------------------------------------------------------------
  // remove

  /**
   * Removes {@code ref}, docker-style. By a name of an image that has several names: only that name
   * goes. Otherwise the image and its names go, and its blobs and layers that no other image uses
   * are deleted. An image a container uses is refused; with {@code force} it loses all its names
   * but its data stays (its layers are mounted under the container) until it is removed by id once
   * no longer in use.
   *
   * @return the removed names and, if the image itself was deleted, its id ("sha256:...")
   */
  public List<String> remove(String ref, boolean force, Predicate<String> imageIdInUse)
      throws ImageException {
    synchronized (lock) {
      Match m =
          find(entries, ref)
              .orElseThrow(
                  () -> new ImageException("no such image: " + (ref == null ? "" : ref.strip())));
      Entry e = m.entry;
      String shortId = Digests.hex(e.record.id()).substring(0, 12);
      List<Entry> next = new ArrayList<>(entries);
      int at = next.indexOf(e);
      try {
        if (m.name != null && e.record.names().size() > 1) {
          next.set(
              at, withNames(e, e.record.names().stream().filter(n -> !n.equals(m.name)).toList()));
          publish(next);
          return List.of(m.name);
        }
        if (m.name == null && e.record.names().size() > 1 && !force) {
          throw new ImageException(
              "unable to delete "
                  + shortId
                  + " (must be forced): image is referenced by "
                  + e.record.names().size()
                  + " names: "
                  + String.join(", ", e.record.names()));
        }
        if (imageIdInUse != null && imageIdInUse.test(e.record.id())) {
          if (!force) {
            throw new ImageException(
                "unable to remove image "
                    + ref.strip()
                    + " (must force): image "
                    + shortId
                    + " is used by a container");
          }
          next.set(at, withNames(e, List.of()));
          publish(next);
          return e.record.names();
        }
        next.remove(at);
        publish(next);
      } catch (IOException io) {
        throw new ImageException("removing image " + shortId + " failed: " + describe(io), io);
      }
      List<String> removed = new ArrayList<>(e.record.names());
      removed.add(e.record.id());
      // The index no longer references the image: deleting its data can only leave orphans, never
      // dangling
      // references, and orphans go at the next start.
      Set<String> usedBlobs = new HashSet<>();
      Set<String> usedLayers = new HashSet<>();
      for (Entry o : entries) {
        usedBlobs.addAll(o.blobs());
        usedLayers.addAll(o.record.diffIds());
      }
      for (Lease l : leases) {
        usedBlobs.addAll(l.blobs);
        usedLayers.addAll(l.layers);
      }
      for (String b : e.blobs()) {
        if (!usedBlobs.contains(b)) deleteQuietly(blobs.resolve(Digests.hex(b)));
      }
      for (String d : e.record.diffIds()) {
        if (!usedLayers.contains(d)) deleteQuietly(layers.resolve(Digests.hex(d)));
      }
      return List.copyOf(removed);
    }
  }

  private void publish(List<Entry> next) throws IOException {
    writeIndex(next);
    entries = List.copyOf(next);
  }

  private void deleteQuietly(Path p) {
    try {
      if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) moveAside(p);
      else Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // an orphan: collected at the next start
    }
  }

  /** Renames a layer dir into tmp/ first (so it vanishes at once), then deletes it. */
  private void moveAside(Path dir) throws IOException {
    Path aside = Files.createTempDirectory(tmp, "rm-").resolve("layer");
    Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
    LayerUnpacker.deleteTree(aside.getParent());
  }

  // ---------------------------------------------------------------------------------------------
  // index

  private List<Entry> loadIndex() throws IOException {
    if (!Files.exists(indexFile)) return List.of();
    JsonNode doc;
    try {
      doc = ImageSources.JSON.readTree(Files.readAllBytes(indexFile));
    } catch (IOException e) {
      throw new IOException("image index " + indexFile + " is corrupt: " + e.getMessage(), e);
    }
    if (doc == null || doc.path("version").asInt(-1) != INDEX_VERSION) {
      throw new IOException(
          "image index "
              + indexFile
              + " has an unknown format (version "
              + (doc == null ? "?" : doc.path("version"))
              + ")");
    }
    List<Entry> out = new ArrayList<>();
    for (JsonNode n : doc.path("images")) {
      try {
        ImageRecord r =
            new ImageRecord(
                n.path("id").asText(),
                strings(n.path("names")),
                n.path("size").asLong(),
                Instant.parse(n.path("createdAt").asText()),
                n.path("manifestDigest").asText(null),
                strings(n.path("diffIds")),
                strings(n.path("repoDigests")));
        List<Long> sizes = new ArrayList<>();
        n.path("layerSizes").forEach(x -> sizes.add(x.asLong()));
        Entry e =
            new Entry(
                r,
                strings(n.path("layerBlobs")),
                List.copyOf(sizes),
                strings(n.path("otherBlobs")));
        for (String d : e.blobs()) Digests.require(d, "image index");
        for (String d : r.diffIds()) Digests.require(d, "image index");
        if (sizes.size() != r.diffIds().size())
          throw new ImageException("layer sizes do not match the layers");
        out.add(e);
      } catch (ImageException | DateTimeParseException e) {
        throw new IOException("image index " + indexFile + " is corrupt: " + e.getMessage(), e);
      }
    }
    return List.copyOf(out);
  }

  private void writeIndex(List<Entry> list) throws IOException {
    ObjectNode doc = ImageSources.JSON.createObjectNode();
    doc.put("version", INDEX_VERSION);
    ArrayNode arr = doc.putArray("images");
    for (Entry e : list) {
      ObjectNode n = arr.addObject();
      ImageRecord r = e.record;
      n.put("id", r.id());
      r.names().forEach(n.putArray("names")::add);
      n.put("size", r.size());
      n.put("createdAt", r.createdAt().toString());
      n.put("manifestDigest", r.manifestDigest());
      r.diffIds().forEach(n.putArray("diffIds")::add);
      e.layerBlobs.forEach(n.putArray("layerBlobs")::add);
      e.layerSizes.forEach(n.putArray("layerSizes")::add);
      if (!r.repoDigests().isEmpty()) r.repoDigests().forEach(n.putArray("repoDigests")::add);
      if (!e.otherBlobs.isEmpty()) e.otherBlobs.forEach(n.putArray("otherBlobs")::add);
    }
    Path temp = root.resolve("index.json.tmp");
    try (FileChannel ch =
            FileChannel.open(
                temp,
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE);
        OutputStream out = java.nio.channels.Channels.newOutputStream(ch)) {
      ImageSources.JSON.writerWithDefaultPrettyPrinter().writeValue(nonClosing(out), doc);
      out.flush();
      ch.force(true); // the rename below must never publish an index whose bytes are not on disk
    }
    try {
      Files.move(
          temp, indexFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(temp, indexFile, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static OutputStream nonClosing(OutputStream out) {
    return new java.io.FilterOutputStream(out) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
      }

      @Override
      public void close() throws IOException {
        out.flush();
      }
    };
  }

  private static Map<String, Long> layerSizes(List<Entry> list) {
    Map<String, Long> m = new HashMap<>();
    for (Entry e : list) {
      for (int i = 0; i < e.record.diffIds().size(); i++)
        m.put(e.record.diffIds().get(i), e.layerSizes.get(i));
    }
    return m;
  }

  /** Deletes blobs and layers no image references (what an interrupted import or removal left). */
  private void collectOrphans() throws IOException {
    Set<String> usedBlobs = new HashSet<>();
    Set<String> usedLayers = new HashSet<>();
    for (Entry e : entries) {
      e.blobs().forEach(b -> usedBlobs.add(Digests.hex(b)));
      e.record.diffIds().forEach(d -> usedLayers.add(Digests.hex(d)));
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(blobs)) {
      for (Path p : ds)
        if (!usedBlobs.contains(p.getFileName().toString())) LayerUnpacker.removeExisting(p);
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(layers)) {
      for (Path p : ds) if (!usedLayers.contains(p.getFileName().toString())) moveAside(p);
    }
  }

  private static String describe(IOException e) {
    String m = e.getMessage();
    if (e instanceof FileSystemException fse && fse.getReason() != null) {
      return e.getClass().getSimpleName().replace("Exception", "")
          + ": "
          + fse.getFile()
          + ": "
          + fse.getReason();
    }
    if (e instanceof FileSystemException) {
      return e.getClass().getSimpleName().replace("Exception", "") + ": " + m;
    }
    return m == null ? e.getClass().getSimpleName() : m;
  }
}
