package dev.berth.images;

import java.util.regex.Pattern;

/**
 * Image references in docker's grammar, normalised to the familiar form docker prints: {@code
 * docker.io/library/busybox} and {@code busybox} both become {@code busybox:latest}, {@code
 * docker.io/team/app:1} becomes {@code team/app:1}; other registries are kept as written.
 */
public final class References {
  /**
   * A parsed reference: familiar repository, tag (never null; "latest" by default) and optional
   * digest.
   */
  public record Ref(String repository, String tag, String digest, boolean explicitTag) {
    /** "repository:tag", the form names are stored in. */
    public String name() {
      return repository + ":" + tag;
    }
  }

  private static final Pattern DOMAIN =
      Pattern.compile(
          "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?");
  private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
  private static final Pattern TAG = Pattern.compile("[\\w][\\w.-]{0,127}");
  private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");
  private static final int MAX_NAME = 255;

  private References() {}

  /** Parses and normalises {@code ref}; null when it is not a valid reference. */
  public static Ref parse(String ref) {
    if (ref == null || ref.isEmpty() || ref.length() > MAX_NAME + 200) return null;
    String rest = ref;
    String digest = null;
    int at = rest.indexOf('@');
    if (at >= 0) {
      digest = rest.substring(at + 1);
      rest = rest.substring(0, at);
      if (!DIGEST.matcher(digest).matches()) return null;
    }
    String tag = null;
    int slash = rest.lastIndexOf('/');
    int colon = rest.lastIndexOf(':');
    if (colon > slash) { // a colon before the last slash belongs to a registry port
      tag = rest.substring(colon + 1);
      rest = rest.substring(0, colon);
      if (!TAG.matcher(tag).matches()) return null;
    }
    if (rest.isEmpty() || rest.length() > MAX_NAME) return null;
    String[] parts = rest.split("/", -1);
    int first = 0;
    String domain = null;
    if (parts.length > 1
        && (parts[0].contains(".") || parts[0].contains(":") || parts[0].equals("localhost"))) {
      domain = parts[0];
      if (!DOMAIN.matcher(domain).matches()) return null;
      first = 1;
    }
    for (int i = first; i < parts.length; i++) {
      if (!COMPONENT.matcher(parts[i]).matches()) return null;
    }
    String path = String.join("/", java.util.Arrays.copyOfRange(parts, first, parts.length));
    String repository;
    if (domain == null || domain.equals("docker.io") || domain.equals("index.docker.io")) {
      // docker's familiar form: the default registry and its "library/" namespace are implied
      repository =
          path.startsWith("library/") && path.indexOf('/', "library/".length()) < 0
              ? path.substring("library/".length())
              : path;
    } else {
      repository = domain + "/" + path;
    }
    return new Ref(repository, tag == null ? "latest" : tag, digest, tag != null);
  }

  /** The registry host at the start of a normalised repository, or null (the default registry). */
  public static String domainOf(String repository) {
    int slash = repository.indexOf('/');
    if (slash < 0) return null;
    String first = repository.substring(0, slash);
    return first.contains(".") || first.contains(":") || first.equals("localhost") ? first : null;
  }

  /** The normalised "repository:tag" of {@code ref}, or null when invalid. */
  public static String normalize(String ref) {
    Ref r = parse(ref);
    return r == null ? null : r.name();
  }

  /**
   * Turns an arbitrary directory or file name into a valid repository name, or null if nothing is
   * left.
   */
  static String repositoryFromFileName(String fileName) {
    String s = fileName.toLowerCase(java.util.Locale.ROOT);
    for (String ext : new String[] {".tar.gz", ".tgz", ".tar", ".oci"}) {
      if (s.endsWith(ext)) {
        s = s.substring(0, s.length() - ext.length());
        break;
      }
    }
    s =
        s.replaceAll("[^a-z0-9._-]+", "-")
            .replaceAll("^[._-]+|[._-]+$", "")
            .replaceAll("[._]{2,}", "-");
    if (s.isEmpty() || s.length() > 128 || !COMPONENT.matcher(s).matches()) return null;
    return s;
  }
}
