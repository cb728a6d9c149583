package dev.berth.images;

import java.util.HashSet;
import java.util.Set;

/**
 * Protects content from the garbage collector while something is about to reference it
 * (containerd's leases): a pull's blobs and layers until its image is committed, or an image a
 * container create resolved until the container is recorded. Closing the lease deletes whatever it
 * protected that no image and no other lease references, so a failed pull leaves nothing behind.
 * Made by {@link ImageStore#lease()} or {@link ImageStore#leaseImage}.
 */
public final class Lease implements AutoCloseable {
  private final Leases leases;

  /** The lease's id when it belongs to someone (a container id), else null. */
  final String id;

  /** The image kept from {@code prune} and {@code rm}, or null. */
  final String image;

  /** When the lease ends by itself ({@code System.nanoTime()} scale), or Long.MAX_VALUE. */
  final long expiresAt;

  /** Guarded by the store lock, as {@link #closed} is. */
  final Set<String> blobs = new HashSet<>();

  final Set<String> layers = new HashSet<>();
  boolean closed;

  Lease(Leases leases, String id, String image, long expiresAt) {
    this.leases = leases;
    this.id = id;
    this.image = image;
    this.expiresAt = expiresAt;
  }

  /** Keeps blob {@code digest} (present or about to be) out of the collector's reach. */
  public void protectBlob(String digest) {
    synchronized (leases.lock) {
      if (closed) throw new IllegalStateException("lease closed");
      blobs.add(digest);
    }
  }

  public void protectLayer(String diffId) {
    synchronized (leases.lock) {
      if (closed) throw new IllegalStateException("lease closed");
      layers.add(diffId);
    }
  }

  /** Whether blob {@code digest} is protected by this lease. Caller holds the store lock. */
  boolean protects(String digest) {
    return blobs.contains(digest);
  }

  boolean protectsLayer(String diffId) {
    return layers.contains(diffId);
  }

  @Override
  public void close() {
    leases.close(this);
  }
}
