package dev.berth.task;

import dev.berth.core.BerthException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which group shim each container runs in. A named group ({@code --shim-group web}) has one shim;
 * containers without a name go to the first auto group ({@code .auto-<n>}) with room. A slot is
 * reserved (under this object's monitor) before any RPC, so a group is never over-filled; a new
 * group's shim is the spare when there is one, else a launched one. A group shim that cannot start
 * fails only the reservations waiting for it. A group left empty is shut down: a named one always,
 * an auto one unless it is the only auto group with room (it then takes the next start without a
 * JVM start).
 */
final class ShimGroups {
  private static final Logger log = LoggerFactory.getLogger(ShimGroups.class);
  static final String AUTO_PREFIX = ".auto-";

  /** A group's shim process, connected. {@code client} is the shared channel (null in tests). */
  record Shim(long pid, Path socket, Path dir, ShimClient client) {}

  /** Starts and ends group shims (the real one launches JVMs; tests fake it). */
  interface Backend {
    /** The live spare, connected, or null when there is none. */
    Shim takeSpare();

    /** A new shim for {@code group}, connected and serving; throws if it cannot start. */
    Shim launch(String group) throws Exception;

    /**
     * Ends an empty group's shim (Shutdown, which makes it remove its dir and socket; if it does
     * not answer, from outside: kill it, remove what the dir's address names, the dir).
     */
    void shutdown(String group, Shim shim);

    /** Starts a spare unless one is there or starting. */
    void replenishSpare();
  }

  private final class Group {
    final String name;
    final boolean auto;
    final CompletableFuture<Shim> shim;
    final Set<String> members = new java.util.HashSet<>();
    int reserved;
    int handles; // views of the shared channel not closed yet
    boolean ended;

    Group(String name, boolean auto, CompletableFuture<Shim> shim) {
      this.name = name;
      this.auto = auto;
      this.shim = shim;
    }

    int used() {
      return members.size() + reserved;
    }

    boolean failed() {
      return shim.isCompletedExceptionally();
    }

    boolean open() {
      return !ended && !failed();
    }
  }

  private final Backend backend;
  private final Executor blocking;
  private final int size;
  private final Map<String, Group> groups = new LinkedHashMap<>(); // guarded by this
  private final Map<String, Group> memberOf = new HashMap<>(); // guarded by this
  private int autoSeq; // guarded by this

  ShimGroups(Backend backend, Executor blocking, int size) {
    if (size < 1 || size > 64) throw new IllegalArgumentException("group size " + size);
    this.backend = backend;
    this.blocking = blocking;
    this.size = size;
  }

  int size() {
    return size;
  }

  /** A reserved place in a group; {@link #joined} or {@link #release} ends the reservation. */
  final class Slot {
    private final Group group;
    private final AtomicBoolean done = new AtomicBoolean();

    private Slot(Group group) {
      this.group = group;
    }

    String group() {
      return group.name;
    }

    /** The group's shim, once it serves; a shim that cannot start fails with one line. */
    Shim await(Duration timeout) {
      try {
        return group.shim.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        throw BerthException.internal(
            "shim group " + group.name + " could not start: not ready within " + timeout);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw BerthException.internal("interrupted");
      } catch (java.util.concurrent.ExecutionException e) {
        throw BerthException.internal(
            "shim group "
                + group.name
                + " could not start: "
                + BerthException.from(e.getCause()).getMessage());
      }
    }

    /** The container is created in the group: the slot becomes a member's. */
    void joined(String id) {
      if (!done.compareAndSet(false, true)) return;
      synchronized (ShimGroups.this) {
        group.reserved--;
        group.members.add(id);
        memberOf.put(id, group);
      }
    }

    /** The start failed: the slot is free again (and an empty group ends). */
    void release() {
      if (!done.compareAndSet(false, true)) return;
      Shim toEnd;
      synchronized (ShimGroups.this) {
        group.reserved--;
        toEnd = emptied(group);
      }
      end(group, toEnd);
    }
  }

  /**
   * Reserves a place for one container: in the named group ({@code null}: the default, an auto
   * group), starting the group's shim if it has none.
   */
  synchronized Slot reserve(String named) {
    Group g;
    if (named != null) {
      g = groups.get(named);
      if (g == null || !g.open()) {
        g = newGroup(named, false);
      } else if (g.used() >= size) {
        throw new BerthException(
            BerthException.Code.RESOURCE_EXHAUSTED,
            "shim group " + named + " is full (" + size + " containers)");
      }
    } else {
      g = null;
      for (Group candidate : groups.values()) {
        if (candidate.auto && candidate.open() && candidate.used() < size) {
          g = candidate;
          break;
        }
      }
      if (g == null) {
        String name;
        do {
          name = AUTO_PREFIX + ++autoSeq;
        } while (groups.containsKey(name));
        g = newGroup(name, true);
      }
    }
    g.reserved++;
    return new Slot(g);
  }

  private Group newGroup(String name, boolean auto) {
    CompletableFuture<Shim> shim =
        CompletableFuture.supplyAsync(
            () -> {
              Shim s = backend.takeSpare();
              if (s != null) {
                log.debug("shim group {}: the spare (shim {})", name, s.pid());
                return s;
              }
              try {
                return backend.launch(name);
              } catch (BerthException e) {
                throw e;
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw BerthException.internal("interrupted");
              } catch (Exception e) {
                throw BerthException.from(e);
              }
            },
            blocking);
    Group g = new Group(name, auto, shim);
    groups.put(name, g);
    // async: never on the reserving thread, which holds the monitor before it counts its slot
    shim.whenCompleteAsync(
        (s, e) -> {
          if (e != null) {
            log.warn(
                "shim group {} could not start: {}", name, BerthException.from(e).getMessage());
            synchronized (this) {
              if (g.used() == 0 && groups.get(name) == g) groups.remove(name);
            }
            return;
          }
          // every reservation gave up while it started: it ends like any emptied group
          Shim toEnd;
          synchronized (this) {
            toEnd = emptied(g);
          }
          end(g, toEnd);
        },
        blocking);
    return g;
  }

  /**
   * Registers a live group shim found at daemon start, with the containers it serves (so a later
   * reservation of that name joins it, and its last member's departure ends it).
   */
  synchronized void found(String name, Shim shim, List<String> members) {
    Group g =
        new Group(name, name.startsWith(AUTO_PREFIX), CompletableFuture.completedFuture(shim));
    g.members.addAll(members);
    for (String id : members) memberOf.put(id, g);
    groups.put(name, g);
    if (g.auto) {
      try {
        autoSeq = Math.max(autoSeq, Integer.parseInt(name.substring(AUTO_PREFIX.length())));
      } catch (NumberFormatException ignored) {
        // not one of ours: numbering goes on from the others
      }
    }
  }

  /** The live shim of a group that is open, or null. */
  synchronized Shim live(String name) {
    Group g = groups.get(name);
    if (g == null || !g.open() || !g.shim.isDone()) return null;
    return g.shim.join();
  }

  /**
   * A per-container view of the group's shared channel: it names {@code id} on every request, and
   * its close() releases its share (the channel closes once the group ended and no view is left).
   */
  synchronized ShimClient handle(String name, String id) {
    Group g = groups.get(name);
    if (g == null || !g.shim.isDone() || g.failed()) return null;
    Shim shim = g.shim.join();
    if (shim.client() == null) return null;
    g.handles++;
    AtomicBoolean closed = new AtomicBoolean();
    return shim.client()
        .forContainer(
            id,
            () -> {
              if (closed.compareAndSet(false, true)) releaseHandle(g, shim);
            });
  }

  private void releaseHandle(Group g, Shim shim) {
    boolean close;
    synchronized (this) {
      g.handles--;
      close = g.ended && g.handles == 0;
    }
    if (close && shim.client() != null) shim.client().close();
  }

  /** The container left its group (deleted): an empty group ends. */
  void left(String id) {
    Group g;
    Shim toEnd;
    synchronized (this) {
      g = memberOf.remove(id);
      if (g == null) return;
      g.members.remove(id);
      toEnd = emptied(g);
    }
    end(g, toEnd);
  }

  /** The group of a member, or null. */
  synchronized String groupOf(String id) {
    Group g = memberOf.get(id);
    return g == null ? null : g.name;
  }

  /** Decides (under the monitor) whether an empty group ends now; its shim if so. */
  private Shim emptied(Group g) {
    if (g.used() > 0 || g.ended) return null;
    if (g.failed()) {
      if (groups.get(g.name) == g) groups.remove(g.name);
      return null;
    }
    if (!g.shim.isDone()) return null; // still starting: decided again once it serves
    if (g.auto) {
      boolean otherWithRoom = false;
      for (Group o : groups.values()) {
        if (o != g && o.auto && o.open() && o.used() < size) otherWithRoom = true;
      }
      if (!otherWithRoom) return null; // kept: the next default start needs no JVM start
    }
    g.ended = true;
    if (groups.get(g.name) == g) groups.remove(g.name);
    return g.shim.join();
  }

  private void end(Group g, Shim shim) {
    if (shim == null) return;
    log.debug("shim group {} is empty: shutting down shim {}", g.name, shim.pid());
    blocking.execute(
        () -> {
          backend.shutdown(g.name, shim);
          boolean close;
          synchronized (this) {
            close = g.handles == 0;
          }
          if (close && shim.client() != null) shim.client().close();
        });
  }

  /**
   * After a start: a spare is worth keeping only when the next default start would need a new group
   * (no live auto group has 2 free places) or a named group just took it.
   */
  void replenishIfNeeded() {
    boolean roomy = false;
    synchronized (this) {
      for (Group g : groups.values()) {
        if (g.auto && g.open() && size - g.used() >= 2) roomy = true;
      }
    }
    if (!roomy) backend.replenishSpare();
  }

  /** For tests and inspection: group name → members + reserved. */
  synchronized Map<String, Integer> usage() {
    Map<String, Integer> out = new LinkedHashMap<>();
    for (Group g : groups.values()) out.put(g.name, g.used());
    return out;
  }

  /** The groups' live shims, for daemon stop (they stay: they serve running containers). */
  synchronized List<String> names() {
    return new ArrayList<>(groups.keySet());
  }
}
