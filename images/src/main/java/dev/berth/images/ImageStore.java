package dev.berth.images;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.images.ImageIndex.Entry;
import dev.berth.images.ImageIndex.Match;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.Predicate;

/**
 * The local image store, the one entry point other modules use. Behind it, one class per concern
 * (containerd's split):
 *
 * <ul>
 *   <li>{@link ContentStore}: content-addressed blobs and the ingest area for downloads;
 *   <li>{@link LayerStore}: layers unpacked once per diff id;
 *   <li>{@link ImageIndex}: images, their names and references, persisted in index.json;
 *   <li>{@link Leases} and {@link GarbageCollector}: what is about to be referenced, and the
 *       deletion of what nothing references;
 *   <li>{@link ImageArchives}: import of OCI layouts and docker-archives, save.
 * </ul>
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
 * <p>Thread safety: mutations (import, remove, prune, commits, lease changes) are serialized on one
 * lock, the store lock; readers work on an immutable snapshot of the index and never block.
 */
public final class ImageStore {
  /**
   * How long a container create's lease on its image lasts when nobody releases it (the create died
   * between resolving its image and recording the container).
   */
  static final Duration CREATE_LEASE_TTL = Duration.ofMinutes(5);

  private final Object lock = new Object();
  private final ContentStore content;
  private final LayerStore layers;
  private final ImageIndex index;
  private final Leases leases;
  private final GarbageCollector gc;
  private final ImageArchives archives;

  public ImageStore(Path root) throws IOException {
    this(root, System::nanoTime);
  }

  /** With the clock leases expire by ({@code System.nanoTime()} scale), for tests. */
  ImageStore(Path root, LongSupplier nanoClock) throws IOException {
    Path r = root.toAbsolutePath().normalize();
    Path tmp = r.resolve("tmp");
    this.content = new ContentStore(r.resolve("blobs").resolve("sha256"), tmp);
    this.layers = new LayerStore(r.resolve("layers"), tmp);
    Files.createDirectories(tmp);
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(tmp)) {
      for (Path p : ds) LayerUnpacker.removeExisting(p);
    }
    this.index = ImageIndex.open(r);
    this.leases = new Leases(lock, nanoClock);
    this.gc = new GarbageCollector(content, layers, index, leases);
    leases.collectWith((b, l) -> gc.collect(b, l, Map.of()));
    this.archives = new ImageArchives(lock, tmp, content, layers, index, leases);
    gc.collectOrphans();
  }

  // -------------------------------------------------------------------------------------------
  // queries

  public List<ImageRecord> list() {
    return index.entries().stream().map(Entry::record).toList();
  }

  public Optional<ImageRecord> resolve(String ref) {
    return index.find(ref).map(m -> m.entry().record());
  }

  public ImageConfig config(ImageRecord image) throws ImageException {
    Path file = content.path(Digests.require(image.id(), "image"));
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
    List<String> exposed = new java.util.ArrayList<>();
    c.path("ExposedPorts").fieldNames().forEachRemaining(exposed::add);
    return new ImageConfig(
        ImageIndex.strings(c.path("Entrypoint")),
        ImageIndex.strings(c.path("Cmd")),
        ImageIndex.strings(c.path("Env")),
        c.path("WorkingDir").asText(""),
        c.path("User").asText(""),
        labels,
        exposed);
  }

  /** The unpacked layer directories of {@code image}, lowest first. */
  public List<Path> layerDirs(ImageRecord image) {
    return layers.dirs(image.diffIds());
  }

  // --------------------------------------------------------------------------------------------
  // import and save

  public List<ImageRecord> importImage(Path path, String nameOrNull) throws ImageException {
    return archives.importImage(path, nameOrNull);
  }

  /**
   * Writes {@code ref} as a tar that is both an OCI image layout and a docker-archive (like {@code
   * docker save} since docker 25). The file is written to a temporary name and renamed when
   * complete.
   */
  public ImageRecord save(String ref, Path target) throws ImageException {
    return archives.save(ref, target);
  }

  static Instant created(JsonNode config) {
    return ImageArchives.created(config);
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
    return remove(ref, force, imageIdInUse, usageMark());
  }

  /**
   * {@link #remove(String, boolean, Predicate)} with an in-use check taken after {@code mark} (see
   * {@link #usageMark()}): an image leased by a container create now, or since the mark, counts as
   * used by a container.
   */
  public List<String> remove(String ref, boolean force, Predicate<String> imageIdInUse, long mark)
      throws ImageException {
    synchronized (lock) {
      leases.expire();
      Set<String> leased = leases.protectedImages(mark);
      Match m =
          index
              .find(ref)
              .orElseThrow(
                  () -> new ImageException("no such image: " + (ref == null ? "" : ref.strip())));
      Entry e = m.entry();
      String shortId = Digests.hex(e.record().id()).substring(0, 12);
      List<Entry> next = new ArrayList<>(index.entries());
      int at = next.indexOf(e);
      try {
        if (m.name() != null && e.record().names().size() > 1) {
          next.set(
              at,
              ImageIndex.withNames(
                  e, e.record().names().stream().filter(n -> !n.equals(m.name())).toList()));
          index.publish(next);
          return List.of(m.name());
        }
        if (m.name() == null && e.record().names().size() > 1 && !force) {
          throw new ImageException(
              "unable to delete "
                  + shortId
                  + " (must be forced): image is referenced by "
                  + e.record().names().size()
                  + " names: "
                  + String.join(", ", e.record().names()));
        }
        if (leased.contains(e.record().id())
            || (imageIdInUse != null && imageIdInUse.test(e.record().id()))) {
          if (!force) {
            throw new ImageException(
                "unable to remove image "
                    + ref.strip()
                    + " (must force): image "
                    + shortId
                    + " is used by a container");
          }
          next.set(at, ImageIndex.withNames(e, List.of()));
          index.publish(next);
          return e.record().names();
        }
        next.remove(at);
        index.publish(next);
      } catch (IOException io) {
        throw new ImageException(
            "removing image " + shortId + " failed: " + ImageException.describe(io), io);
      }
      List<String> removed = new ArrayList<>(e.record().names());
      removed.add(e.record().id());
      // The index no longer references the image: deleting its data can only leave orphans, never
      // dangling references, and orphans go at the next start.
      gc.collect(e.blobs(), new HashSet<>(e.record().diffIds()), Map.of());
      return List.copyOf(removed);
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
    return prune(all, imageIdInUse, usageMark());
  }

  /**
   * {@link #prune(boolean, Predicate)} with an in-use check taken after {@code mark} (see {@link
   * #usageMark()}): an image leased by a container create now, or since the mark, is kept.
   */
  public Pruned prune(boolean all, Predicate<String> imageIdInUse, long mark)
      throws ImageException {
    synchronized (lock) {
      leases.expire();
      Set<String> leased = leases.protectedImages(mark);
      Map<String, Long> sizes = index.layerSizes();
      List<Entry> next = new ArrayList<>();
      List<String> untagged = new ArrayList<>();
      List<String> deleted = new ArrayList<>();
      for (Entry e : index.entries()) {
        boolean inUse =
            leased.contains(e.record().id())
                || (imageIdInUse != null && imageIdInUse.test(e.record().id()));
        if (!inUse && (all || e.record().dangling())) {
          untagged.addAll(e.record().names());
          untagged.addAll(e.record().repoDigests());
          deleted.add(e.record().id());
        } else {
          next.add(e);
        }
      }
      if (!deleted.isEmpty()) {
        try {
          index.publish(next);
        } catch (IOException e) {
          throw new ImageException("pruning images failed: " + ImageException.describe(e), e);
        }
      }
      long reclaimed = gc.collectAll(sizes);
      return new Pruned(List.copyOf(untagged), List.copyOf(deleted), reclaimed);
    }
  }

  /**
   * Deletes blobs and unpacked layers that no image and no lease references; returns the bytes
   * freed.
   */
  public long gc() {
    synchronized (lock) {
      leases.expire();
      return gc.collectAll(Map.of());
    }
  }

  // ------------------------------------------------------------------- container creates (leases)

  /**
   * Leases image {@code imageId} for a container create, as lease {@code leaseId} (the container's
   * id): from the moment its spec resolved the image until the container is recorded, {@code prune}
   * and {@code rm} treat the image as used by a container (the in-use check cannot see a container
   * that is not recorded yet). Released by {@link #release}, or by itself after {@link
   * #CREATE_LEASE_TTL}; a second lease with the same id replaces the first.
   *
   * @throws ImageException (NOT_FOUND) when the image is no longer in the store
   */
  public void leaseImage(String leaseId, String imageId) throws ImageException {
    synchronized (lock) {
      Entry e =
          index
              .byId(imageId)
              .orElseThrow(
                  () ->
                      new ImageException(
                          ImageException.Reason.NOT_FOUND, "no such image: " + imageId));
      leases.openForImage(leaseId, imageId, e.blobs(), e.record().diffIds(), CREATE_LEASE_TTL);
    }
  }

  /** Releases lease {@code leaseId}, if it is still held; false when it was not. */
  public boolean release(String leaseId) {
    return leases.release(leaseId);
  }

  /**
   * A point in the history of image leases. Take it before checking which images containers use,
   * and pass it with that check to {@link #prune(boolean, Predicate, long)} or {@link
   * #remove(String, boolean, Predicate, long)}: a container recorded after the check but whose
   * create lease was released before the prune ran is then still seen.
   */
  public long usageMark() {
    return leases.mark();
  }

  // ------------------------------------------------------------------------------- pulls (leases)

  /** A lease for a pull: its owner closes it once the image is committed (or the pull failed). */
  public Lease lease() {
    return leases.open();
  }

  /** Whether blob {@code digest} is in the store; protects it first, so the answer stays true. */
  public boolean hasBlob(Lease lease, String digest) {
    lease.protectBlob(digest);
    return content.has(digest);
  }

  /** Free bytes on the store's file system (what downloads and unpacked layers will take up). */
  public long usableSpace() throws IOException {
    return content.usableSpace();
  }

  /**
   * A new, empty file under tmp/ for a download (same file system as the blobs, so moving it in is
   * atomic).
   */
  public Path newIngestFile() throws IOException {
    return content.newIngestFile();
  }

  /**
   * Moves a verified download into the store as blob {@code digest} (or drops it when another got
   * there first).
   */
  public void putBlob(Lease lease, String digest, Path verified) throws IOException {
    lease.protectBlob(digest);
    synchronized (lock) {
      content.put(digest, verified);
    }
  }

  /** Reads a stored blob of at most {@code max} bytes (configs, manifests). */
  public byte[] readBlob(String digest, long max) throws ImageException, IOException {
    return content.read(digest, max);
  }

  /**
   * Makes sure layer {@code diffId} is unpacked, from blob {@code blobDigest} (which must be in the
   * store); returns its uncompressed size. Unpacking happens outside the store lock, in tmp/.
   */
  public long ensureLayer(Lease lease, String diffId, String blobDigest, String what)
      throws ImageException, IOException {
    lease.protectLayer(diffId);
    Digests.require(diffId, what);
    synchronized (lock) {
      Long known = knownLayerSize(diffId);
      if (known != null && layers.isUnpacked(diffId)) return known;
    }
    if (blobDigest == null)
      throw new ImageException(
          what + ": layer " + Digests.shortForm(diffId) + " is not in the store");
    return layers.unpack(diffId, content.path(blobDigest), what, lock);
  }

  /**
   * Whether layer {@code diffId} is unpacked (protect it with the lease first to keep the answer
   * true).
   */
  public boolean hasLayer(String diffId) {
    synchronized (lock) {
      return knownLayerSize(diffId) != null && layers.isUnpacked(Digests.requireUnchecked(diffId));
    }
  }

  private Long knownLayerSize(String diffId) {
    Long p = layers.pendingSize(diffId);
    return p != null ? p : index.layerSize(diffId);
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
        if (!lease.protects(b) || !content.has(b)) {
          throw new ImageException(
              "pulled image is incomplete: blob "
                  + Digests.shortForm(b)
                  + " is missing"
                  + (lease.protects(b) ? "" : " (not leased)"));
        }
      }
      for (String d : p.diffIds()) {
        if (!lease.protectsLayer(d) || !layers.isUnpacked(d)) {
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
      List<Entry> next = new ArrayList<>(index.entries());
      ImageIndex.merge(
          next,
          new Entry(
              rec,
              List.copyOf(p.layerBlobs()),
              List.copyOf(p.layerSizes()),
              p.indexDigest() == null ? List.of() : List.of(p.indexDigest())));
      try {
        index.publish(next);
      } catch (IOException e) {
        throw new ImageException(
            "recording image "
                + Digests.shortForm(p.configDigest())
                + " failed: "
                + ImageException.describe(e),
            e);
      }
      for (String d : p.diffIds()) layers.forgetPending(d);
      return index.byId(p.configDigest()).orElseThrow().record();
    }
  }
}
