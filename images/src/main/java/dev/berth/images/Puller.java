package dev.berth.images;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Pulls images from registries into the {@link ImageStore} (OCI distribution and image specs):
 * reference → manifest (an image index or manifest list picks the platform) → config → layers,
 * fetched in parallel, streamed to disk and verified while streaming, unpacked once per diff id,
 * and only then recorded under the name pulled.
 *
 * <p>Concurrent pulls share work: a blob or layer another pull is already fetching or unpacking is
 * waited for, not fetched again. Everything a pull gathers is held by a store {@link Lease} until
 * the image is recorded, so the garbage collector cannot take it away mid-pull and a failed pull
 * leaves nothing behind.
 */
public final class Puller implements AutoCloseable {
  static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
  static final String OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
  static final String DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
  static final String DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar";
  private static final Set<String> LAYER_TYPES =
      Set.of(
          ImageSources.OCI_LAYER,
          ImageSources.OCI_LAYER_GZIP,
          OCI_LAYER_ZSTD,
          DOCKER_LAYER_GZIP,
          DOCKER_LAYER);
  private static final Set<String> FOREIGN_LAYER_TYPES =
      Set.of(
          "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
          "application/vnd.oci.image.layer.nondistributable.v1.tar",
          "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
          "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd");
  private static final Set<String> SCHEMA1_TYPES =
      Set.of(
          "application/vnd.docker.distribution.manifest.v1+json",
          "application/vnd.docker.distribution.manifest.v1+prettyjws");

  /** A layer claiming more than this is refused before anything is fetched. */
  static final long MAX_LAYER = 64L << 30;

  private static final long PROGRESS_EVERY_NANOS = 100_000_000L;

  /**
   * Pull progress, docker-style: {@code id} is a short layer digest, or "" for lines about the
   * whole image.
   */
  @FunctionalInterface
  public interface Listener {
    void progress(String id, String status, long current, long total);
  }

  /** A platform to pick from an image index: os/architecture[/variant]. */
  public record Platform(String os, String architecture, String variant) {
    public static Platform host() {
      return new Platform("linux", ImageSources.hostArch(), null);
    }

    public static Platform parse(String s) throws ImageException {
      if (s == null || s.isBlank()) return host();
      String[] p = s.strip().toLowerCase(Locale.ROOT).split("/");
      if (p.length < 2
          || p.length > 3
          || p[0].isEmpty()
          || p[1].isEmpty()
          || (p.length == 3 && p[2].isEmpty())) {
        throw new ImageException(
            ImageException.Reason.INVALID,
            "invalid platform \"" + s.strip() + "\": expected OS/ARCH[/VARIANT], e.g. linux/amd64");
      }
      return new Platform(p[0], normalizeArch(p[1]), p.length == 3 ? p[2] : null);
    }

    boolean matches(JsonNode p) {
      if (!os.equals(p.path("os").asText())
          || !architecture.equals(normalizeArch(p.path("architecture").asText()))) return false;
      return variant == null || variant.equals(p.path("variant").asText(null));
    }

    @Override
    public String toString() {
      return os + "/" + architecture + (variant == null ? "" : "/" + variant);
    }

    private static String normalizeArch(String a) {
      return switch (a) {
        case "x86_64", "x86-64" -> "amd64";
        case "aarch64" -> "arm64";
        default -> a;
      };
    }
  }

  private final ImageStore store;
  private final RegistryClient client;
  private final RegistryCredentials credentials;
  private final ExecutorService workers =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "berth-pull");
            t.setDaemon(true);
            return t;
          });
  private final ConcurrentHashMap<String, CompletableFuture<Void>> blobsInFlight =
      new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, CompletableFuture<Void>> layersInFlight =
      new ConcurrentHashMap<>();

  /**
   * @param credentials stored logins; may be null (anonymous unless a pull brings its own)
   */
  public Puller(ImageStore store, RegistryConfig config, RegistryCredentials credentials) {
    this.store = store;
    this.client = new RegistryClient(config);
    this.credentials = credentials;
  }

  @Override
  public void close() {
    workers.shutdownNow();
    client.close();
  }

  public RegistryConfig config() {
    return client.config();
  }

  // ---------------------------------------------------------------------------------------- login

  /**
   * Checks credentials with the registry and stores them (docker login). {@code server} is a
   * registry host; empty means the default registry.
   *
   * @return the registry host the credentials were stored for
   */
  public String login(String server, RegistryCredentials.Credentials c) throws ImageException {
    if (credentials == null) throw new ImageException("this daemon keeps no credentials");
    String registry = registryHost(server);
    if (c.username().isBlank())
      throw new ImageException(ImageException.Reason.INVALID, "a username is required");
    if (c.password().isEmpty())
      throw new ImageException(ImageException.Reason.INVALID, "a password is required");
    client.login(registry, c);
    credentials.put(registry, c);
    return registry;
  }

  /**
   * @return whether credentials were stored for the registry
   */
  public boolean logout(String server) throws ImageException {
    if (credentials == null) return false;
    return credentials.remove(registryHost(server));
  }

  private String registryHost(String server) throws ImageException {
    if (server == null || server.isBlank()) return config().defaultRegistry();
    String s =
        server
            .strip()
            .toLowerCase(Locale.ROOT)
            .replaceFirst("^https?://", "")
            .replaceAll("/.*$", "");
    if (s.equals("index.docker.io") || s.equals("registry-1.docker.io"))
      s = RegistryConfig.DOCKER_HUB;
    if (!s.matches("[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?"))
      throw new ImageException(
          ImageException.Reason.INVALID, "invalid registry address \"" + server.strip() + "\"");
    return s;
  }

  // ----------------------------------------------------------------------------------------- pull

  /**
   * Pulls {@code reference} (docker's grammar: {@code busybox}, {@code host:5000/team/app:1},
   * {@code name@sha256:...}) for {@code platform} (null: the host's).
   *
   * @param explicit credentials for this pull only; null: the stored login for the registry, if any
   */
  public ImageRecord pull(
      String reference,
      Platform platform,
      RegistryCredentials.Credentials explicit,
      Listener listener)
      throws ImageException {
    String refText = reference == null ? "" : reference.strip();
    References.Ref ref = References.parse(refText);
    if (ref == null) {
      throw new ImageException(
          ImageException.Reason.INVALID,
          refText.isEmpty()
              ? "an image reference is required"
              : "invalid reference format: \""
                  + refText
                  + "\""
                  + (refText.equals(refText.toLowerCase(Locale.ROOT))
                      ? ""
                      : " (repository names must be lowercase)"));
    }
    Platform wanted = platform == null ? Platform.host() : platform;
    RegistryConfig config = config();
    String registry = config.registryOf(ref);
    RegistryCredentials.Credentials creds =
        explicit != null
            ? explicit
            : credentials == null ? null : credentials.get(registry).orElse(null);
    RegistryClient.Repo repo = new RegistryClient.Repo(registry, config.remotePath(ref), creds);
    String tagOrDigest = ref.digest() != null ? ref.digest() : ref.tag();
    Listener out = safe(listener);
    out.progress("", tagOrDigest + ": Pulling from " + repo.path(), 0, 0);

    RegistryClient.Manifest top = client.manifest(repo, tagOrDigest);
    RegistryClient.Manifest manifest = top;
    String indexDigest = null;
    if (isIndex(top)) {
      indexDigest = top.digest();
      JsonNode desc = choosePlatform(top, wanted, refText);
      String digest = Digests.require(desc.path("digest").asText(null), "image index entry");
      long size = desc.path("size").asLong(-1);
      if (size > RegistryClient.MAX_DOCUMENT)
        throw new ImageException(
            refText
                + ": manifest "
                + Digests.shortForm(digest)
                + " is too large ("
                + size
                + " bytes)");
      manifest = client.manifest(repo, digest);
      if (size >= 0 && size != manifest.bytes().length) {
        throw new ImageException(
            refText
                + ": manifest "
                + Digests.shortForm(digest)
                + ": size mismatch: the index says "
                + size
                + " bytes, the registry sent "
                + manifest.bytes().length);
      }
      if (isIndex(manifest))
        throw new ImageException(
            refText + ": image indexes nested in image indexes are not supported");
    }
    ImageManifest m = ImageManifest.parse(manifest, refText);

    try (Lease lease = store.lease()) {
      AtomicBoolean downloaded = new AtomicBoolean();
      // the config is small, but a blob like any other: shared with concurrent pulls, verified
      fetchBlobOnce(
          lease, repo, m.configDigest, m.configSize, null, out, downloaded, "config of " + refText);
      JsonNode imageConfig =
          ImageSources.parse(
              store.readBlob(m.configDigest, RegistryClient.MAX_CONFIG),
              "config " + Digests.shortForm(m.configDigest));
      List<String> diffIds = ImageSources.diffIds(imageConfig, m.configDigest, m.layers.size());
      if (indexDigest == null) checkPlatform(imageConfig, wanted, refText);
      checkSpace(m);
      putDocument(lease, manifest.digest(), manifest.bytes());
      if (indexDigest != null) putDocument(lease, top.digest(), top.bytes());

      List<Long> sizes = fetchLayers(lease, repo, m, diffIds, out, downloaded, refText);
      String name = ref.digest() == null ? ref.name() : null;
      // "up to date" only when the name already meant this very image; a name that is new or
      // moves to it was just created, whatever blobs were already here (docker's wording).
      boolean nameWasCurrent =
          name != null
              && store
                  .resolve(name)
                  .map(before -> before.id().equals(m.configDigest))
                  .orElse(false);
      ImageRecord rec =
          store.commitPulled(
              lease,
              new ImageStore.Pulled(
                  name,
                  ref.repository() + "@" + top.digest(),
                  m.configDigest,
                  manifest.digest(),
                  indexDigest,
                  m.layerDigests(),
                  diffIds,
                  sizes,
                  ImageStore.created(imageConfig)));
      out.progress("", "Digest: " + top.digest(), 0, 0);
      String shown = name != null ? name : ref.repository() + "@" + ref.digest();
      out.progress(
          "",
          (downloaded.get() || !nameWasCurrent
                  ? "Status: Downloaded newer image for "
                  : "Status: Image is up to date for ")
              + shown,
          0,
          0);
      return rec;
    } catch (IOException e) {
      throw new ImageException(
          refText + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()),
          e);
    }
  }

  private static Listener safe(Listener l) {
    if (l == null) return (id, s, c, t) -> {};
    return (id, s, c, t) -> {
      try {
        l.progress(id, s, c, t);
      } catch (RuntimeException ignored) {
        // a watcher that went away does not stop the pull (its result is shared with any later one)
      }
    };
  }

  private static boolean isIndex(RegistryClient.Manifest m) throws ImageException {
    String t = m.mediaType();
    if (t.equals(ImageSources.OCI_INDEX) || t.equals(ImageSources.DOCKER_LIST)) return true;
    if (t.equals(ImageSources.OCI_MANIFEST) || t.equals(ImageSources.DOCKER_MANIFEST)) return false;
    if (SCHEMA1_TYPES.contains(t)) {
      throw new ImageException(
          "manifest "
              + Digests.shortForm(m.digest())
              + " uses docker schema 1, which is not supported (push the image again with a current client)");
    }
    if (!t.isEmpty()) {
      throw new ImageException(
          "manifest "
              + Digests.shortForm(m.digest())
              + " has an unsupported media type \""
              + shorten(t)
              + "\" (not a container image)");
    }
    JsonNode doc = ImageSources.parse(m.bytes(), "manifest " + Digests.shortForm(m.digest()));
    if (t.isEmpty() && doc.has("manifests")) return true;
    if (t.isEmpty() && doc.has("layers")) return false;
    throw new ImageException(
        "manifest "
            + Digests.shortForm(m.digest())
            + " has an unsupported media type \""
            + (t.isEmpty() ? "none" : shorten(t))
            + "\" (not a container image)");
  }

  private static JsonNode choosePlatform(
      RegistryClient.Manifest index, Platform wanted, String refText) throws ImageException {
    JsonNode doc =
        ImageSources.parse(index.bytes(), "image index " + Digests.shortForm(index.digest()));
    JsonNode ms = doc.path("manifests");
    if (!ms.isArray() || ms.isEmpty())
      throw new ImageException(refText + ": the image index lists no manifests");
    JsonNode fallback = null;
    for (JsonNode d : ms) {
      String t = d.path("mediaType").asText("");
      if (!t.isEmpty()
          && !t.equals(ImageSources.OCI_MANIFEST)
          && !t.equals(ImageSources.DOCKER_MANIFEST)) continue; // attestations etc.
      if (wanted.matches(d.path("platform"))) return d;
      // an amd64 entry without a variant matches "linux/amd64/v2" requests loosely, like containerd
      if (fallback == null
          && wanted.variant() != null
          && new Platform(wanted.os(), wanted.architecture(), null).matches(d.path("platform")))
        fallback = d;
    }
    if (fallback != null) return fallback;
    throw new ImageException(
        ImageException.Reason.NOT_FOUND,
        "no matching manifest for " + wanted + " in the manifest list entries of " + refText);
  }

  private static void checkPlatform(JsonNode config, Platform wanted, String refText)
      throws ImageException {
    String os = config.path("os").asText("");
    String arch = config.path("architecture").asText("");
    if (os.isEmpty() || arch.isEmpty()) return; // nothing to check against
    if (!wanted.matches(config)) {
      if (wanted.variant() != null
          && new Platform(wanted.os(), wanted.architecture(), null).matches(config)) return;
      throw new ImageException(
          refText
              + " is for "
              + os
              + "/"
              + arch
              + ", which does not match the requested platform "
              + wanted);
    }
  }

  private void checkSpace(ImageManifest m) throws ImageException, IOException {
    long need = 0;
    for (Layer l : m.layers) need += l.size;
    long free = store.usableSpace();
    if (need > free) {
      throw new ImageException(
          "not enough disk space for the layers: they take "
              + need
              + " bytes compressed, "
              + free
              + " are free");
    }
  }

  private void putDocument(Lease lease, String digest, byte[] bytes) throws IOException {
    if (store.hasBlob(lease, digest)) return;
    Path f = store.newIngestFile();
    Files.write(f, bytes);
    store.putBlob(lease, digest, f);
  }

  /**
   * Downloads (at most maxConcurrentDownloads at once) and unpacks every layer; returns the
   * unpacked sizes.
   */
  private List<Long> fetchLayers(
      Lease lease,
      RegistryClient.Repo repo,
      ImageManifest m,
      List<String> diffIds,
      Listener out,
      AtomicBoolean downloaded,
      String refText)
      throws ImageException {
    Semaphore slots = new Semaphore(config().maxConcurrentDownloads());
    AtomicBoolean failed = new AtomicBoolean();
    List<Future<Long>> tasks = new ArrayList<>();
    for (int i = 0; i < m.layers.size(); i++) {
      Layer l = m.layers.get(i);
      String diffId = diffIds.get(i);
      String id = Digests.hex(l.digest).substring(0, 12);
      String what =
          "layer " + (i + 1) + " of " + refText + " (" + Digests.shortForm(l.digest) + ")";
      out.progress(id, "Pulling fs layer", 0, l.size);
      tasks.add(
          workers.submit(
              () -> {
                if (failed.get()) throw new ImageException(what + ": cancelled");
                lease.protectLayer(diffId);
                if (store.hasLayer(diffId) && store.hasBlob(lease, l.digest)) {
                  out.progress(id, "Already exists", 0, 0);
                  return store.ensureLayer(lease, diffId, null, what);
                }
                slots.acquireUninterruptibly();
                try {
                  fetchBlobOnce(lease, repo, l.digest, l.size, id, out, downloaded, what);
                } finally {
                  slots.release();
                }
                return unpackOnce(lease, diffId, l.digest, id, out, what);
              }));
    }
    List<Long> sizes = new ArrayList<>();
    ImageException first = null;
    for (Future<Long> f : tasks) {
      try {
        sizes.add(f.get());
      } catch (ExecutionException e) {
        failed.set(true);
        if (first == null) {
          Throwable c = e.getCause();
          first =
              c instanceof ImageException ie
                  ? ie
                  : new ImageException(
                      refText + ": " + (c.getMessage() == null ? c.toString() : c.getMessage()), c);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ImageException(refText + ": interrupted");
      }
    }
    if (first != null) throw first;
    return sizes;
  }

  /**
   * Brings blob {@code digest} into the store, or waits for a concurrent pull that is already doing
   * it.
   */
  private void fetchBlobOnce(
      Lease lease,
      RegistryClient.Repo repo,
      String digest,
      long size,
      String id,
      Listener out,
      AtomicBoolean downloaded,
      String what)
      throws ImageException, IOException {
    for (int round = 0; ; round++) {
      if (store.hasBlob(lease, digest)) { // also protects it from here on
        if (id != null) out.progress(id, "Download complete", size, size);
        return;
      }
      CompletableFuture<Void> mine = new CompletableFuture<>();
      CompletableFuture<Void> other = blobsInFlight.putIfAbsent(digest, mine);
      if (other != null) {
        if (id != null) out.progress(id, "Waiting", 0, size);
        try {
          other.join();
        } catch (CompletionException e) {
          if (round >= 1) throw asImageException(e.getCause(), what);
          // the other pull failed (its own credentials, a cancelled client...): try ourselves
        }
        continue;
      }
      try {
        Path tmp = store.newIngestFile();
        long[] last = {0};
        client.blob(
            repo,
            digest,
            size,
            tmp,
            n -> {
              long now = System.nanoTime();
              if (id != null && (now - last[0] >= PROGRESS_EVERY_NANOS || n == size)) {
                last[0] = now;
                out.progress(id, "Downloading", n, size);
              }
            },
            what);
        if (id != null) out.progress(id, "Verifying Checksum", size, size);
        store.putBlob(lease, digest, tmp);
        downloaded.set(true);
        if (id != null) out.progress(id, "Download complete", size, size);
        mine.complete(null);
        return;
      } catch (ImageException | IOException | RuntimeException e) {
        mine.completeExceptionally(e);
        throw e;
      } finally {
        blobsInFlight.remove(digest, mine);
      }
    }
  }

  private long unpackOnce(
      Lease lease, String diffId, String blobDigest, String id, Listener out, String what)
      throws ImageException, IOException {
    while (true) {
      CompletableFuture<Void> mine = new CompletableFuture<>();
      CompletableFuture<Void> other = layersInFlight.putIfAbsent(diffId, mine);
      if (other != null) {
        try {
          other.join();
        } catch (CompletionException ignored) {
          // unpack it ourselves
        }
        continue;
      }
      try {
        out.progress(id, "Extracting", 0, 0);
        long size = store.ensureLayer(lease, diffId, blobDigest, what);
        out.progress(id, "Pull complete", 0, 0);
        mine.complete(null);
        return size;
      } catch (ImageException | IOException | RuntimeException e) {
        mine.completeExceptionally(e);
        throw e;
      } finally {
        layersInFlight.remove(diffId, mine);
      }
    }
  }

  private static ImageException asImageException(Throwable t, String what) {
    if (t instanceof ImageException ie) return ie;
    return new ImageException(
        what + ": " + (t == null || t.getMessage() == null ? String.valueOf(t) : t.getMessage()),
        t);
  }

  private static String shorten(String s) {
    String clean = s.replaceAll("\\p{Cntrl}", "?");
    return clean.length() > 100 ? clean.substring(0, 100) + "..." : clean;
  }

  // ------------------------------------------------------------------------------------- manifest

  private record Layer(String digest, long size, String mediaType) {}

  /** An image manifest (OCI or docker schema 2), validated before anything it names is fetched. */
  private static final class ImageManifest {
    String configDigest;
    long configSize;
    final List<Layer> layers = new ArrayList<>();

    List<String> layerDigests() {
      return layers.stream().map(Layer::digest).toList();
    }

    static ImageManifest parse(RegistryClient.Manifest raw, String refText) throws ImageException {
      String what = "manifest " + Digests.shortForm(raw.digest());
      JsonNode doc = ImageSources.parse(raw.bytes(), what);
      if (doc.path("schemaVersion").asInt(-1) != 2) {
        throw new ImageException(
            what + ": unsupported schemaVersion " + doc.path("schemaVersion").asText("(none)"));
      }
      ImageManifest m = new ImageManifest();
      JsonNode cfg = doc.path("config");
      if (!cfg.isObject()) throw new ImageException(what + " has no config");
      String cfgType = cfg.path("mediaType").asText("");
      if (!cfgType.equals(ImageSources.OCI_CONFIG) && !cfgType.equals(DOCKER_CONFIG)) {
        throw new ImageException(
            refText + " is not a container image (config media type \"" + shorten(cfgType) + "\")");
      }
      m.configDigest = Digests.require(cfg.path("digest").asText(null), what + " config");
      m.configSize = size(cfg, what + " config", RegistryClient.MAX_CONFIG);
      JsonNode ls = doc.path("layers");
      if (!ls.isArray()) throw new ImageException(what + ": \"layers\" is not a list");
      if (ls.size() > 1000)
        throw new ImageException(what + " has " + ls.size() + " layers (more than 1000)");
      for (JsonNode l : ls) {
        String t = l.path("mediaType").asText("");
        String d = Digests.require(l.path("digest").asText(null), what + " layer");
        if (FOREIGN_LAYER_TYPES.contains(t)) {
          throw new ImageException(
              what
                  + ": layer "
                  + Digests.shortForm(d)
                  + " is a foreign (non-distributable) layer, which is not supported");
        }
        if (!LAYER_TYPES.contains(t)) {
          throw new ImageException(
              what
                  + ": layer "
                  + Digests.shortForm(d)
                  + " has an unsupported media type \""
                  + shorten(t)
                  + "\"");
        }
        m.layers.add(new Layer(d, size(l, what + " layer " + Digests.shortForm(d), MAX_LAYER), t));
      }
      return m;
    }

    private static long size(JsonNode desc, String what, long max) throws ImageException {
      JsonNode s = desc.path("size");
      if (!s.canConvertToExactIntegral() || !s.canConvertToLong())
        throw new ImageException(what + ": missing or invalid size");
      long v = s.asLong();
      if (v < 0) throw new ImageException(what + ": negative size " + v);
      if (v > max)
        throw new ImageException(what + ": size " + v + " bytes exceeds the limit of " + max);
      return v;
    }
  }
}
