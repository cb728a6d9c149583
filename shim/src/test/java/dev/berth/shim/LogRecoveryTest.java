package dev.berth.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The converter stopped at each of its crash points (as a SIGKILL of the shim would stop it), then
 * a new poller and converter take the output over by path ({@link ContainerOutput#recover}): the
 * log holds every byte the writer wrote, in order, exactly once, and each line's "o" is exact.
 */
class LogRecoveryTest {
  private static final int LINES = 400;

  @TempDir Path dir;
  private Process writer;

  @AfterEach
  void stopWriter() throws Exception {
    if (writer != null && writer.isAlive()) {
      writer.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
  }

  /**
   * A stand-in container: it opens both FIFOs read-write itself (so it never meets SIGPIPE while no
   * shim reads), says so with the file "ready", prints its lines and waits for the file "go" after
   * {@code pauseAt} of them. Returns once it is ready: a FIFO without a writer reads as ended.
   */
  private Process startWriter(Path task, int pauseAt) throws Exception {
    String waitGo = "while [ ! -e go ]; do sleep 0.02; done; ";
    String script =
        "exec 1<>stdout.fifo 2<>stderr.fifo; touch ready; i=0; while [ $i -lt "
            + LINES
            + " ]; do if [ $i -eq "
            + pauseAt
            + " ]; then "
            + waitGo
            + "fi; echo \"out $i\"; echo \"err $i é\" >&2; i=$((i+1)); done; "
            + (pauseAt >= LINES ? waitGo : "");
    Process p = new ProcessBuilder("sh", "-c", script).directory(task.toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!Files.exists(task.resolve("ready"))) {
      assertTrue(p.isAlive() && System.nanoTime() < deadline, "the writer did not start");
      Thread.sleep(5);
    }
    return p;
  }

  private static String expected(String stream) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < LINES; i++) {
      b.append(stream.equals("stdout") ? "out " + i + "\n" : "err " + i + " é\n");
    }
    return b.toString();
  }

  /**
   * Crashes at {@code point} the {@code nth} time it is passed. The writer's first half gives each
   * stream at least one chunk, so every point is passed at least twice before it waits for "go".
   */
  private static LogConverter.Faults crashAt(LogConverter.Point point, int nth) {
    AtomicInteger seen = new AtomicInteger();
    return p -> {
      if (p == point && seen.incrementAndGet() == nth) {
        throw new LogConverter.Crash(p);
      }
    };
  }

  @ParameterizedTest
  @EnumSource(LogConverter.Point.class)
  void a_converter_stopped_at_any_crash_point_resumes_without_loss_or_repeat(
      LogConverter.Point point) throws Exception {
    Path task = Files.createDirectories(dir.resolve("task"));
    Path log = dir.resolve("container.log");
    LogConverter.Faults faults = crashAt(point, 2);
    ContainerOutput first = ContainerOutput.create("c", task, log, faults);
    OutputPoller poller = new OutputPoller(new LogConverter(faults));
    writer = startWriter(task, LINES / 2);
    poller.register(first);
    poller.converter().stopped().get(10, TimeUnit.SECONDS); // the crash
    // The rest of the first half reaches the spool (the poller still runs), as after a kill
    // the bytes would wait in the FIFO: either way nothing is lost.
    Thread.sleep(200);
    poller.close();
    first.closeFiles();
    if (point == LogConverter.Point.TORN_APPEND) {
      String text = Files.readString(log);
      assertTrue(!text.isEmpty() && !text.endsWith("\n"), "a torn last line: " + text);
    }

    ContainerOutput second = ContainerOutput.recover("c", task, log, LogConverter.Faults.NONE);
    OutputPoller next = new OutputPoller();
    try {
      next.register(second);
      Files.createFile(task.resolve("go"));
      assertEquals(0, writer.waitFor(10, TimeUnit.SECONDS) ? writer.exitValue() : -1);
      second.ended().get(10, TimeUnit.SECONDS);
      next.unregister(second);
    } finally {
      next.close();
    }
    assertExactLog(log);
    List<String> offsets = Files.readAllLines(task.resolve(ContainerOutput.OFFSETS));
    assertEquals(
        expected("stdout").getBytes(StandardCharsets.UTF_8).length
            + " "
            + expected("stderr").getBytes(StandardCharsets.UTF_8).length,
        offsets.get(0).strip());
  }

  /**
   * The container ended while no shim read its output, after everything it wrote had reached the
   * spool (the kernel drops what a FIFO holds when its last opener closes it). A FIFO reopened with
   * no writer left never reports its end to poll(2); the recovery still finds it, converts the
   * spool and ends.
   */
  @Test
  void output_of_a_container_that_ended_during_the_outage_is_recovered_to_its_end()
      throws Exception {
    Path task = Files.createDirectories(dir.resolve("task"));
    Path log = dir.resolve("container.log");
    ContainerOutput first =
        ContainerOutput.create("c", task, log, crashAt(LogConverter.Point.AFTER_APPEND, 2));
    OutputPoller poller =
        new OutputPoller(new LogConverter(crashAt(LogConverter.Point.AFTER_APPEND, 2)));
    writer = startWriter(task, LINES);
    poller.register(first);
    poller.converter().stopped().get(10, TimeUnit.SECONDS);
    Thread.sleep(200);
    poller.close();
    Files.createFile(task.resolve("go"));
    assertEquals(0, writer.waitFor(10, TimeUnit.SECONDS) ? writer.exitValue() : -1);
    first.closeFiles();

    ContainerOutput second = ContainerOutput.recover("c", task, log, LogConverter.Faults.NONE);
    try (OutputPoller next = new OutputPoller()) {
      next.register(second);
      second.ended().get(10, TimeUnit.SECONDS);
      next.unregister(second);
    }
    assertExactLog(log);
  }

  private static void assertExactLog(Path log) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
      JsonObject entry = JsonParser.parseString(line).getAsJsonObject(); // a torn line fails
      ByteArrayOutputStream stream = entry.get("stream").getAsString().equals("stdout") ? out : err;
      stream.write(entry.get("log").getAsString().getBytes(StandardCharsets.UTF_8));
      assertEquals(stream.size(), entry.get("o").getAsLong(), "the line's o: " + line);
    }
    assertEquals(expected("stdout"), out.toString(StandardCharsets.UTF_8));
    assertEquals(expected("stderr"), err.toString(StandardCharsets.UTF_8));
  }
}
