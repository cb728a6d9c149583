package dev.berth.it;

import static dev.berth.it.BerthHarness.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.berth.it.BerthHarness.Result;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Server streams under flow control, against a real berthd: a 500 MB container log read in full by
 * `berth logs`, followed by a `berth logs -f` nobody reads and by a reader that stops early, with
 * berthd's resident memory measured around each (grpc used to buffer whatever a client had not
 * taken: the full read died at ~250 MB with "sendMessage() failed" and berthd was hundreds of MB
 * larger), and a cancelled `berth exec` whose process prints nothing.
 *
 * <p>berthd runs here with its heap pre-touched ({@code -XX:+AlwaysPreTouch}; it has the serial GC
 * and -Xmx256m): otherwise the first ~70 MB of garbage any request makes brings its young
 * generation's pages in for the first time (+~60 MiB of RSS once, measured), which is not what is
 * measured here. RSS growth is then what the daemon holds outside its heap, where grpc's netty
 * buffers live. The measured tests run first: a daemon that did buffer a log keeps that memory in
 * its buffer pools, which would hide the growth from the measurements after it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LogFlowIT {
  /** One line of the big log: 72 characters and a newline. */
  private static final byte[] LINE =
      "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\n"
          .getBytes(StandardCharsets.US_ASCII);

  private static final long LOG_BYTES = 500_000_000L;

  /** How much berthd's RSS may grow around a read: a few chunks in flight, not the log. */
  private static final long RSS_SLACK_KIB = 64 * 1024;

  static BerthHarness berth;
  static String bigLog;
  static Path bigLogFile;

  @BeforeAll
  static void startDaemonAndWriteTheLog() {
    berth =
        BerthHarness.start(
            "LogFlowIT", List.of(), Map.of("BERTHD_JAVA_OPTS", "-XX:+AlwaysPreTouch"));
    long started = System.nanoTime();
    bigLog =
        berth.runDetached(
            "busybox",
            "sh",
            "-c",
            "yes "
                + new String(LINE, 0, LINE.length - 1, StandardCharsets.US_ASCII)
                + " | head -c "
                + LOG_BYTES);
    Result waited = berth.berth(Duration.ofMinutes(5), "wait", bigLog);
    assertEquals(0, waited.exitCode(), waited.toString());
    assertEquals("0", waited.out(), waited.toString());
    bigLogFile = berth.containerDir(bigLog).resolve("container.log");
    report(
        "wrote the log in %.1f s (%d bytes of json lines); berthd RSS %d KiB",
        seconds(started), bigLogFile.toFile().length(), daemonRssKib());
  }

  @AfterAll
  static void stopDaemon() {
    if (berth != null) berth.close();
  }

  @Test
  @Order(1)
  @Timeout(120)
  void a_follower_nobody_reads_holds_the_daemon_flat_and_its_end_closes_the_log() throws Exception {
    long before = daemonRssKib();
    RssPeak peak = RssPeak.start();
    // stdout is a pipe this test never reads: the CLI blocks on its first 64 KiB
    Process stalled = cli(List.of("logs", "-f", bigLog), ProcessBuilder.Redirect.PIPE);
    assertTrue(
        eventually(Duration.ofSeconds(20), () -> daemonDescriptorsOn(bigLogFile) == 1),
        "berthd never opened the log for the follower");
    Thread.sleep(10_000);
    assertTrue(
        stalled.isAlive(), "berth logs -f ended although nobody read it: " + stderrOf(stalled));
    long peakKib = peak.stop();
    long during = daemonRssKib();
    report(
        "stalled follower (10 s): berthd RSS %d KiB before, peak %+d KiB, at the end %+d KiB",
        before, peakKib - before, during - before);

    stalled.destroy();
    assertTrue(stalled.waitFor(30, TimeUnit.SECONDS), "berth logs -f did not exit on SIGTERM");
    assertTrue(
        eventually(Duration.ofSeconds(10), () -> daemonDescriptorsOn(bigLogFile) == 0),
        "berthd still holds the log open after the follower went away");
    assertTrue(
        peakKib - before <= RSS_SLACK_KIB,
        "berthd grew by " + (peakKib - before) + " KiB for a stalled follower");
  }

  @Test
  @Order(2)
  @Timeout(300)
  void a_500_MB_log_is_read_in_full_and_the_daemon_stays_flat() throws Exception {
    long before = daemonRssKib();
    RssPeak peak = RssPeak.start();
    long started = System.nanoTime();
    Process logs = cli(List.of("logs", bigLog), ProcessBuilder.Redirect.PIPE);
    long bytes = 0;
    long lines = 0;
    try (InputStream in = logs.getInputStream()) {
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = in.read(buf)) > 0) {
        for (int i = 0; i < n; i++) {
          byte expected = LINE[(int) ((bytes + i) % LINE.length)];
          if (buf[i] != expected) {
            fail(
                "byte "
                    + (bytes + i)
                    + " of the log is '"
                    + (char) buf[i]
                    + "', expected '"
                    + (char) expected
                    + "'");
          }
          if (buf[i] == '\n') lines++;
        }
        bytes += n;
      }
    }
    assertTrue(
        logs.waitFor(60, TimeUnit.SECONDS), "berth logs did not exit after its output ended");
    double took = seconds(started);
    long peakKib = peak.stop();
    long after = daemonRssKib();
    report(
        "full read: %d bytes, %d lines in %.1f s; berthd RSS %d KiB before, peak %+d KiB, after %+d KiB",
        bytes, lines, took, before, peakKib - before, after - before);

    assertEquals(0, logs.exitValue(), "berth logs failed: " + stderrOf(logs));
    assertEquals(LOG_BYTES, bytes, "bytes read back");
    assertEquals(LOG_BYTES / LINE.length, lines, "lines read back");
    assertTrue(
        peakKib - before <= RSS_SLACK_KIB,
        "berthd grew by " + (peakKib - before) + " KiB during the read");
    assertTrue(
        after - before <= RSS_SLACK_KIB,
        "berthd is " + (after - before) + " KiB larger after the read");
  }

  @Test
  @Order(3)
  @Timeout(120)
  void a_reader_that_stops_early_ends_its_stream_and_the_log_is_closed() throws Exception {
    long before = daemonRssKib();
    RssPeak peak = RssPeak.start();
    Process partial = cli(List.of("logs", bigLog), ProcessBuilder.Redirect.PIPE);
    long read = 0;
    try (InputStream in = partial.getInputStream()) {
      byte[] buf = new byte[1 << 16];
      int n;
      while (read < LOG_BYTES / 5 && (n = in.read(buf)) > 0) read += n;
    } // closing the pipe: the CLI's next write fails and it stops (as under `| head`)
    assertTrue(
        partial.waitFor(30, TimeUnit.SECONDS), "berth logs did not end after its reader went away");
    assertTrue(
        read >= LOG_BYTES / 5, "the log ended after " + read + " bytes: " + stderrOf(partial));
    assertTrue(
        eventually(Duration.ofSeconds(10), () -> daemonDescriptorsOn(bigLogFile) == 0),
        "berthd still holds the log open after its reader went away");
    long peakKib = peak.stop();
    report(
        "reader that stopped after %d bytes: berthd RSS %d KiB before, peak %+d KiB",
        read, before, peakKib - before);
    assertTrue(peakKib - before <= RSS_SLACK_KIB, "berthd grew by " + (peakKib - before) + " KiB");
  }

  @Test
  @Order(4)
  @Timeout(120)
  void cancelling_an_exec_that_prints_nothing_stops_its_process() throws Exception {
    String id = berth.runDetached("busybox", "sleep", "600");
    Process exec = cli(List.of("exec", id, "sleep", "331"), ProcessBuilder.Redirect.DISCARD);
    assertTrue(
        eventually(Duration.ofSeconds(20), () -> !processesRunning("sleep", "331").isEmpty()),
        "the exec never started: " + stderrOf(exec));
    exec.destroy(); // the CLI's connection closes: berthd cancels the shim's call
    assertTrue(exec.waitFor(30, TimeUnit.SECONDS), "berth exec did not exit on SIGTERM");
    assertTrue(
        eventually(Duration.ofSeconds(10), () -> processesRunning("sleep", "331").isEmpty()),
        "the exec's process survived the cancel: " + processesRunning("sleep", "331"));
    assertEquals(0, berth.berth("rm", "-f", id).exitCode());
  }

  // ------------------------------------------------------------------ helpers

  /** bin/berth ARGS with stdin /dev/null, stdout as given, stderr to a file (see stderrOf). */
  private static Process cli(List<String> args, ProcessBuilder.Redirect stdout) throws IOException {
    List<String> cmd =
        new ArrayList<>(
            List.of(BerthHarness.BERTH.toString(), "--socket", berth.socket.toString()));
    cmd.addAll(args);
    Path err = Files.createTempFile(berth.base, "cli-", ".err");
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectOutput(stdout)
            .redirectError(err.toFile());
    pb.environment().remove("BERTH_SOCKET");
    Process p = pb.start();
    STDERR.put(p, err);
    return p;
  }

  private static final Map<Process, Path> STDERR = new ConcurrentHashMap<>();

  private static String stderrOf(Process p) {
    try {
      return Files.readString(STDERR.get(p));
    } catch (IOException e) {
      return "(no stderr: " + e.getMessage() + ")";
    }
  }

  /** berthd's resident set (VmRSS), in KiB. */
  static long daemonRssKib() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + berth.daemonPid() + "/status"))) {
        if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    throw new IllegalStateException("no VmRSS for berthd " + berth.daemonPid());
  }

  /** The highest RSS of berthd seen every 100 ms until stopped. */
  static final class RssPeak {
    private final AtomicLong peak = new AtomicLong(daemonRssKib());
    private volatile boolean running = true;
    private final Thread sampler =
        new Thread(
            () -> {
              while (running) {
                peak.accumulateAndGet(daemonRssKib(), Math::max);
                try {
                  Thread.sleep(100);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "rss-sampler");

    static RssPeak start() {
      RssPeak p = new RssPeak();
      p.sampler.setDaemon(true);
      p.sampler.start();
      return p;
    }

    long stop() throws InterruptedException {
      running = false;
      sampler.join(5_000);
      return peak.accumulateAndGet(daemonRssKib(), Math::max);
    }
  }

  /** berthd's open descriptors on {@code file}. */
  static long daemonDescriptorsOn(Path file) {
    try (Stream<Path> fds = Files.list(Path.of("/proc/" + berth.daemonPid() + "/fd"))) {
      return fds.filter(
              fd -> {
                try {
                  return Files.readSymbolicLink(fd).equals(file);
                } catch (IOException e) {
                  return false; // closed while listing
                }
              })
          .count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Live processes on this host whose command line is exactly {@code args}. */
  static List<Long> processesRunning(String... args) {
    byte[] wanted = (String.join("\0", args) + "\0").getBytes(StandardCharsets.UTF_8);
    List<Long> found = new ArrayList<>();
    try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
      for (Path p : (Iterable<Path>) entries::iterator) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) continue;
        try {
          if (Arrays.equals(Files.readAllBytes(p.resolve("cmdline")), wanted)
              && BerthHarness.processAlive(Long.parseLong(name))) {
            found.add(Long.parseLong(name));
          }
        } catch (IOException gone) {
          // exited while listing
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return found;
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  private static void report(String format, Object... args) {
    System.out.println("LogFlowIT: " + String.format(format, args));
  }
}
