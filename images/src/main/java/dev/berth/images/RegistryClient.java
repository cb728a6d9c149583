package dev.berth.images;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import javax.net.ssl.SSLException;

/**
 * The HTTP side of the OCI distribution spec (pull only): manifests and blobs from a registry, its
 * mirrors first, with bearer-token and basic authentication, redirects, and every byte counted and
 * hashed as it arrives.
 *
 * <p>Nothing a registry sends is trusted: documents are size-capped, blobs may not exceed their
 * descriptor's size, digests are checked before anything is used, a response that stops sending for
 * {@link RegistryConfig#stallTimeout()} is abandoned, redirects are limited and never carry the
 * credentials to another host.
 */
final class RegistryClient implements AutoCloseable {
  static final long MAX_DOCUMENT =
      4L << 20; // manifests and indexes (the distribution spec's own limit)
  static final long MAX_CONFIG = 16L << 20;
  private static final long MAX_ERROR_BODY = 16L << 10;
  private static final int MAX_REDIRECTS = 5;
  private static final int ATTEMPTS = 3;
  static final String ACCEPT_MANIFESTS =
      String.join(
          ", ",
          ImageSources.OCI_INDEX,
          ImageSources.DOCKER_LIST,
          ImageSources.OCI_MANIFEST,
          ImageSources.DOCKER_MANIFEST);

  /** A repository on a registry, and the credentials to use there (null: anonymous). */
  record Repo(String registry, String path, RegistryCredentials.Credentials credentials) {
    String scope() {
      return "repository:" + path + ":pull";
    }

    String display() {
      return registry + "/" + path;
    }
  }

  /**
   * A manifest or index as served: its bytes, media type (header, else the document's) and digest.
   */
  record Manifest(byte[] bytes, String mediaType, String digest) {}

  private final RegistryConfig config;
  private final HttpClient http;
  private final ScheduledExecutorService watchdog;

  /**
   * Authorization header values by endpoint + scope, so a pull authenticates once per repository.
   */
  private final Map<String, String> authorizations = new ConcurrentHashMap<>();

  RegistryClient(RegistryConfig config) {
    this.config = config;
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(config.connectTimeout())
            .followRedirects(
                HttpClient.Redirect
                    .NEVER) // followed here, so credentials never leak to another host
            .version(HttpClient.Version.HTTP_1_1)
            .executor(
                Executors.newCachedThreadPool(
                    r -> {
                      Thread t = new Thread(r, "berth-registry-http");
                      t.setDaemon(true);
                      return t;
                    }))
            .build();
    this.watchdog =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "berth-registry-watchdog");
              t.setDaemon(true);
              return t;
            });
  }

  RegistryConfig config() {
    return config;
  }

  @Override
  public void close() {
    watchdog.shutdownNow();
  }

  // --------------------------------------------------------------------------------------------
  // API

  /** GET /v2/PATH/manifests/REFERENCE (a tag or a digest). */
  Manifest manifest(Repo repo, String reference) throws ImageException {
    String what =
        "manifest " + repo.display() + (reference.startsWith("sha256:") ? "@" : ":") + reference;
    Sink sink =
        fetch(
            repo,
            "/manifests/" + reference,
            ACCEPT_MANIFESTS,
            () -> Sink.memory(MAX_DOCUMENT, true),
            what,
            null);
    byte[] bytes = sink.bytes();
    String digest = sink.digest();
    if (reference.startsWith("sha256:") && !reference.equals(digest)) {
      throw new ImageException(
          what + ": digest mismatch: the registry sent content with digest " + digest);
    }
    String header = sink.contentType;
    String mediaType = header == null ? "" : header.split(";")[0].strip();
    if (mediaType.isEmpty()
        || mediaType.equals("application/json")
        || mediaType.equals("text/plain")) {
      mediaType = ImageSources.parse(bytes, what).path("mediaType").asText("");
    }
    return new Manifest(bytes, mediaType, digest);
  }

  /** A small blob (an image config) into memory, verified. */
  byte[] smallBlob(Repo repo, String digest, long size, String what) throws ImageException {
    if (size > MAX_CONFIG) throw new ImageException(what + " is too large (" + size + " bytes)");
    long limit = size >= 0 ? size : MAX_CONFIG;
    Sink sink = fetch(repo, "/blobs/" + digest, "*/*", () -> Sink.memory(limit, true), what, null);
    verify(sink, digest, size, what);
    return sink.bytes();
  }

  /**
   * Streams blob {@code digest} into the new file {@code dest}, verifying size and digest on the
   * way; on any failure {@code dest} does not exist afterwards.
   */
  void blob(Repo repo, String digest, long size, Path dest, LongConsumer progress, String what)
      throws ImageException {
    try {
      Sink sink =
          fetch(repo, "/blobs/" + digest, "*/*", () -> Sink.file(dest, size, progress), what, dest);
      verify(sink, digest, size, what);
    } catch (ImageException | RuntimeException e) {
      deleteQuietly(dest);
      throw e;
    }
  }

  /**
   * Checks that {@code registry} accepts {@code credentials} (GET /v2/ with authentication), like
   * docker login.
   */
  void login(String registry, RegistryCredentials.Credentials credentials) throws ImageException {
    URI base =
        config.endpoints(registry).get(config.endpoints(registry).size() - 1); // never a mirror
    Repo repo = new Repo(registry, "", credentials);
    String what = "login to " + registry;
    Response r;
    Response again;
    try {
      r =
          send(
              URI.create(base + "/v2/"),
              "application/json",
              null,
              () -> Sink.memory(MAX_ERROR_BODY, false),
              what,
              null);
      if (r.status == 200) return;
      if (r.status != 401)
        throw new ImageException(
            what + ": the registry answered HTTP " + r.status + errorDetail(r));
      String authorization = authenticate(base, repo, r.headers, null, what);
      again =
          send(
              URI.create(base + "/v2/"),
              "application/json",
              authorization,
              () -> Sink.memory(MAX_ERROR_BODY, false),
              what,
              null);
    } catch (Transient t) {
      throw new ImageException(ImageException.Reason.UNAVAILABLE, what + ": " + t.getMessage());
    }
    if (again.status == 401 || again.status == 403) {
      throw new ImageException(
          ImageException.Reason.UNAUTHORIZED,
          what + ": unauthorized: incorrect username or password");
    }
    if (again.status != 200)
      throw new ImageException(
          what + ": the registry answered HTTP " + again.status + errorDetail(again));
  }

  private static void verify(Sink sink, String digest, long size, String what)
      throws ImageException {
    if (size >= 0 && sink.count != size) {
      throw new ImageException(
          what + ": size mismatch: expected " + size + " bytes, got " + sink.count);
    }
    String got = sink.digest();
    if (!got.equals(digest))
      throw new ImageException(what + ": digest mismatch: expected " + digest + ", got " + got);
  }

  // ------------------------------------------------------------------------------------- transport

  private record Response(int status, HttpHeaders headers, Sink sink) {}

  private interface SinkFactory {
    Sink create() throws IOException;
  }

  /**
   * Tries each endpoint (mirrors, then the registry); the registry's own failure is the one
   * reported.
   */
  private Sink fetch(
      Repo repo, String suffix, String accept, SinkFactory sinks, String what, Path file)
      throws ImageException {
    List<URI> endpoints = config.endpoints(repo.registry());
    ImageException last = null;
    for (URI base : endpoints) {
      try {
        return fetchFrom(base, repo, suffix, accept, sinks, what, file);
      } catch (ImageException e) {
        last = e; // a mirror that fails or lacks the content: try the next endpoint
      }
    }
    throw last;
  }

  private Sink fetchFrom(
      URI base, Repo repo, String suffix, String accept, SinkFactory sinks, String what, Path file)
      throws ImageException {
    URI uri = URI.create(base + "/v2/" + repo.path() + suffix);
    // cached per credentials too: a logout or another user's pull never rides on an earlier
    // authorization
    RegistryCredentials.Credentials c = repo.credentials();
    String key =
        base
            + " "
            + repo.scope()
            + " "
            + (c == null
                ? "-"
                : c.username() + " " + Digests.of(c.password().getBytes(StandardCharsets.UTF_8)));
    for (int attempt = 1; ; attempt++) {
      Response r;
      try {
        r = send(uri, accept, authorizations.get(key), sinks, what, file);
        if (r.status == 401) {
          authorizations.put(key, authenticate(base, repo, r.headers, repo.scope(), what));
          r = send(uri, accept, authorizations.get(key), sinks, what, file);
        }
      } catch (Transient t) {
        deleteQuietly(file);
        if (attempt >= ATTEMPTS)
          throw new ImageException(ImageException.Reason.UNAVAILABLE, what + ": " + t.getMessage());
        sleep(250L * attempt);
        continue;
      }
      if (r.status == 200) return r.sink;
      deleteQuietly(file);
      String detail = errorDetail(r);
      if (r.status == 401)
        throw new ImageException(
            ImageException.Reason.UNAUTHORIZED,
            what + ": unauthorized" + detail + " (berth login " + repo.registry() + ")");
      if (r.status == 403)
        throw new ImageException(
            ImageException.Reason.UNAUTHORIZED, what + ": access denied" + detail);
      if (r.status == 404)
        throw new ImageException(ImageException.Reason.NOT_FOUND, what + ": not found" + detail);
      if (r.status >= 500 && attempt < ATTEMPTS) {
        sleep(250L * attempt);
        continue;
      }
      throw new ImageException(
          r.status >= 500 ? ImageException.Reason.UNAVAILABLE : ImageException.Reason.REFUSED,
          what + ": the registry answered HTTP " + r.status + detail);
    }
  }

  /** A failure worth another attempt (connection refused or reset, timeouts, a stalled body). */
  private static final class Transient extends Exception {
    private static final long serialVersionUID = 1L;

    Transient(String message) {
      super(message, null, false, false);
    }
  }

  /** One request, following redirects (at most 5; credentials only to the original host). */
  private Response send(
      URI uri, String accept, String authorization, SinkFactory sinks, String what, Path file)
      throws ImageException, Transient {
    URI current = uri;
    for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
      HttpRequest.Builder b =
          HttpRequest.newBuilder(current)
              .timeout(config.stallTimeout())
              .header("Accept", accept)
              .header("User-Agent", "berth/0.1")
              .GET();
      if (authorization != null && sameOrigin(current, uri))
        b.header("Authorization", authorization);
      HttpResponse<Sink> resp = exchange(b.build(), sinks, what, current);
      int status = resp.statusCode();
      if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
        String location = resp.headers().firstValue("Location").orElse(null);
        if (location == null)
          throw new ImageException(what + ": redirect (HTTP " + status + ") without a Location");
        URI next;
        try {
          next = current.resolve(location);
        } catch (IllegalArgumentException e) {
          throw new ImageException(what + ": redirect to an invalid location");
        }
        if (!"http".equals(next.getScheme()) && !"https".equals(next.getScheme())) {
          throw new ImageException(
              what + ": redirect to an unsupported location " + next.getScheme() + ":");
        }
        if ("https".equals(current.getScheme()) && "http".equals(next.getScheme())) {
          throw new ImageException(what + ": refusing a redirect from HTTPS to plain HTTP");
        }
        current = next;
        continue;
      }
      return new Response(status, resp.headers(), resp.body());
    }
    throw new ImageException(what + ": too many redirects (more than " + MAX_REDIRECTS + ")");
  }

  private static boolean sameOrigin(URI a, URI b) {
    return a.getScheme().equals(b.getScheme())
        && a.getHost().equalsIgnoreCase(b.getHost())
        && a.getPort() == b.getPort();
  }

  private HttpResponse<Sink> exchange(HttpRequest req, SinkFactory sinks, String what, URI where)
      throws ImageException, Transient {
    CompletableFuture<HttpResponse<Sink>> f =
        http.sendAsync(
            req,
            info -> {
              Sink s;
              try {
                s = info.statusCode() == 200 ? sinks.create() : Sink.memory(MAX_ERROR_BODY, false);
              } catch (IOException e) {
                s = Sink.failed(e);
              }
              s.contentType = info.headers().firstValue("Content-Type").orElse(null);
              s.watch(watchdog, config.stallTimeout());
              return s;
            });
    try {
      return f.get();
    } catch (InterruptedException e) {
      f.cancel(true);
      Thread.currentThread().interrupt();
      throw new ImageException(what + ": interrupted");
    } catch (ExecutionException | CancellationException e) {
      Throwable c = e instanceof ExecutionException ? e.getCause() : e;
      while (c instanceof java.util.concurrent.CompletionException && c.getCause() != null)
        c = c.getCause();
      String host = where.getAuthority();
      if (c instanceof Sink.TooLarge tl) throw new ImageException(what + ": " + tl.getMessage());
      if (c instanceof Sink.Stalled)
        throw new Transient(
            host + " stopped sending (no data for " + config.stallTimeout().toSeconds() + " s)");
      if (c instanceof HttpConnectTimeoutException)
        throw new Transient("cannot connect to " + host + ": timed out");
      if (c instanceof HttpTimeoutException)
        throw new Transient(
            host + " did not answer within " + config.stallTimeout().toSeconds() + " s");
      if (c instanceof ConnectException)
        throw new Transient("cannot connect to " + host + ": connection refused");
      if (c instanceof SSLException ssl) {
        throw new ImageException(
            what
                + ": TLS with "
                + host
                + " failed ("
                + ssl.getMessage()
                + "); a plain-HTTP registry must be listed with --insecure-registry");
      }
      if (c instanceof IOException io) {
        String m = io.getMessage();
        if (m != null && m.contains("received no bytes"))
          m = "the connection was closed without an answer";
        throw new Transient(
            "connection to "
                + host
                + " failed: "
                + (m == null || m.isBlank() ? io.getClass().getSimpleName() : m));
      }
      throw new ImageException(what + ": " + c);
    }
  }

  private String authenticate(URI base, Repo repo, HttpHeaders headers, String scope, String what)
      throws ImageException {
    AuthChallenge c =
        AuthChallenge.pick(headers.allValues("WWW-Authenticate"))
            .orElseThrow(
                () ->
                    new ImageException(
                        what
                            + ": unauthorized, and the registry offers no usable authentication scheme"));
    RegistryCredentials.Credentials creds = repo.credentials();
    if (c.scheme().equals("basic")) {
      if (creds == null)
        throw new ImageException(
            ImageException.Reason.UNAUTHORIZED,
            what + ": authentication required (berth login " + repo.registry() + ")");
      return basic(creds);
    }
    String realm = c.param("realm");
    URI realmUri;
    try {
      realmUri = realm == null ? null : URI.create(realm);
    } catch (IllegalArgumentException e) {
      realmUri = null;
    }
    if (realmUri == null
        || realmUri.getHost() == null
        || !("https".equals(realmUri.getScheme()) || "http".equals(realmUri.getScheme()))) {
      throw new ImageException(what + ": the registry's token realm is not a valid URL");
    }
    StringBuilder q = new StringBuilder();
    if (c.param("service") != null) q.append("service=").append(enc(c.param("service")));
    String sc = c.param("scope") != null ? c.param("scope") : scope;
    if (sc != null) q.append(q.length() > 0 ? "&" : "").append("scope=").append(enc(sc));
    URI tokenUri =
        URI.create(realm + (q.length() == 0 ? "" : (realm.contains("?") ? "&" : "?") + q));
    Response r;
    try {
      r =
          send(
              tokenUri,
              "application/json",
              creds == null ? null : basic(creds),
              () -> Sink.memory(1L << 20, true),
              what + " (token)",
              null);
    } catch (Transient t) {
      throw new ImageException(
          ImageException.Reason.UNAVAILABLE, what + ": token service: " + t.getMessage());
    }
    if (r.status == 401 || r.status == 403) {
      throw new ImageException(
          ImageException.Reason.UNAUTHORIZED,
          what
              + ": unauthorized: "
              + (creds == null
                  ? "authentication required (berth login " + repo.registry() + ")"
                  : "incorrect username or password"));
    }
    if (r.status != 200)
      throw new ImageException(what + ": the token service answered HTTP " + r.status);
    JsonNode doc = ImageSources.parse(r.sink.bytes(), what + " (token)");
    String token = doc.path("token").asText(doc.path("access_token").asText(""));
    if (token.isEmpty()) throw new ImageException(what + ": the token service sent no token");
    return "Bearer " + token;
  }

  private static String basic(RegistryCredentials.Credentials c) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((c.username() + ":" + c.password()).getBytes(StandardCharsets.UTF_8));
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /** ": MESSAGE" from a registry error body ({"errors":[{"code":..,"message":..}]}), or "". */
  private static String errorDetail(Response r) {
    byte[] b = r.sink.bytes();
    if (b == null || b.length == 0) return "";
    try {
      JsonNode errs = ImageSources.JSON.readTree(b).path("errors");
      if (errs.isArray() && !errs.isEmpty()) {
        String m = errs.get(0).path("message").asText(errs.get(0).path("code").asText(""));
        String clean = m.replaceAll("[\\p{Cntrl}]", " ").strip();
        if (!clean.isEmpty())
          return ": " + (clean.length() > 200 ? clean.substring(0, 200) + "..." : clean);
      }
    } catch (IOException | RuntimeException ignored) {
      // not a registry error document
    }
    return "";
  }

  private static void sleep(long ms) throws ImageException {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ImageException("interrupted");
    }
  }

  private static void deleteQuietly(Path p) {
    if (p == null) return;
    try {
      Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // in the store's tmp/, emptied at the next start
    }
  }

  // ------------------------------------------------------------------------------------------ sink

  /**
   * A response body consumer that counts, hashes and stores bytes (in memory or in a new file) as
   * they arrive, fails when more than {@code limit} bytes come, and is abandoned by the watchdog
   * when no byte comes for the stall timeout.
   */
  static final class Sink implements HttpResponse.BodySubscriber<Sink> {
    static final class TooLarge extends IOException {
      private static final long serialVersionUID = 1L;

      TooLarge(String m) {
        super(m);
      }
    }

    static final class Stalled extends IOException {
      private static final long serialVersionUID = 1L;
    }

    private final CompletableFuture<Sink> done = new CompletableFuture<>();
    private final MessageDigest md = Digests.sha256();
    private final long limit;
    private final boolean failOverLimit;
    private final FileChannel file;
    private final ByteArrayOutputStream memory;
    private final LongConsumer progress;
    private volatile Flow.Subscription subscription;
    private volatile long lastActivity = System.nanoTime();
    private ScheduledFuture<?> check;
    volatile String contentType;
    long count;

    private Sink(long limit, boolean failOverLimit, FileChannel file, LongConsumer progress) {
      this.limit = limit;
      this.failOverLimit = failOverLimit;
      this.file = file;
      this.memory = file == null ? new ByteArrayOutputStream() : null;
      this.progress = progress;
    }

    static Sink memory(long limit, boolean failOverLimit) {
      return new Sink(limit, failOverLimit, null, null);
    }

    /** {@code size} < 0: unknown (no limit beyond the file system). */
    static Sink file(Path dest, long size, LongConsumer progress) throws IOException {
      FileChannel ch =
          FileChannel.open(
              dest,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE);
      return new Sink(size >= 0 ? size : Long.MAX_VALUE, true, ch, progress);
    }

    static Sink failed(IOException e) {
      Sink s = memory(0, true);
      s.done.completeExceptionally(e);
      return s;
    }

    void watch(ScheduledExecutorService watchdog, java.time.Duration stall) {
      if (done.isDone()) return;
      long stallNanos = stall.toNanos();
      long period = Math.max(50, Math.min(1000, stall.toMillis() / 4));
      synchronized (this) {
        try {
          check =
              watchdog.scheduleAtFixedRate(
                  () -> {
                    if (System.nanoTime() - lastActivity > stallNanos) fail(new Stalled());
                  },
                  period,
                  period,
                  TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
          fail(new IOException("registry client closed"));
        }
      }
      if (done.isDone()) finish();
    }

    byte[] bytes() {
      return memory == null ? null : memory.toByteArray();
    }

    String digest() {
      return Digests.of(md);
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      if (done.isDone()) {
        s.cancel();
      } else {
        s.request(1);
      }
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      if (done.isDone()) return;
      lastActivity = System.nanoTime();
      try {
        for (ByteBuffer b : items) {
          int n = b.remaining();
          if (count + n > limit) {
            if (failOverLimit) {
              throw new TooLarge("the registry sent more than the " + limit + " bytes expected");
            }
            b.limit(b.position() + (int) Math.max(0, limit - count));
            n = b.remaining();
            if (n == 0) continue;
          }
          md.update(b.duplicate());
          if (file != null) {
            while (b.hasRemaining()) file.write(b);
          } else {
            byte[] chunk = new byte[n];
            b.get(chunk);
            memory.write(chunk, 0, n);
          }
          count += n;
        }
        if (progress != null) progress.accept(count);
        subscription.request(1);
      } catch (IOException e) {
        fail(e);
      }
    }

    @Override
    public void onError(Throwable t) {
      finish();
      done.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      try {
        if (file != null) file.force(false);
      } catch (IOException e) {
        onError(e);
        return;
      }
      finish();
      done.complete(this);
    }

    private void fail(IOException e) {
      finish();
      if (done.completeExceptionally(e)) {
        Flow.Subscription s = subscription;
        if (s != null) s.cancel(); // drops the connection
      }
    }

    private synchronized void finish() {
      if (check != null) check.cancel(false);
      if (file != null && file.isOpen()) {
        try {
          file.close();
        } catch (IOException ignored) {
          // the caller deletes the file on failure
        }
      }
    }

    @Override
    public java.util.concurrent.CompletionStage<Sink> getBody() {
      return done;
    }
  }
}
