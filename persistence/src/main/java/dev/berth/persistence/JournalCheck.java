package dev.berth.persistence;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import org.iq80.leveldb.DB;
import org.iq80.leveldb.DBIterator;
import org.iq80.leveldb.Options;
import org.iq80.leveldb.ReadOptions;
import org.iq80.leveldb.impl.Iq80DBFactory;

/**
 * Reads the whole journal once at start-up, before Pekko opens it: LevelDB with paranoid checks and
 * every block's checksum verified. LevelDB on its own skips a damaged log record silently, and a
 * damaged table makes every later read (recovery, the event feed) fail again and again; a journal
 * that does not read back cleanly is instead moved aside (kept for inspection) so the daemon can
 * start on a fresh one and rebuild its containers from what is on disk.
 */
public final class JournalCheck {
  /**
   * What the check found. {@code setAside} is where a damaged journal was moved (null when
   * healthy).
   */
  public record Outcome(boolean damaged, String reason, Path setAside) {
    public static final Outcome HEALTHY = new Outcome(false, null, null);
  }

  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

  private JournalCheck() {}

  /**
   * Checks {@code root/journal}; a damaged one is moved, with the snapshots, to {@code
   * root/damaged/<time>/}.
   */
  public static Outcome checkAndSetAside(Path root) throws IOException {
    Path journal = root.resolve("journal");
    if (!Files.isDirectory(journal) || !Files.exists(journal.resolve("CURRENT")))
      return Outcome.HEALTHY;
    String problem = readAll(journal.toFile());
    if (problem == null) return Outcome.HEALTHY;
    Path aside = root.resolve("damaged").resolve(STAMP.format(Instant.now()));
    Files.createDirectories(
        aside, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Files.move(journal, aside.resolve("journal"), StandardCopyOption.ATOMIC_MOVE);
    // Snapshots of the old journal's entities would be replayed against the new, empty one.
    Path snapshots = root.resolve("snapshots");
    if (Files.isDirectory(snapshots))
      Files.move(snapshots, aside.resolve("snapshots"), StandardCopyOption.ATOMIC_MOVE);
    return new Outcome(true, problem, aside);
  }

  /**
   * Null when every entry reads back with valid checksums, else a one-line description of the
   * damage.
   */
  static String readAll(File dir) {
    // First the checksums, before LevelDB's own recovery rewrites anything.
    try {
      String bad = LevelDbChecksums.verify(dir.toPath());
      if (bad != null) return bad;
    } catch (Exception e) {
      return describe(e);
    }
    Options options =
        new Options().createIfMissing(false).paranoidChecks(true).verifyChecksums(true);
    try (DB db = Iq80DBFactory.factory.open(dir, options)) {
      ReadOptions read = new ReadOptions().verifyChecksums(true).fillCache(false);
      try (DBIterator it = db.iterator(read)) {
        it.seekToFirst();
        while (it.hasNext()) {
          Map.Entry<byte[], byte[]> e = it.next();
          if (e.getKey() == null || e.getValue() == null) return "an entry without key or value";
        }
      }
      return null;
    } catch (Throwable t) {
      // Anything LevelDB throws here (corruption, a bad table, a truncated file) is damage;
      // the daemon must start regardless, so nothing escapes but the description.
      if (t instanceof VirtualMachineError vme && !(t instanceof StackOverflowError)) throw vme;
      return describe(t);
    }
  }

  private static String describe(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) c = c.getCause();
    String m = c.getMessage();
    String line = c.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + m.strip());
    int nl = line.indexOf('\n');
    if (nl >= 0) line = line.substring(0, nl);
    return line.length() > 300 ? line.substring(0, 300) + "…" : line;
  }
}
