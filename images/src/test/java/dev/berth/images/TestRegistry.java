package dev.berth.images;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorOutputStream;

/**
 * An OCI distribution endpoint (pull side) in the test JVM, for what a real registry would never
 * send: wrong digests, wrong media types, huge sizes, hangs, resets, redirect loops, hostile layer
 * tars. Serves /v2/, manifests by tag or digest, blobs, and (in bearer mode) a token endpoint. The
 * happy paths are tested against Debian's docker-registry in the cross-process tests.
 */
final class TestRegistry implements AutoCloseable {
  enum Auth {
    NONE,
    BASIC,
    BEARER
  }

  /** Takes over a request when it returns true (hostile behaviour per test). */
  interface Hook {
    boolean handle(HttpExchange ex, String path) throws IOException;
  }

  record Doc(byte[] bytes, String mediaType) {}

  final HttpServer server;
  final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
  final Map<String, Doc> manifests = new ConcurrentHashMap<>(); // "repo:ref" -> doc
  final Map<String, AtomicInteger> gets = new ConcurrentHashMap<>();
  final List<String> authorizations = new CopyOnWriteArrayList<>();
  volatile Auth auth = Auth.NONE;
  volatile String user = "alice";
  volatile String password = "s3cret";
  volatile Hook hook;

  TestRegistry() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext("/", this::serve);
    server.start();
  }

  String host() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  int gets(String pathSuffix) {
    return gets.entrySet().stream()
        .filter(e -> e.getKey().endsWith(pathSuffix))
        .mapToInt(e -> e.getValue().get())
        .sum();
  }

  @Override
  public void close() {
    server.stop(0);
  }

  // ------------------------------------------------------------------ content

  static byte[] zstd(byte[] data) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (OutputStream z = new ZstdCompressorOutputStream(out)) {
      z.write(data);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }

  String putBlob(byte[] data) {
    String d = Digests.of(data);
    blobs.put(d, data);
    return d;
  }

  /**
   * Publishes an image manifest for {@code spec}; layer i is compressed as {@code compression[i]}
   * ("gzip", "zstd", "none").
   */
  String putImage(
      String repo, String tag, TestImages.Spec spec, List<String> compression, String manifestType)
      throws IOException {
    byte[] config = spec.configBytes();
    ObjectNode m = TestImages.JSON.createObjectNode();
    m.put("schemaVersion", 2);
    m.put("mediaType", manifestType);
    boolean docker = manifestType.equals(ImageSources.DOCKER_MANIFEST);
    ObjectNode c = m.putObject("config");
    c.put("mediaType", docker ? Puller.DOCKER_CONFIG : ImageSources.OCI_CONFIG);
    c.put("digest", putBlob(config));
    c.put("size", config.length);
    ArrayNode ls = m.putArray("layers");
    for (int i = 0; i < spec.layers.size(); i++) {
      String how = compression.get(i);
      byte[] raw = spec.layers.get(i);
      byte[] b =
          switch (how) {
            case "gzip" -> TestImages.gzip(raw);
            case "zstd" -> zstd(raw);
            default -> raw;
          };
      ObjectNode l = ls.addObject();
      l.put(
          "mediaType",
          switch (how) {
            case "gzip" -> docker ? Puller.DOCKER_LAYER_GZIP : ImageSources.OCI_LAYER_GZIP;
            case "zstd" -> Puller.OCI_LAYER_ZSTD;
            default -> ImageSources.OCI_LAYER;
          });
      l.put("digest", putBlob(b));
      l.put("size", b.length);
    }
    return putManifest(repo, tag, TestImages.JSON.writeValueAsBytes(m), manifestType);
  }

  String putManifest(String repo, String tag, byte[] bytes, String mediaType) {
    String d = Digests.of(bytes);
    manifests.put(repo + ":" + d, new Doc(bytes, mediaType));
    if (tag != null) manifests.put(repo + ":" + tag, new Doc(bytes, mediaType));
    return d;
  }

  /** An index over existing manifests: entries are {digest, os, arch}. */
  String putIndex(String repo, String tag, List<String[]> entries, String mediaType)
      throws IOException {
    ObjectNode idx = TestImages.JSON.createObjectNode();
    idx.put("schemaVersion", 2);
    idx.put("mediaType", mediaType);
    ArrayNode ms = idx.putArray("manifests");
    for (String[] e : entries) {
      Doc d = manifests.get(repo + ":" + e[0]);
      ObjectNode o = ms.addObject();
      o.put("mediaType", d.mediaType());
      o.put("digest", e[0]);
      o.put("size", d.bytes().length);
      o.putObject("platform").put("os", e[1]).put("architecture", e[2]);
    }
    return putManifest(repo, tag, TestImages.JSON.writeValueAsBytes(idx), mediaType);
  }

  // ------------------------------------------------------------------ HTTP

  private void serve(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      gets.computeIfAbsent(path, k -> new AtomicInteger()).incrementAndGet();
      String a = ex.getRequestHeaders().getFirst("Authorization");
      if (a != null) authorizations.add(a);
      Hook h = hook;
      if (h != null && h.handle(ex, path)) return;
      if (path.equals("/token")) {
        token(ex);
        return;
      }
      if (!path.startsWith("/v2/")) {
        send(ex, 404, "text/plain", "not found".getBytes(StandardCharsets.UTF_8));
        return;
      }
      String rest = path.substring(4);
      if (!authorized(ex, rest)) return;
      if (rest.isEmpty()) {
        send(ex, 200, "application/json", "{}".getBytes(StandardCharsets.UTF_8));
        return;
      }
      int mi = rest.lastIndexOf("/manifests/");
      int bi = rest.lastIndexOf("/blobs/");
      if (mi > 0) {
        Doc d =
            manifests.get(
                rest.substring(0, mi) + ":" + rest.substring(mi + "/manifests/".length()));
        if (d == null) {
          error(ex, 404, "MANIFEST_UNKNOWN", "manifest unknown");
        } else {
          ex.getResponseHeaders().add("Docker-Content-Digest", Digests.of(d.bytes()));
          send(ex, 200, d.mediaType(), d.bytes());
        }
      } else if (bi > 0) {
        byte[] b = blobs.get(rest.substring(bi + "/blobs/".length()));
        if (b == null) error(ex, 404, "BLOB_UNKNOWN", "blob unknown to registry");
        else send(ex, 200, "application/octet-stream", b);
      } else {
        error(ex, 404, "NAME_UNKNOWN", "repository name not known to registry");
      }
    }
  }

  private boolean authorized(HttpExchange ex, String rest) throws IOException {
    String a = ex.getRequestHeaders().getFirst("Authorization");
    switch (auth) {
      case NONE:
        return true;
      case BASIC:
        if (basicOk(a)) return true;
        ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"test\"");
        error(ex, 401, "UNAUTHORIZED", "authentication required");
        return false;
      default:
        if (("Bearer tok-" + user).equals(a)) return true;
        String repo =
            rest.contains("/manifests/")
                ? rest.substring(0, rest.lastIndexOf("/manifests/"))
                : rest.contains("/blobs/") ? rest.substring(0, rest.lastIndexOf("/blobs/")) : null;
        ex.getResponseHeaders()
            .add(
                "WWW-Authenticate",
                "Bearer realm=\"http://"
                    + host()
                    + "/token\",service=\"test-registry\""
                    + (repo == null ? "" : ",scope=\"repository:" + repo + ":pull\""));
        error(ex, 401, "UNAUTHORIZED", "authentication required");
        return false;
    }
  }

  private boolean basicOk(String a) {
    return ("Basic "
            + Base64.getEncoder()
                .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)))
        .equals(a);
  }

  private void token(HttpExchange ex) throws IOException {
    if (!basicOk(ex.getRequestHeaders().getFirst("Authorization"))) {
      error(ex, 401, "UNAUTHORIZED", "bad credentials");
      return;
    }
    send(
        ex,
        200,
        "application/json",
        ("{\"token\":\"tok-" + user + "\"}").getBytes(StandardCharsets.UTF_8));
  }

  static void error(HttpExchange ex, int status, String code, String message) throws IOException {
    send(
        ex,
        status,
        "application/json",
        ("{\"errors\":[{\"code\":\"" + code + "\",\"message\":\"" + message + "\"}]}")
            .getBytes(StandardCharsets.UTF_8));
  }

  static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) ex.getResponseBody().write(body);
  }
}
