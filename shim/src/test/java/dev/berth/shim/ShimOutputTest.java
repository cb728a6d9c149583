package dev.berth.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.berth.api.shim.v1.CreateTaskRequest;
import dev.berth.api.shim.v1.Mount;
import dev.berth.api.shim.v1.StartTaskRequest;
import dev.berth.runtime.nativ.Posix;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The container's output across a kill -9 of its shim (real shim, real runc): the container holds
 * its FIFOs read-write, so it keeps running and writing (with plain pipes its next write got
 * SIGPIPE); a new reader takes the output over by path and the log ends up with every line once.
 */
class ShimOutputTest {
  private ShimHarness harness;

  @BeforeAll
  static void requireRootAndRunc() {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
    Assumptions.assumeTrue(
        Files.isExecutable(Path.of("/usr/sbin/runc"))
            || Files.isExecutable(Path.of("/usr/bin/runc")),
        "needs runc");
  }

  @AfterEach
  void cleanUp() throws Exception {
    if (harness != null) {
      harness.close();
    }
  }

  @Test
  void a_shim_killed_with_sigkill_loses_no_output_and_its_container_keeps_running()
      throws Exception {
    harness = new ShimHarness("counter");
    ShimHarness h = harness;
    Path bundle =
        h.bundle(
            "bundle",
            List.of("sh", "-c", "i=0; while true; do echo $i; i=$((i+1)); sleep 0.01; done"));
    int pid =
        h.shim()
            .create(
                CreateTaskRequest.newBuilder()
                    .setId(h.id)
                    .setBundle(bundle.toString())
                    .addRootfs(
                        Mount.newBuilder()
                            .setType("bind")
                            .setSource(h.rootfsSource.toString())
                            .addOptions("rbind"))
                    .setLogPath(h.logPath.toString())
                    .build())
            .getPid();
    for (String fifo : List.of("stdout.fifo", "stderr.fifo")) {
      int mode = (Integer) Files.getAttribute(h.stateDir.resolve(fifo), "unix:mode");
      assertEquals(0010600, mode & 0170777, fifo + ": a FIFO, 0600");
    }
    h.shim().start(StartTaskRequest.getDefaultInstance());
    assertTrue(eventually(() -> counters(h.logPath).size() >= 20), "the counter is logged");

    h.process.destroyForcibly(); // SIGKILL
    assertTrue(h.process.waitFor(10, TimeUnit.SECONDS));
    int atKill = counters(h.logPath).size();
    Thread.sleep(2000);
    assertTrue(ShimHarness.isRunning(pid), "the container died with its shim");

    // What a replacement shim does: reopen the FIFOs by path, resume the log where it stopped.
    ContainerOutput output =
        ContainerOutput.recover(h.id, h.stateDir, h.logPath, LogConverter.Faults.NONE);
    try (OutputPoller poller = new OutputPoller()) {
      poller.register(output);
      assertTrue(
          eventually(() -> counters(h.logPath).size() > atKill + 100),
          "output written during the outage reaches the log");
      Posix.kill(pid, 9);
      output.ended().get(10, TimeUnit.SECONDS);
      poller.unregister(output);
    }
    List<Long> values = counters(h.logPath);
    for (int i = 0; i < values.size(); i++) {
      assertEquals(i, values.get(i), "contiguous, no value lost or repeated");
    }
  }

  /** Every counter value in the log, in order (stdout lines' text split at newlines). */
  private static List<Long> counters(Path log) throws Exception {
    List<Long> values = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
      JsonObject entry = JsonParser.parseString(line).getAsJsonObject();
      if (entry.get("stream").getAsString().equals("stdout")) {
        text.append(entry.get("log").getAsString());
      }
    }
    for (String v : text.toString().split("\n")) {
      if (!v.isEmpty()) {
        values.add(Long.parseLong(v));
      }
    }
    return values;
  }

  private interface Check {
    boolean ok() throws Exception;
  }

  private static boolean eventually(Check check) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (check.ok()) {
        return true;
      }
      Thread.sleep(50);
    }
    return check.ok();
  }
}
