package dev.berth.cli;

import dev.berth.api.v1.Container;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * {@code ps --filter}, as docker reads it: values of one key are alternatives, different keys must
 * all match. Checked before the daemon is asked anything; a bad filter is one line.
 */
final class PsFilter implements Predicate<Container> {
  static final int MAX_FILTERS = 64;
  private static final Set<String> STATUSES =
      Set.of("created", "running", "paused", "restarting", "removing", "exited", "dead");

  private final Map<String, List<String>> byKey;

  private PsFilter(Map<String, List<String>> byKey) {
    this.byKey = byKey;
  }

  static PsFilter parse(List<String> filters) {
    if (filters.size() > MAX_FILTERS) {
      throw new CliException("too many filters (at most " + MAX_FILTERS + ")");
    }
    Map<String, List<String>> byKey = new LinkedHashMap<>();
    for (String f : filters) {
      int eq = f.indexOf('=');
      if (eq <= 0) throw new CliException("bad filter \"" + f + "\": use KEY=VALUE");
      String key = f.substring(0, eq);
      String value = f.substring(eq + 1);
      switch (key) {
        case "status" -> {
          if (!STATUSES.contains(value)) {
            throw new CliException(
                "bad filter status=" + value + ": use one of " + String.join(", ", sorted()));
          }
        }
        case "name", "id", "label", "ancestor" -> {
          if (value.isEmpty()) throw new CliException("bad filter " + key + "=: empty value");
        }
        default ->
            throw new CliException(
                "unknown filter \"" + key + "\": use status, name, id, label or ancestor");
      }
      byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
    }
    return new PsFilter(byKey);
  }

  private static List<String> sorted() {
    return STATUSES.stream().sorted().toList();
  }

  /** A status filter for anything but running needs the stopped containers too. */
  boolean needsAll() {
    return byKey.getOrDefault("status", List.of()).stream().anyMatch(s -> !s.equals("running"));
  }

  @Override
  public boolean test(Container c) {
    for (Map.Entry<String, List<String>> e : byKey.entrySet()) {
      if (e.getValue().stream().noneMatch(v -> matches(e.getKey(), v, c))) return false;
    }
    return true;
  }

  private static boolean matches(String key, String value, Container c) {
    return switch (key) {
      case "status" -> DockerViews.dockerState(c.getState()).equals(value);
      case "name" -> c.getName().contains(value);
      case "id" -> c.getId().startsWith(value);
      case "label" -> {
        int eq = value.indexOf('=');
        yield eq < 0
            ? c.getLabelsMap().containsKey(value)
            : value.substring(eq + 1).equals(c.getLabelsMap().get(value.substring(0, eq)));
      }
      case "ancestor" -> ancestor(value, c);
      default -> false;
    };
  }

  /** The image as given at create (with or without :latest), or its id (full or short). */
  private static boolean ancestor(String value, Container c) {
    String image = c.getImage();
    if (image.equals(value) || image.equals(value + ":latest") || value.equals(image + ":latest")) {
      return true;
    }
    String id = c.getImageId();
    String hex = id.startsWith("sha256:") ? id.substring(7) : id;
    String v = value.startsWith("sha256:") ? value.substring(7) : value;
    return !hex.isEmpty() && v.length() >= 4 && hex.startsWith(v);
  }
}
