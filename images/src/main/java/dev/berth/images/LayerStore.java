package dev.berth.images;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Unpacked layers, one directory per diff id ({@code root/layers/<diff id hex>/}, overlayfs format:
 * usable directly as a lowerdir). A layer is unpacked once, in tmp/, verified against its diff id,
 * and only then moved into place; a layer directory is removed by renaming it into tmp/ first, so
 * it vanishes at once. Also remembers the sizes of layers unpacked for pulls that have not been
 * committed yet (committed ones are in the {@link ImageIndex}).
 *
 * <p>Mutating methods expect the caller to hold the store lock; unpacking itself runs outside it.
 */
final class LayerStore {
  private final Path layers;
  private final Path tmp;

  /** Sizes of layers unpacked by pulls not yet committed. Guarded by the store lock. */
  private final Map<String, Long> pendingSizes = new HashMap<>();

  LayerStore(Path layers, Path tmp) throws IOException {
    this.layers = layers;
    this.tmp = tmp;
    Files.createDirectories(layers);
  }

  /** Where layer {@code diffId} is (or would be) unpacked. */
  Path dir(String diffId) {
    return layers.resolve(Digests.hex(diffId));
  }

  /** The directories of {@code diffIds}, in that order. */
  List<Path> dirs(List<String> diffIds) {
    List<Path> out = new ArrayList<>(diffIds.size());
    for (String d : diffIds) out.add(dir(d));
    return List.copyOf(out);
  }

  /** Whether layer {@code diffId} is unpacked (a directory, links not followed). */
  boolean isUnpacked(String diffId) {
    return Files.isDirectory(dir(diffId), LinkOption.NOFOLLOW_LINKS);
  }

  Long pendingSize(String diffId) {
    return pendingSizes.get(diffId);
  }

  /** Forgets the pending size of {@code diffId} (committed, or deleted); returns it. */
  Long forgetPending(String diffId) {
    return pendingSizes.remove(diffId);
  }

  /**
   * Unpacks layer blob {@code blob} for a pull and moves it into place unless another got there
   * first; its size is kept as pending until the image is committed. Takes {@code lock} only to
   * move the result in.
   */
  long unpack(String diffId, Path blob, String what, Object lock)
      throws ImageException, IOException {
    Path target = dir(diffId);
    Path staging = Files.createTempDirectory(tmp, "unpack-");
    try {
      Path work = Files.createDirectory(staging.resolve("layer"));
      long size = unpackVerified(blob, work, diffId, what);
      synchronized (lock) {
        if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
          if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) moveAside(target);
          Files.move(work, target, StandardCopyOption.ATOMIC_MOVE);
        }
        pendingSizes.put(diffId, size);
      }
      return size;
    } finally {
      try {
        LayerUnpacker.deleteTree(staging);
      } catch (IOException ignored) {
        // tmp/ is emptied at the next start
      }
    }
  }

  /**
   * Moves a layer unpacked (and verified) elsewhere on this file system into place; whatever is
   * there already is not trusted over it and goes first. Caller holds the store lock.
   */
  Path moveIn(Path unpacked, String hexName) throws IOException {
    Path target = layers.resolve(hexName);
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      // an orphan from an interrupted run is not trusted over what was just verified
      moveAside(target);
    }
    Files.move(unpacked, target, StandardCopyOption.ATOMIC_MOVE);
    return target;
  }

  /**
   * Unpacks layer blob {@code blob} into the empty dir {@code work} and checks it is {@code
   * diffId}; returns its size.
   */
  static long unpackVerified(Path blob, Path work, String diffId, String what)
      throws ImageException, IOException {
    LayerUnpacker.Result r;
    try (InputStream in = Files.newInputStream(blob)) {
      r = LayerUnpacker.unpack(in, work, LayerUnpacker.Mode.LAYER, what);
    }
    if (!r.diffId().equals(diffId)) {
      throw new ImageException(
          what
              + ": diff id mismatch: the config says "
              + diffId
              + ", the content is "
              + r.diffId());
    }
    // overlayfs takes the lowerdir's root attributes for "/" when no upper overrides them: keep it
    // 0755
    Files.setAttribute(work, "unix:mode", 0755);
    return r.size();
  }

  /** Every unpacked layer's diff id ("sha256:..."). */
  Set<String> diffIds() {
    Set<String> all = new HashSet<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(layers)) {
      for (Path p : ds) all.add("sha256:" + p.getFileName());
    } catch (IOException ignored) {
      // nothing listed, nothing collected
    }
    return all;
  }

  /** Deletes layer {@code diffId} if it is there; false when it was not. */
  boolean delete(String diffId) {
    Path d = dir(diffId);
    if (!Files.exists(d, LinkOption.NOFOLLOW_LINKS)) return false;
    deleteQuietly(d);
    return true;
  }

  /** Deletes every layer directory whose name is not in {@code keepHex} (orphans, at open). */
  void deleteAllBut(Set<String> keepHex) throws IOException {
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(layers)) {
      for (Path p : ds) if (!keepHex.contains(p.getFileName().toString())) moveAside(p);
    }
  }

  private void deleteQuietly(Path p) {
    try {
      if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) moveAside(p);
      else Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // an orphan: collected at the next start
    }
  }

  /** Renames a layer dir into tmp/ first (so it vanishes at once), then deletes it. */
  private void moveAside(Path dir) throws IOException {
    Path aside = Files.createTempDirectory(tmp, "rm-").resolve("layer");
    Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
    LayerUnpacker.deleteTree(aside.getParent());
  }
}
