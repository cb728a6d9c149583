package dev.berth.images;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.Set;

/**
 * Content-addressed blobs ({@code root/blobs/sha256/<hex>}: configs, manifests, indexes, layer
 * blobs) and the ingest area for downloads ({@code root/tmp/}, same file system, so a verified
 * download moves in atomically). A blob is only ever moved in after its digest was checked; this
 * class knows nothing of images or references (see {@link GarbageCollector}).
 */
final class ContentStore {
  private final Path blobs;
  private final Path tmp;

  ContentStore(Path blobs, Path tmp) throws IOException {
    this.blobs = blobs;
    this.tmp = tmp;
    Files.createDirectories(blobs);
  }

  /** Where blob {@code digest} is (or would be) stored. */
  Path path(String digest) {
    return blobs.resolve(Digests.hex(digest));
  }

  /** Whether blob {@code digest} is stored (a regular file, links not followed). */
  boolean has(String digest) {
    return Files.isRegularFile(path(digest), LinkOption.NOFOLLOW_LINKS);
  }

  /**
   * Moves a verified file into the store as blob {@code digest}, or drops it when the blob is there
   * already. Caller holds the store lock.
   */
  void put(String digest, Path verified) throws IOException {
    Path target = blobs.resolve(Digests.hex(Digests.requireUnchecked(digest)));
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      Files.deleteIfExists(verified);
    } else {
      Files.move(verified, target, StandardCopyOption.ATOMIC_MOVE);
    }
  }

  /** Reads a stored blob of at most {@code max} bytes (configs, manifests). */
  byte[] read(String digest, long max) throws ImageException, IOException {
    return Digests.readSmall(
        blobs.resolve(Digests.hex(Digests.require(digest, "blob"))),
        max,
        "blob " + Digests.shortForm(digest));
  }

  /** A new, empty file under tmp/ for a download. */
  Path newIngestFile() throws IOException {
    return Files.createTempFile(tmp, "ingest-", "");
  }

  /** Free bytes on the store's file system. */
  long usableSpace() throws IOException {
    return Files.getFileStore(tmp).getUsableSpace();
  }

  /** Every stored blob's digest ("sha256:..."; names that are not digests included as they are). */
  Set<String> digests() {
    Set<String> all = new HashSet<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(blobs)) {
      for (Path p : ds) all.add("sha256:" + p.getFileName());
    } catch (IOException ignored) {
      // nothing listed, nothing collected
    }
    return all;
  }

  /** Deletes blob {@code digest}; returns the bytes freed (0 when it was not there). */
  long delete(String digest) {
    Path f = path(digest);
    try {
      long size = Files.size(f);
      return Files.deleteIfExists(f) ? size : 0;
    } catch (IOException ignored) {
      return 0; // gone already, or collected next time
    }
  }

  /** Deletes every stored file whose name is not in {@code keepHex} (orphans, at open). */
  void deleteAllBut(Set<String> keepHex) throws IOException {
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(blobs)) {
      for (Path p : ds)
        if (!keepHex.contains(p.getFileName().toString())) LayerUnpacker.removeExisting(p);
    }
  }
}
