package dev.berth.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.iq80.leveldb.DB;
import org.iq80.leveldb.Options;
import org.iq80.leveldb.impl.Iq80DBFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real LevelDB directories, damaged the ways a disk or an operator damages them. */
class JournalCheckTest {
  @TempDir Path tmp;

  @BeforeAll
  static void noMmap() {
    System.setProperty("leveldb.mmap", "false");
  }

  /** A journal with one table (written by a reopen) and a live log. */
  private Path journal() throws IOException {
    Path root = tmp.resolve("root");
    Path dir = root.resolve("journal");
    Files.createDirectories(dir);
    try (DB db = Iq80DBFactory.factory.open(dir.toFile(), new Options().createIfMissing(true))) {
      for (int i = 0; i < 500; i++)
        db.put(bytes("key-" + i), bytes("value-" + i + "-".repeat(i % 50)));
    }
    // Reopening recovers the log into a level-0 table; the next writes go to a new log.
    try (DB db = Iq80DBFactory.factory.open(dir.toFile(), new Options())) {
      for (int i = 0; i < 20; i++) db.put(bytes("later-" + i), bytes("v" + i));
    }
    Files.createDirectories(root.resolve("snapshots"));
    return root;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static Path first(Path dir, String suffix) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(suffix)).findFirst().orElseThrow();
    }
  }

  private static void flipByte(Path f, long at) throws IOException {
    try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
      r.seek(at);
      int b = r.read();
      r.seek(at);
      r.write(b ^ 0x20);
    }
  }

  @Test
  void a_healthy_journal_is_left_where_it_is() throws IOException {
    Path root = journal();
    assertNull(LevelDbChecksums.verify(root.resolve("journal")));
    JournalCheck.Outcome o = JournalCheck.checkAndSetAside(root);
    assertFalse(o.damaged());
    assertTrue(Files.exists(root.resolve("journal/CURRENT")));
  }

  @Test
  void no_journal_yet_is_healthy() throws IOException {
    assertFalse(JournalCheck.checkAndSetAside(tmp).damaged());
  }

  @Test
  void a_flipped_byte_in_a_table_is_found_and_the_journal_set_aside_with_its_snapshots()
      throws IOException {
    Path root = journal();
    Path table = first(root.resolve("journal"), ".sst");
    flipByte(table, Files.size(table) / 3);
    JournalCheck.Outcome o = JournalCheck.checkAndSetAside(root);
    assertTrue(o.damaged());
    assertTrue(o.reason().contains("checksum mismatch"), o.reason());
    assertEquals(1, o.reason().lines().count(), "one line");
    assertFalse(Files.exists(root.resolve("journal")), "moved away");
    assertTrue(
        Files.exists(o.setAside().resolve("journal").resolve(table.getFileName())),
        "kept for inspection");
    assertTrue(Files.isDirectory(o.setAside().resolve("snapshots")));
  }

  @Test
  void a_flipped_byte_in_the_log_is_found() throws IOException {
    Path root = journal();
    Path log = first(root.resolve("journal"), ".log");
    assertTrue(Files.size(log) > 20);
    flipByte(log, 12);
    JournalCheck.Outcome o = JournalCheck.checkAndSetAside(root);
    assertTrue(o.damaged(), "LevelDB alone would drop the record silently");
    assertTrue(o.reason().contains(".log"), o.reason());
  }

  @Test
  void a_log_cut_in_the_middle_of_its_last_record_is_what_a_crash_leaves_not_damage()
      throws IOException {
    Path root = journal();
    Path log = first(root.resolve("journal"), ".log");
    try (RandomAccessFile r = new RandomAccessFile(log.toFile(), "rw")) {
      r.setLength(r.length() - 3);
    }
    assertNull(LevelDbChecksums.verify(root.resolve("journal")));
  }

  @Test
  void a_garbled_table_footer_is_damage() throws IOException {
    Path root = journal();
    Path table = first(root.resolve("journal"), ".sst");
    flipByte(table, Files.size(table) - 2);
    assertNotNull(LevelDbChecksums.verify(root.resolve("journal")));
  }

  @Test
  void a_missing_table_is_damage() throws IOException {
    Path root = journal();
    Files.delete(first(root.resolve("journal"), ".sst"));
    JournalCheck.Outcome o = JournalCheck.checkAndSetAside(root);
    assertTrue(o.damaged());
    assertTrue(List.of(o.reason()).get(0).length() <= 301);
  }
}
