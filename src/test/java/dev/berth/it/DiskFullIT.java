package dev.berth.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.it.BerthHarness.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * --root and --state on small tmpfs mounts, and a container that writes until the disk is full:
 * berthd keeps serving reads, refuses creates with one line, survives a kill -9 and a restart on
 * the full disk, recovers by itself when space returns; a container's log loses no line and never
 * holds a torn one, also while the log itself cannot be written.
 */
@Timeout(300)
class DiskFullIT {

  @Test
  void a_full_disk_refuses_writes_keeps_reads_and_recovers_by_itself() throws Exception {
    BerthHarness b = BerthHarness.prepare("DiskFullIT", List.of("--min-free-space", "8m"));
    List<Path> mounts = new ArrayList<>();
    try {
      mount(b.root, "48m", mounts);
      mount(b.state, "16m", mounts);
      b.startDaemon();
      b.importBusybox();
      String logger =
          b.runDetached(
              "--name",
              "logger",
              "busybox",
              "sh",
              "-c",
              "i=0; while true; do i=$((i+1)); echo \"line $i\"; sleep 0.01; done");
      String filler =
          b.runDetached(
              "--name",
              "filler",
              "busybox",
              "sh",
              "-c",
              "dd if=/dev/zero of=/fill bs=1M; echo full; sleep 600");
      assertTrue(
          BerthHarness.eventually(
              Duration.ofSeconds(60), () -> b.ok("logs", filler).contains("full")),
          "the filler filled the disk");

      // Writes are refused with one line and change nothing; reads go on.
      List<String> before = ids(b.psAll());
      Result create = b.berth("create", "--name", "more", "busybox", "true");
      assertEquals(125, create.exitCode(), create.toString());
      assertEquals(1, create.stderrLines().size(), create.toString());
      assertTrue(
          create.stderr().contains("no space left on device under " + b.root), create.toString());
      assertEquals(before, ids(b.psAll()));
      assertEquals("running", b.inspect("logger").path("state").asText());

      // A daemon killed on a full disk starts again and serves (it used to die at journal open).
      long loggerPid = b.inspect(logger).path("pid").asLong();
      b.kill9Daemon();
      b.startDaemon();
      assertEquals(before, ids(b.psAll()));
      assertEquals(
          loggerPid, b.inspect(logger).path("pid").asLong(), "same process after the restart");

      // Now the log itself cannot be written: the shim trims what it half-wrote and waits.
      Path hostFill = b.root.resolve("host-fill");
      BerthHarness.exec(
          Duration.ofSeconds(60), List.of("dd", "if=/dev/zero", "of=" + hostFill, "bs=4k"));
      Path shimLog = b.shimHome(logger).resolve("shim.log");
      assertTrue(
          BerthHarness.eventually(
              Duration.ofSeconds(20), () -> readQuietly(shimLog).contains("cannot append")),
          "the log writer met the full disk");
      Thread.sleep(1500);
      Files.delete(hostFill);
      assertTrue(
          BerthHarness.eventually(
              Duration.ofSeconds(20), () -> readQuietly(shimLog).contains("appending to")),
          "the log writer resumed");

      // Space back: writes are accepted again without any help.
      b.ok("rm", "-f", filler);
      assertTrue(
          BerthHarness.eventually(
              Duration.ofSeconds(20),
              () -> b.berth("run", "--rm", "busybox", "echo", "ok").out().equals("ok")),
          "writes accepted again");
      assertTrue(b.daemonAlive(), "berthd never died");

      b.ok("stop", "-t", "1", logger);
      List<Long> counters = new ArrayList<>();
      for (String line : Files.readAllLines(b.containerDir(logger).resolve("container.log"))) {
        JsonNode entry = BerthHarness.parse(line); // a torn line fails here
        for (String text : entry.path("log").asText().split("\n")) {
          if (!text.isBlank())
            counters.add(Long.parseLong(text.strip().substring("line ".length())));
        }
      }
      assertTrue(counters.size() > 100, "lines logged: " + counters.size());
      for (int i = 0; i < counters.size(); i++) {
        assertEquals(i + 1, counters.get(i), "no line lost or repeated around the full disk");
      }
    } finally {
      try {
        b.close();
      } finally {
        for (Path m : mounts)
          BerthHarness.exec(Duration.ofSeconds(30), List.of("umount", "-l", m.toString()));
        BerthHarness.exec(
            Duration.ofSeconds(30), List.of("rm", "-rf", b.base.toString(), b.state.toString()));
      }
    }
  }

  private static void mount(Path dir, String size, List<Path> mounts) {
    Result r =
        BerthHarness.exec(
            Duration.ofSeconds(30),
            List.of(
                "mount",
                "-t",
                "tmpfs",
                "-o",
                "size=" + size + ",mode=0700",
                "tmpfs",
                dir.toString()));
    assertEquals(0, r.exitCode(), r.toString());
    mounts.add(dir);
  }

  private static List<String> ids(List<JsonNode> containers) {
    return containers.stream().map(c -> c.path("id").asText()).sorted().toList();
  }

  private static String readQuietly(Path f) {
    try {
      return Files.readString(f);
    } catch (Exception e) {
      return "";
    }
  }
}
