package dev.berth.actors;

import dev.berth.actors.EventFeed.LifecycleEvent;
import dev.berth.core.BerthException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Subscribe's filters, docker's rule: values of one key are OR-ed, different keys AND-ed. Container
 * references are resolved to ids once, at subscribe time (see {@link #withContainerIds}).
 */
public record EventFilter(Set<String> types, List<String> containerRefs, Set<String> containerIds) {

  /** Parses "key=value" filters; an unknown key or type is a one-line error. */
  public static EventFilter parse(List<String> filters) {
    Set<String> types = new LinkedHashSet<>();
    List<String> refs = new ArrayList<>();
    for (String f : filters) {
      int eq = f.indexOf('=');
      String key = eq < 0 ? f.strip() : f.substring(0, eq).strip();
      String value = eq < 0 ? "" : f.substring(eq + 1).strip();
      if (value.isEmpty())
        throw BerthException.invalid("invalid filter \"" + f + "\": expected KEY=VALUE");
      switch (key) {
        case "type", "event" -> {
          if (!EventFeed.TYPES.contains(value)) {
            throw BerthException.invalid(
                "invalid filter \""
                    + f
                    + "\": unknown event type "
                    + value
                    + " (one of "
                    + String.join(", ", EventFeed.TYPES)
                    + ")");
          }
          types.add(value);
        }
        case "container" -> refs.add(value);
        default ->
            throw BerthException.invalid(
                "invalid filter \"" + f + "\": unknown key " + key + " (container or type)");
      }
    }
    return new EventFilter(Set.copyOf(types), List.copyOf(refs), Set.of());
  }

  public EventFilter withContainerIds(Set<String> ids) {
    return new EventFilter(types, containerRefs, Set.copyOf(ids));
  }

  public boolean matches(LifecycleEvent e) {
    if (!types.isEmpty() && !types.contains(e.type())) return false;
    if (containerRefs.isEmpty()) return true;
    if (containerIds.contains(e.containerId())) return true;
    // A reference that no longer resolves (the container was removed) still selects by id prefix.
    return containerRefs.stream().anyMatch(r -> e.containerId().startsWith(r));
  }
}
