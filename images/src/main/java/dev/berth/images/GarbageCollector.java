package dev.berth.images;

import java.io.IOException;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Deletes content nothing references: a blob or an unpacked layer stays while an image in the
 * {@link ImageIndex} or a {@link Lease} references it, and goes otherwise. Callers hold the store
 * lock, so the references cannot change while it decides.
 */
final class GarbageCollector {
  private final ContentStore content;
  private final LayerStore layers;
  private final ImageIndex index;
  private final Leases leases;

  GarbageCollector(ContentStore content, LayerStore layers, ImageIndex index, Leases leases) {
    this.content = content;
    this.layers = layers;
    this.index = index;
    this.leases = leases;
  }

  /** Every blob and every layer an image or a lease references, as digests / diff ids. */
  private record Roots(Set<String> blobs, Set<String> layers) {}

  private Roots roots() {
    Set<String> usedBlobs = new HashSet<>();
    Set<String> usedLayers = new HashSet<>();
    for (ImageIndex.Entry e : index.entries()) {
      usedBlobs.addAll(e.blobs());
      usedLayers.addAll(e.record().diffIds());
    }
    leases.addReferences(usedBlobs, usedLayers);
    return new Roots(usedBlobs, usedLayers);
  }

  /**
   * Deletes those of the given blobs and layers that nothing references; returns the bytes freed
   * (layer sizes from pulls not committed, else from {@code formerLayerSizes}).
   */
  long collect(
      Set<String> blobCandidates, Set<String> layerCandidates, Map<String, Long> formerLayerSizes) {
    Roots used = roots();
    long freed = 0;
    for (String b : blobCandidates) {
      if (used.blobs().contains(b) || !Digests.valid(b)) continue;
      freed += content.delete(b);
    }
    for (String d : layerCandidates) {
      if (used.layers().contains(d) || !Digests.valid(d)) continue;
      Long size = layers.pendingSize(d);
      if (!layers.delete(d)) continue;
      layers.forgetPending(d);
      if (size == null) size = formerLayerSizes.get(d);
      if (size != null) freed += size;
    }
    return freed;
  }

  /** Collects the whole store; returns the bytes freed. */
  long collectAll(Map<String, Long> formerLayerSizes) {
    return collect(content.digests(), layers.diffIds(), formerLayerSizes);
  }

  /**
   * At open, before any lease exists: deletes blobs and layers no image references (what an
   * interrupted import or removal left).
   */
  void collectOrphans() throws IOException {
    Set<String> usedBlobs = new HashSet<>();
    Set<String> usedLayers = new HashSet<>();
    for (ImageIndex.Entry e : index.entries()) {
      e.blobs().forEach(b -> usedBlobs.add(Digests.hex(b)));
      e.record().diffIds().forEach(d -> usedLayers.add(Digests.hex(d)));
    }
    content.deleteAllBut(usedBlobs);
    layers.deleteAllBut(usedLayers);
  }
}
