package dev.berth.images;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * How berthd reaches registries.
 *
 * @param defaultRegistry the registry of references without a host ({@code busybox}); "docker.io"
 *     by default
 * @param repositoryPrefix the namespace of one-component names on the default registry ("library":
 *     {@code busybox} is {@code library/busybox})
 * @param insecure hosts (host or host:port) spoken to in plain HTTP; loopback always is
 * @param mirrors registry host → mirror base URLs, tried in order before the registry itself
 * @param connectTimeout TCP/TLS connect timeout per request
 * @param stallTimeout a response that sends no byte for this long (headers or body) is abandoned
 * @param maxConcurrentDownloads blobs fetched at once per pull (docker's default is 3)
 */
public record RegistryConfig(
    String defaultRegistry,
    String repositoryPrefix,
    Set<String> insecure,
    Map<String, List<URI>> mirrors,
    Duration connectTimeout,
    Duration stallTimeout,
    int maxConcurrentDownloads) {
  public static final String DOCKER_HUB = "docker.io";

  /** Where docker.io is actually served. */
  static final String DOCKER_HUB_ENDPOINT = "registry-1.docker.io";

  public RegistryConfig {
    defaultRegistry =
        defaultRegistry == null || defaultRegistry.isBlank() ? DOCKER_HUB : defaultRegistry.strip();
    repositoryPrefix =
        repositoryPrefix == null ? "" : repositoryPrefix.strip().replaceAll("^/+|/+$", "");
    insecure = Set.copyOf(insecure);
    Map<String, List<URI>> m = new LinkedHashMap<>();
    mirrors.forEach((k, v) -> m.put(k, List.copyOf(v)));
    mirrors = Map.copyOf(m);
    if (maxConcurrentDownloads < 1)
      throw new IllegalArgumentException("max concurrent downloads must be at least 1");
  }

  public static RegistryConfig defaults() {
    return new RegistryConfig(
        DOCKER_HUB,
        "library",
        Set.of(),
        Map.of(),
        Duration.ofSeconds(10),
        Duration.ofSeconds(30),
        3);
  }

  /**
   * Builds a configuration from daemon flags, with one-line errors for bad values.
   *
   * @param mirrorSpecs {@code HOST=URL} entries; several for one host are tried in the order given
   */
  public static RegistryConfig fromFlags(
      String defaultRegistry,
      String repositoryPrefix,
      List<String> insecure,
      List<String> mirrorSpecs,
      Duration stallTimeout)
      throws ImageException {
    Set<String> ins = new LinkedHashSet<>();
    for (String h : insecure)
      ins.add(checkHost(h.strip().toLowerCase(Locale.ROOT), "--insecure-registry"));
    Map<String, List<URI>> mirrors = new LinkedHashMap<>();
    for (String spec : mirrorSpecs) {
      int eq = spec.indexOf('=');
      if (eq <= 0 || eq == spec.length() - 1) {
        throw new ImageException("--registry-mirror wants REGISTRY=URL, got \"" + spec + "\"");
      }
      String host =
          checkHost(spec.substring(0, eq).strip().toLowerCase(Locale.ROOT), "--registry-mirror");
      URI uri;
      try {
        uri = URI.create(spec.substring(eq + 1).strip().replaceAll("/+$", ""));
      } catch (IllegalArgumentException e) {
        throw new ImageException("--registry-mirror: invalid URL in \"" + spec + "\"");
      }
      if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
          || uri.getHost() == null) {
        throw new ImageException(
            "--registry-mirror: \"" + spec + "\" needs an http:// or https:// URL");
      }
      mirrors.computeIfAbsent(host, k -> new ArrayList<>()).add(uri);
    }
    String def =
        defaultRegistry == null
            ? DOCKER_HUB
            : checkHost(defaultRegistry.strip().toLowerCase(Locale.ROOT), "--default-registry");
    if (stallTimeout.isNegative() || stallTimeout.isZero())
      throw new ImageException("--registry-timeout must be positive");
    return new RegistryConfig(
        def, repositoryPrefix, ins, mirrors, Duration.ofSeconds(10), stallTimeout, 3);
  }

  private static String checkHost(String h, String flag) throws ImageException {
    if (!h.matches("[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?|\\[[0-9a-f:]+\\](:[0-9]{1,5})?")) {
      throw new ImageException(flag + ": \"" + h + "\" is not a registry host (HOST or HOST:PORT)");
    }
    return h;
  }

  /** The registry a parsed reference lives in (its host part, or the default registry). */
  public String registryOf(References.Ref ref) {
    String d = References.domainOf(ref.repository());
    return d == null ? defaultRegistry : d;
  }

  /**
   * The repository path on the registry: {@code busybox} → {@code library/busybox} on the default
   * registry.
   */
  public String remotePath(References.Ref ref) {
    String d = References.domainOf(ref.repository());
    if (d != null) return ref.repository().substring(d.length() + 1);
    String path = ref.repository();
    if (!repositoryPrefix.isEmpty() && path.indexOf('/') < 0) path = repositoryPrefix + "/" + path;
    return path;
  }

  /** Plain HTTP for loopback and registries listed as insecure; HTTPS otherwise. */
  public boolean plainHttp(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (insecure.contains(h)) return true;
    String bare =
        h.startsWith("[")
            ? h.substring(1, Math.max(1, h.indexOf(']')))
            : h.replaceAll(":[0-9]+$", "");
    if (insecure.contains(bare)) return true;
    return bare.equals("localhost") || bare.startsWith("127.") || bare.equals("::1");
  }

  /** Base URLs to try for {@code registry}: its mirrors in order, then the registry itself. */
  public List<URI> endpoints(String registry) {
    List<URI> out = new ArrayList<>(mirrors.getOrDefault(registry, List.of()));
    String host = registry.equals(DOCKER_HUB) ? DOCKER_HUB_ENDPOINT : registry;
    out.add(URI.create((plainHttp(host) ? "http://" : "https://") + host));
    return out;
  }
}
