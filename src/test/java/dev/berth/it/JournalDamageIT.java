package dev.berth.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.it.BerthHarness.Result;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A damaged journal is detected and reported, never silent: the daemon starts, every container on
 * disk is managed again (a running one with its same process), `berth info` and the event feed say
 * what happened, and no request hangs.
 */
@Timeout(300)
class JournalDamageIT {

  /** Three bystanders: a running one, one that exited 3, one only created. Returns name -> id. */
  private static Map<String, String> bystanders(BerthHarness b) {
    String keeper = b.runDetached("--name", "keeper", "busybox", "sleep", "600");
    String exited = b.runDetached("--name", "exited", "busybox", "sh", "-c", "exit 3");
    assertEquals("3", b.ok("wait", exited));
    String made = b.ok("create", "--name", "made", "busybox", "true");
    return Map.of("keeper", keeper, "exited", exited, "made", made);
  }

  private static void assertManagedAgain(BerthHarness b, Map<String, String> ids, long keeperPid) {
    Map<String, String> byName =
        b.psAll().stream()
            .collect(Collectors.toMap(c -> c.path("name").asText(), c -> c.path("id").asText()));
    assertEquals(ids, byName, "every container on disk is listed again, under its name");
    JsonNode keeper = b.inspect("keeper");
    assertEquals("running", keeper.path("state").asText());
    assertEquals(keeperPid, keeper.path("pid").asLong(), "the same process, managed again");
    // ...and really managed: a stop reaches it and its exit is recorded.
    b.ok("stop", "-t", "1", "keeper");
    assertEquals("137", b.ok("wait", "keeper"));
    assertTrue(b.ok("info").contains("rebuilt from disk"), "berth info says what happened");
    Result events = b.berth(Duration.ofSeconds(20), "events", "--since", "0", "--no-follow");
    assertEquals(0, events.exitCode(), events.toString());
    assertTrue(
        events.stdout().lines().findFirst().orElse("").contains("journal-damaged"),
        events.stdout());
    assertTrue(events.stdout().contains("(running (rebuilt from disk))"), events.stdout());
  }

  @Test
  void a_truncated_log_loses_no_container() throws Exception {
    try (BerthHarness b = BerthHarness.start("JournalDamageIT-truncated")) {
      Map<String, String> ids = bystanders(b);
      long keeperPid = b.inspect("keeper").path("pid").asLong();
      b.kill9Daemon();
      for (Path log : files(b.root.resolve("journal"), ".log")) {
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "rw")) {
          f.setLength(0);
        }
      }
      b.startDaemon();
      assertTrue(
          BerthHarness.eventually(Duration.ofSeconds(20), () -> b.psAll().size() == 3),
          b.daemonLogTail());
      assertManagedAgain(b, ids, keeperPid);
      assertTrue(b.daemonLogTail().contains("missing from the journal"), b.daemonLogTail());
    }
  }

  @Test
  void a_garbled_table_is_set_aside_and_nothing_hangs() throws Exception {
    try (BerthHarness b = BerthHarness.start("JournalDamageIT-table")) {
      Map<String, String> ids = bystanders(b);
      long keeperPid = b.inspect("keeper").path("pid").asLong();
      // A restart moves the log into a table (LevelDB's recovery writes level 0).
      b.kill9Daemon();
      b.startDaemon();
      b.kill9Daemon();
      List<Path> tables = files(b.root.resolve("journal"), ".sst");
      assertTrue(!tables.isEmpty(), "a table to damage");
      for (Path t : tables) {
        try (RandomAccessFile f = new RandomAccessFile(t.toFile(), "rw")) {
          f.seek(f.length() / 3);
          f.write("GARBLED".getBytes());
        }
      }
      long t0 = System.nanoTime();
      b.startDaemon();
      Result ps = b.berth(Duration.ofSeconds(10), "ps", "-a");
      assertEquals(0, ps.exitCode(), ps.toString());
      assertTrue(
          BerthHarness.eventually(Duration.ofSeconds(20), () -> b.psAll().size() == 3),
          b.daemonLogTail());
      assertTrue(
          Duration.ofNanos(System.nanoTime() - t0).toSeconds() < 30,
          "no request waited for a failing journal");
      assertManagedAgain(b, ids, keeperPid);
      assertTrue(b.ok("info").contains("damaged at start-up"), b.ok("info"));
      // The damaged journal is kept for inspection, private.
      try (Stream<Path> aside = Files.list(b.root.resolve("damaged"))) {
        Path dir = aside.findFirst().orElseThrow();
        assertTrue(Files.isDirectory(dir.resolve("journal")));
        assertEquals(
            "rwx------",
            java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir)));
      }
      // The new journal works: a new container, a restart, and it is still there.
      b.ok("create", "--name", "after", "busybox", "true");
      b.kill9Daemon();
      b.startDaemon();
      assertEquals(4, b.psAll().size());
      assertTrue(
          b.ok("info").contains("Journal:      ok"), "a later start finds the new journal healthy");
    }
  }

  private static List<Path> files(Path dir, String suffix) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(suffix)).toList();
    }
  }
}
