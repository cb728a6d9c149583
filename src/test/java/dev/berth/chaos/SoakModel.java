package dev.berth.chaos;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the soak's user did, as far as it knows: every container it asked for (by a unique name, so
 * one whose create was cut off by a daemon kill can still be found), whether its creation and
 * removal are confirmed or uncertain, and which exit codes are plausible for it.
 */
final class SoakModel {
  /**
   * Exit codes any container may show: SIGKILL (kill, stop timeout, rm -f), SIGTERM (stop), lost
   * shim.
   */
  static final Set<Integer> FAULT_CODES = Set.of(137, 143, 255);

  static final class Tracked {
    final String name;
    final Set<Integer> codes = new TreeSet<>(FAULT_CODES);
    String id;

    /** The create answered (false: cut off by a daemon kill; it may or may not exist). */
    boolean createConfirmed;

    /** The removal answered; {@code removalUncertain}: asked, but the daemon died meanwhile. */
    boolean removed;

    boolean removalUncertain;
    final boolean autoRemove;

    Tracked(String name, int code, boolean autoRemove) {
      this.name = name;
      this.autoRemove = autoRemove;
      if (code >= 0) codes.add(code);
    }

    /** Whether it must be listed: created for sure, and neither removed nor on its way out. */
    boolean mustExist() {
      return createConfirmed && !removed && !removalUncertain && !autoRemove;
    }

    /** Whether it must be gone. */
    boolean mustBeGone() {
      return removed;
    }
  }

  private final Map<String, Tracked> byName = new LinkedHashMap<>();
  private int counter;

  Tracked add(int code, boolean autoRemove) {
    Tracked t = new Tracked("soak-" + (++counter), code, autoRemove);
    byName.put(t.name, t);
    return t;
  }

  Collection<Tracked> all() {
    return byName.values();
  }

  Tracked byName(String name) {
    return byName.get(name);
  }

  Tracked byId(String id) {
    for (Tracked t : byName.values()) if (id.equals(t.id)) return t;
    return null;
  }
}
