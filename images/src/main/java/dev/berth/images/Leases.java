package dev.berth.images;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The leases in force: what pulls and container creates are about to reference, which the {@link
 * GarbageCollector}, {@code prune} and {@code rm} leave alone.
 *
 * <p>Image leases (a container create's) also answer the question an in-use check taken earlier
 * cannot: "was a container recorded after I looked?". Callers that check which images containers
 * use before they prune or remove take a {@link #mark()} first; every image lease released after
 * that mark counts as in use for them (its container was recorded after the mark, maybe after their
 * check). Releases are remembered for {@link #MEMORY}; a mark older than what is remembered is
 * refused rather than guessed about.
 *
 * <p>Every method runs under the store lock ({@link #lock}); an image lease that is never released
 * (its create died half-way) ends by itself after its time to live.
 */
final class Leases {
  /** How long releases are remembered for marks (an in-use check takes seconds at most). */
  static final Duration MEMORY = Duration.ofMinutes(10);

  /** Deletes those of the given blobs and layers that nothing references any more. */
  interface Collector {
    void collect(Set<String> blobs, Set<String> layers);
  }

  private record Released(long seq, String image, long at) {}

  final Object lock;
  private final LongSupplier nanoClock;
  private Collector collector = (b, l) -> {};
  private final Set<Lease> active = new LinkedHashSet<>();
  private final Map<String, Lease> byId = new HashMap<>();
  private final Deque<Released> released = new ArrayDeque<>();
  private long seq;

  /** The newest release no longer remembered (0: none forgotten). */
  private long forgotten;

  Leases(Object lock, LongSupplier nanoClock) {
    this.lock = lock;
    this.nanoClock = nanoClock;
  }

  void collectWith(Collector c) {
    this.collector = c;
  }

  /** A lease for a pull: no id, no expiry; its owner closes it. */
  Lease open() {
    synchronized (lock) {
      Lease l = new Lease(this, null, null, Long.MAX_VALUE);
      active.add(l);
      return l;
    }
  }

  /**
   * Lease {@code id} on image {@code image} and the given content, ending by itself after {@code
   * ttl}; replaces an earlier lease with that id. Caller holds the lock and has checked the image
   * exists.
   */
  Lease openForImage(
      String id, String image, Collection<String> blobs, Collection<String> layers, Duration ttl) {
    Lease old = byId.get(id);
    if (old != null) close(old);
    Lease l = new Lease(this, id, image, nanoClock.getAsLong() + ttl.toNanos());
    l.blobs.addAll(blobs);
    l.layers.addAll(layers);
    active.add(l);
    byId.put(id, l);
    return l;
  }

  /** Releases lease {@code id}; false when there is none (released already, expired, unknown). */
  boolean release(String id) {
    synchronized (lock) {
      Lease l = byId.get(id);
      if (l == null) return false;
      close(l);
      return true;
    }
  }

  void close(Lease l) {
    close(l, true);
  }

  /**
   * Ends {@code l}. A release is remembered for marks; an expiry is not: its create died or took
   * longer than any in-use check waits, so no check taken since can be missing its container.
   */
  private void close(Lease l, boolean remember) {
    synchronized (lock) {
      if (l.closed) return;
      l.closed = true;
      active.remove(l);
      if (l.id != null) {
        byId.remove(l.id, l);
        if (remember) released.addLast(new Released(++seq, l.image, nanoClock.getAsLong()));
        forget();
      }
      collector.collect(l.blobs, l.layers);
    }
  }

  /** The point in the lease history to pass to {@link #protectedImages} later. */
  long mark() {
    synchronized (lock) {
      return seq;
    }
  }

  /** Closes image leases whose time is up (their create never finished). Caller holds the lock. */
  void expire() {
    long now = nanoClock.getAsLong();
    for (Lease l : List.copyOf(active)) {
      if (l.expiresAt != Long.MAX_VALUE && now - l.expiresAt >= 0) close(l, false);
    }
  }

  /**
   * Images that {@code prune} and {@code rm} must treat as in use: leased now, or released after
   * {@code mark} (their container may be missing from an in-use check taken after the mark).
   *
   * @throws ImageException when releases after {@code mark} are no longer remembered
   */
  Set<String> protectedImages(long mark) throws ImageException {
    forget();
    if (mark < forgotten) {
      throw new ImageException(
          ImageException.Reason.REFUSED,
          "the check of the images containers use is too old; try again");
    }
    Set<String> out = new HashSet<>();
    for (Lease l : active) if (l.image != null) out.add(l.image);
    for (Released r : released) if (r.seq() > mark && r.image() != null) out.add(r.image());
    return out;
  }

  /** Adds everything the active leases protect to the given sets. Caller holds the lock. */
  void addReferences(Set<String> blobs, Set<String> layers) {
    for (Lease l : active) {
      blobs.addAll(l.blobs);
      layers.addAll(l.layers);
    }
  }

  /** Whether lease {@code id} is active. */
  boolean isActive(String id) {
    synchronized (lock) {
      return byId.containsKey(id);
    }
  }

  private void forget() {
    long now = nanoClock.getAsLong();
    while (!released.isEmpty() && now - released.peekFirst().at() > MEMORY.toNanos()) {
      forgotten = released.removeFirst().seq();
    }
  }
}
