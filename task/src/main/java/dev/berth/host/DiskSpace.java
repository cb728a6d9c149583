package dev.berth.host;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a full disk from taking the daemon down. Two rules:
 *
 * <ul>
 *   <li>Requests that make new things (create, start, pull, import, login) are refused with one
 *       line while {@code --root} or {@code --state} has less than {@code reserve} bytes free;
 *       reads, stops, kills and removals go on (they free space or need only a few journal
 *       records).
 *   <li>A preallocated file of {@code reserve / 2} bytes (at most 16 MiB) sits under {@code
 *       --root}. When a container fills the disk to the last byte anyway, the file is deleted, so
 *       the journal still has room for what it must record (exits, stop intents) and can open at
 *       start-up; it is made again once the space is back.
 * </ul>
 *
 * <p>Free space is read with statfs at every check: the daemon recovers by itself when space
 * returns.
 */
public final class DiskSpace {
  private static final Logger log = LoggerFactory.getLogger(DiskSpace.class);
  private static final long MIB = 1024 * 1024;

  /** The operations refused on a full disk (names of the daemon's API operations). */
  private static final Set<String> WRITES =
      Set.of(
          "CreateContainer",
          "CreateContainerWithFailpoints",
          "StartContainer",
          "ImportImage",
          "PullImage",
          "Login");

  private final Path root;
  private final Path state;
  private final long reserve;
  private final Path reserveFile;
  private final long reserveFileSize;
  private volatile boolean full;

  public DiskSpace(Path root, Path state, long reserveBytes) {
    this.root = root;
    this.state = state;
    this.reserve = reserveBytes;
    this.reserveFile = root.resolve("space.reserve");
    this.reserveFileSize = Math.min(reserveBytes / 2, 16 * MIB);
  }

  /** Whether {@code operation} (an API operation name) makes something new and so needs space. */
  public static boolean isWrite(String operation) {
    return WRITES.contains(operation);
  }

  /** Null when both trees have room, else the one-line reason. */
  public String shortage() {
    String r = shortage(root);
    return r != null ? r : state.equals(root) ? null : shortage(state);
  }

  private String shortage(Path dir) {
    long free = usable(dir);
    if (free < 0 || free >= reserve) return null;
    return "no space left on device under "
        + dir
        + " ("
        + free / MIB
        + " MiB free, berthd keeps "
        + reserve / MIB
        + " MiB for its journal)";
  }

  /**
   * Called at start-up (before the journal opens) and then every few seconds: gives the reserve up
   * when the disk is (nearly) full, makes it again when there is room, and logs transitions.
   */
  public void maintain() {
    long free = usable(root);
    boolean nowFull = shortage() != null;
    if (nowFull != full) {
      full = nowFull;
      if (nowFull)
        log.warn(
            "{}: refusing creates, starts, pulls and imports until space is freed", shortage());
      else
        log.info("space under {} is back ({} MiB free): accepting writes again", root, free / MIB);
    }
    try {
      boolean present = Files.exists(reserveFile);
      if (present && free >= 0 && free < MIB) {
        Files.deleteIfExists(reserveFile);
        log.warn(
            "the disk under {} is full: released the {} MiB reserve for the journal",
            root,
            reserveFileSize / MIB);
      } else if (!present && free >= reserve + reserveFileSize + MIB) {
        allocateReserve();
      }
    } catch (IOException e) {
      log.warn("cannot maintain {}: {}", reserveFile, e.getMessage());
    }
  }

  private void allocateReserve() throws IOException {
    Path tmp = reserveFile.resolveSibling(reserveFile.getFileName() + ".tmp");
    // Written, not just sized: a sparse file would reserve nothing.
    try (FileChannel ch =
        FileChannel.open(
            tmp,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(MIB, Math.max(1, reserveFileSize)));
      long left = reserveFileSize;
      while (left > 0) {
        zeros.clear().limit((int) Math.min(zeros.capacity(), left));
        left -= ch.write(zeros);
      }
      ch.force(true);
    } catch (IOException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    Files.move(
        tmp,
        reserveFile,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * statfs' available bytes; -1 when it cannot be read (then nothing is refused on its account).
   */
  static long usable(Path dir) {
    try {
      FileStore store = Files.getFileStore(dir);
      return store.getUsableSpace();
    } catch (IOException e) {
      return -1;
    }
  }
}
