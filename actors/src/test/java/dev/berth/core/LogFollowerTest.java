package dev.berth.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.Done;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogFollowerTest {
  @TempDir Path dir;

  private static String line(String stream, String text) {
    return "{\"log\":\"" + text + "\\n\",\"stream\":\"" + stream + "\",\"time\":\"2026-01-01T00:00:00.000000001Z\"}\n";
  }

  @Test
  void follow_reads_to_the_end_even_when_the_log_is_removed_after_the_exit() throws Exception {
    Path log = Files.createFile(dir.resolve("container.log"));
    CompletableFuture<Done> exited = new CompletableFuture<>();
    List<String> got = new CopyOnWriteArrayList<>();
    Thread follower = new Thread(() -> {
      try {
        LogFollower.stream(new LogHandle(log, exited), true,
            l -> got.add(l.stream() + ":" + new String(l.data(), StandardCharsets.UTF_8)), () -> false);
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    follower.start();
    Thread.sleep(120); // the follower has the file open
    Files.writeString(log, line("stdout", "hello") + line("stderr", "oops"), StandardOpenOption.APPEND);
    // what --rm does right after the exit: unlink the log
    Files.delete(log);
    exited.complete(Done.getInstance());
    follower.join(5000);
    assertEquals(List.of("stdout:hello\n", "stderr:oops\n"), got);
  }

  @Test
  void without_follow_reads_what_is_there_and_skips_a_torn_line() throws Exception {
    Path log = dir.resolve("container.log");
    Files.writeString(log, line("stdout", "a") + "{\"log\":\"to" + "\n" + line("stdout", "b"));
    List<String> got = new CopyOnWriteArrayList<>();
    LogFollower.stream(new LogHandle(log, new CompletableFuture<>()), false,
        l -> got.add(new String(l.data(), StandardCharsets.UTF_8)), () -> false);
    assertEquals(List.of("a\n", "b\n"), got);
  }
}
