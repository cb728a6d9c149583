package dev.berth.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.pekko.Done;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogFollowerTest {
  @TempDir Path dir;

  static ActorSystem system;
  static ExecutorService io;

  @BeforeAll
  static void start() {
    system = ActorSystem.create("LogFollowerTest");
    io = Executors.newCachedThreadPool();
  }

  @AfterAll
  static void stop() throws Exception {
    io.shutdownNow();
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static String line(String stream, String text) {
    return "{\"log\":\""
        + text
        + "\\n\",\"stream\":\""
        + stream
        + "\",\"time\":\"2026-01-01T00:00:00.000000001Z\"}\n";
  }

  private static String text(LogFollower.LogLine l) {
    return new String(l.data(), StandardCharsets.UTF_8);
  }

  @Test
  void follow_reads_to_the_end_even_when_the_log_is_removed_after_the_exit() throws Exception {
    Path log = Files.createFile(dir.resolve("container.log"));
    CompletableFuture<Done> exited = new CompletableFuture<>();
    CompletableFuture<List<String>> got =
        LogFollower.source(new LogHandle(log, exited), true, io)
            .map(l -> l.stream() + ":" + text(l))
            .runWith(Sink.seq(), system)
            .toCompletableFuture();
    // the follower has the file open (waited for: a fixed pause is too short on a loaded machine)
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (openDescriptors(log) == 0 && System.nanoTime() < deadline) Thread.sleep(10);
    Files.writeString(
        log, line("stdout", "hello") + line("stderr", "oops"), StandardOpenOption.APPEND);
    // what --rm does right after the exit: unlink the log
    Files.delete(log);
    exited.complete(Done.getInstance());
    assertEquals(List.of("stdout:hello\n", "stderr:oops\n"), got.get(5, TimeUnit.SECONDS));
  }

  private static String timed(String text, String time) {
    return "{\"log\":\"" + text + "\\n\",\"stream\":\"stdout\",\"time\":\"" + time + "\"}\n";
  }

  private List<String> read(Path log, LogFollower.Window w) throws Exception {
    return LogFollower.source(new LogHandle(log, new CompletableFuture<>()), w, io)
        .map(l -> text(l).strip())
        .runWith(Sink.seq(), system)
        .toCompletableFuture()
        .get(5, TimeUnit.SECONDS);
  }

  @Test
  void tail_reads_only_the_last_lines_and_since_until_cut_by_line_time() throws Exception {
    Path log = dir.resolve("container.log");
    StringBuilder sb = new StringBuilder();
    // enough lines that the backwards scan crosses several 64 KiB chunks
    for (int i = 0; i < 5000; i++) {
      sb.append(
          timed(
              "line-" + i + "-" + "x".repeat(40),
              "2026-01-01T00:00:" + String.format("%02d", i % 60) + "Z"));
    }
    Files.writeString(log, sb.toString());
    List<String> last3 = read(log, new LogFollower.Window(false, 3, null, null));
    assertEquals(3, last3.size());
    assertTrue(last3.get(0).startsWith("line-4997-"), last3.toString());
    assertTrue(last3.get(2).startsWith("line-4999-"), last3.toString());
    assertEquals(List.of(), read(log, new LogFollower.Window(false, 0, null, null)));
    assertEquals(5000, read(log, new LogFollower.Window(false, 100000, null, null)).size());

    Path small = dir.resolve("small.log");
    Files.writeString(
        small,
        timed("a", "2026-01-01T00:00:01Z")
            + timed("b", "2026-01-01T00:00:02Z")
            + timed("c", "2026-01-01T00:00:03Z")
            + timed("d", "2026-01-01T00:00:04Z"));
    java.time.Instant t2 = java.time.Instant.parse("2026-01-01T00:00:02Z");
    java.time.Instant t3 = java.time.Instant.parse("2026-01-01T00:00:03Z");
    assertEquals(List.of("b", "c", "d"), read(small, new LogFollower.Window(false, -1, t2, null)));
    assertEquals(List.of("a", "b", "c"), read(small, new LogFollower.Window(false, -1, null, t3)));
    assertEquals(List.of("b", "c"), read(small, new LogFollower.Window(false, -1, t2, t3)));
    assertEquals(List.of("c"), read(small, new LogFollower.Window(false, 2, null, t3)));
    // a followed read whose until has passed ends instead of waiting for the run's exit
    assertEquals(List.of("a", "b", "c"), read(small, new LogFollower.Window(true, -1, null, t3)));

    // one entry can carry several lines (one read of the pipe): the tail counts output lines
    Path batched = dir.resolve("batched.log");
    Files.writeString(
        batched,
        timed("1", "2026-01-01T00:00:01Z")
            + timed("2\\n3\\n4", "2026-01-01T00:00:02Z")
            + timed("5", "2026-01-01T00:00:03Z"));
    assertEquals(List.of("4", "5"), read(batched, new LogFollower.Window(false, 2, null, null)));
    assertEquals(List.of("3\n4", "5"), read(batched, new LogFollower.Window(false, 3, null, null)));
    assertEquals(
        List.of("1", "2\n3\n4", "5"), read(batched, new LogFollower.Window(false, 9, null, null)));
  }

  @Test
  void without_follow_reads_what_is_there_and_skips_a_torn_line() throws Exception {
    Path log = dir.resolve("container.log");
    Files.writeString(log, line("stdout", "a") + "{\"log\":\"to" + "\n" + line("stdout", "b"));
    List<String> got =
        LogFollower.source(new LogHandle(log, new CompletableFuture<>()), false, io)
            .map(LogFollowerTest::text)
            .runWith(Sink.seq(), system)
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    assertEquals(List.of("a\n", "b\n"), got);
  }

  @Test
  void the_shims_spool_offset_field_is_ignored() throws Exception {
    Path log = dir.resolve("container.log");
    Files.writeString(
        log,
        "{\"log\":\"a\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-01T00:00:00.000000001Z\","
            + "\"o\":2}\n"
            + "{\"log\":\"b\\n\",\"stream\":\"stderr\",\"time\":\"2026-01-01T00:00:00.000000002Z\","
            + "\"o\":2}\n");
    List<String> got =
        LogFollower.source(new LogHandle(log, new CompletableFuture<>()), false, io)
            .map(l -> l.stream() + ":" + text(l))
            .runWith(Sink.seq(), system)
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    assertEquals(List.of("stdout:a\n", "stderr:b\n"), got);
  }

  @Test
  void cancelling_a_follow_closes_the_file() throws Exception {
    Path log = dir.resolve("container.log");
    StringBuilder many = new StringBuilder();
    for (int i = 0; i < 10_000; i++) many.append(line("stdout", "line " + i));
    Files.writeString(log, many);
    // a follow of a run that never ends: only a cancel stops it
    List<String> first =
        LogFollower.source(new LogHandle(log, new CompletableFuture<>()), true, io)
            .take(3)
            .map(LogFollowerTest::text)
            .runWith(Sink.seq(), system)
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    assertEquals(List.of("line 0\n", "line 1\n", "line 2\n"), first);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (openDescriptors(log) > 0 && System.nanoTime() < deadline) Thread.sleep(20);
    assertEquals(0, openDescriptors(log), "the cancelled follower still holds " + log + " open");
  }

  @Test
  void a_follow_waits_for_output_and_ends_after_the_exit() throws Exception {
    Path log = Files.createFile(dir.resolve("container.log"));
    CompletableFuture<Done> exited = new CompletableFuture<>();
    CompletableFuture<List<String>> got =
        LogFollower.source(new LogHandle(log, exited), true, io)
            .map(LogFollowerTest::text)
            .runWith(Sink.seq(), system)
            .toCompletableFuture();
    for (int i = 0; i < 3; i++) {
      Thread.sleep(80); // several empty polls between lines
      Files.writeString(log, line("stdout", "tick " + i), StandardOpenOption.APPEND);
    }
    Thread.sleep(80);
    assertTrue(!got.isDone(), "a follow must not end before the run exits");
    exited.complete(Done.getInstance());
    assertEquals(List.of("tick 0\n", "tick 1\n", "tick 2\n"), got.get(5, TimeUnit.SECONDS));
  }

  @Test
  void bytes_that_are_not_utf8_come_back_exactly_and_old_and_docker_lines_still_read()
      throws Exception {
    Path log = dir.resolve("container.log");
    // what the shim writes for printf '\377\376\0\1AB' (LogWriterTest checks the writer's side),
    // then a plain docker json-file line, and a line with a broken log_base64
    String binary =
        "{\"log\":\"\ufffd\ufffd\\u0000\\u0001AB\",\"stream\":\"stdout\","
            + "\"time\":\"2026-01-01T00:00:00.000000001Z\",\"log_base64\":\"//4AAUFC\"}\n";
    String broken =
        "{\"log\":\"kept\",\"stream\":\"stderr\",\"time\":\"2026-01-01T00:00:00Z\","
            + "\"log_base64\":\"***\"}\n";
    Files.writeString(log, binary + line("stdout", "caf\u00e9") + broken, StandardCharsets.UTF_8);
    List<byte[]> got =
        LogFollower.source(new LogHandle(log, new CompletableFuture<>()), false, io)
            .map(LogFollower.LogLine::data)
            .runWith(Sink.seq(), system)
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    assertEquals(3, got.size());
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, 'A', 'B'}, got.get(0));
    assertEquals("café\n", new String(got.get(1), StandardCharsets.UTF_8));
    assertEquals("kept", new String(got.get(2), StandardCharsets.UTF_8));
  }

  /** Descriptors of this JVM open on {@code file}. */
  private static long openDescriptors(Path file) throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.filter(
              fd -> {
                try {
                  return Files.readSymbolicLink(fd).equals(file);
                } catch (IOException e) {
                  return false; // closed while listing
                }
              })
          .count();
    }
  }
}
