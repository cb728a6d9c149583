package dev.berth.it;

import static dev.berth.it.BerthHarness.eventually;
import static dev.berth.it.BerthHarness.processAlive;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.it.BerthHarness.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The daemon's own lifecycle: containers outlive it (kill -9 and SIGTERM), a restarted daemon finds
 * them again, and one root has one daemon. A fresh daemon per test: each test kills it.
 */
@Timeout(240)
class DaemonLifecycleIT {

  @Test
  void daemon_kill9_with_three_running_keeps_them_running_and_restart_lists_same_pids()
      throws Exception {
    try (BerthHarness berth = BerthHarness.start("kill9")) {
      Map<String, Long> pids = startThree(berth, "k9");
      Map<String, Long> shims = new LinkedHashMap<>();
      for (String id : pids.keySet()) shims.put(id, berth.shimPid(id));

      berth.kill9Daemon();
      Thread.sleep(500);
      for (var e : pids.entrySet()) {
        assertTrue(
            processAlive(e.getValue()),
            "container " + e.getKey() + " pid " + e.getValue() + " died with berthd");
        assertTrue(
            processAlive(shims.get(e.getKey())), "shim of " + e.getKey() + " died with berthd");
      }
      Result down = berth.berth("version");
      assertEquals(125, down.exitCode(), "version with no daemon:\n" + down);
      assertEquals(1, down.stderrLines().size(), down.toString());
      assertTrue(
          down.stderr().startsWith("Error: cannot connect to berthd at " + berth.socket),
          down.toString());

      berth.startDaemon();
      assertSameRunning(berth, pids);

      // the restarted daemon controls them again: exec, stop, then rm -f
      String first = pids.keySet().iterator().next();
      Result x = berth.berth("exec", first, "echo", "back");
      assertEquals(0, x.exitCode(), x.toString());
      assertEquals("back\n", x.stdout(), x.toString());
      Result stop = berth.berth(Duration.ofSeconds(30), "stop", "-t", "1", first);
      assertEquals(0, stop.exitCode(), stop.toString());
      JsonNode stopped = berth.inspect(first);
      assertEquals("stopped", stopped.path("state").asText(), stopped.toString());
      int code = stopped.path("exitCode").asInt();
      assertTrue(code == 143 || code == 137, "exit code after stop: " + code);

      List<String> rmArgs = new ArrayList<>(List.of("rm", "-f"));
      rmArgs.addAll(pids.keySet());
      Result rm = berth.berth(rmArgs.toArray(String[]::new));
      assertEquals(0, rm.exitCode(), rm.toString());
      for (var e : pids.entrySet()) {
        assertTrue(
            eventually(Duration.ofSeconds(5), () -> !processAlive(e.getValue())),
            "pid " + e.getValue() + " survived rm -f");
        assertTrue(
            eventually(
                Duration.ofSeconds(5),
                () ->
                    !processAlive(shims.get(e.getKey()))
                        || berth.autoGroupShims().contains(shims.get(e.getKey()))),
            "shim survived rm -f");
      }
      assertTrue(berth.psAll().isEmpty(), "ps -a after rm -f: " + berth.psAll());
    }
  }

  @Test
  void daemon_kill9_while_container_exits_reports_its_exit_code_after_restart() throws Exception {
    try (BerthHarness berth = BerthHarness.start("kill9-exit")) {
      String id = berth.runDetached("busybox", "sh", "-c", "sleep 2; exit 9");
      berth.kill9Daemon();
      // the container exits while no daemon runs; its shim records the exit
      Thread.sleep(3000);
      berth.startDaemon();
      assertTrue(
          eventually(
              Duration.ofSeconds(15),
              () -> berth.inspect(id).path("state").asText().equals("stopped")),
          "container that exited during the outage is not stopped: " + berth.inspect(id));
      assertEquals(9, berth.inspect(id).path("exitCode").asInt(), berth.inspect(id).toString());
      assertEquals("9", berth.ok("wait", id));
      berth.ok("rm", id);
    }
  }

  @Test
  void daemon_sigterm_leaves_containers_running() throws Exception {
    try (BerthHarness berth = BerthHarness.start("sigterm")) {
      Map<String, Long> pids = startThree(berth, "term");
      // one build, one version: the client's and the daemon's are the same string
      Result v = berth.berth("version");
      assertEquals(0, v.exitCode(), v.toString());
      List<String> versions =
          v.stdout().lines().filter(l -> l.startsWith(" Version:")).map(String::strip).toList();
      assertEquals(2, versions.size(), v.toString());
      assertEquals(versions.get(0), versions.get(1), v.toString());
      // --pidfile's default: the daemon's pid under --state, private, gone after a clean exit
      Path pidFile = berth.state.resolve("berthd.pid");
      assertEquals(Long.toString(berth.daemonPid()), Files.readString(pidFile).strip());
      assertEquals(
          "rw-------",
          java.nio.file.attribute.PosixFilePermissions.toString(
              Files.getPosixFilePermissions(pidFile)));
      int status = berth.terminateDaemon(Duration.ofSeconds(30));
      assertFalse(Files.exists(pidFile), "the pid file outlived a clean exit");
      assertTrue(
          status == 0 || status == 143,
          "berthd should exit cleanly on SIGTERM, status " + status + "\n" + berth.daemonLogTail());
      Thread.sleep(500);
      for (var e : pids.entrySet()) {
        assertTrue(
            processAlive(e.getValue()),
            "container " + e.getKey() + " did not survive berthd's SIGTERM");
      }
      // the lock is released: a new daemon starts on the same root and finds them
      berth.startDaemon();
      assertSameRunning(berth, pids);
    }
  }

  @Test
  void second_daemon_on_same_root_refuses() throws Exception {
    try (BerthHarness berth = BerthHarness.start("second")) {
      String id = berth.runDetached("busybox", "sleep", "600");
      Path otherState = Files.createTempDirectory(Path.of("/tmp"), "bit2-");
      try {
        Path otherSocket = otherState.resolve("berth.sock");
        List<String> cmd =
            new ArrayList<>(
                List.of(
                    BerthHarness.BERTHD.toString(),
                    "--root",
                    berth.root.toString(),
                    "--state",
                    otherState.toString(),
                    "--socket",
                    otherSocket.toString()));
        Result second = BerthHarness.exec(Duration.ofSeconds(60), cmd);
        assertEquals(
            1, second.exitCode(), "a second berthd on the same root must exit 1:\n" + second);
        String all = second.stdout() + second.stderr();
        assertTrue(
            all.contains(berth.root.toString()) || all.toLowerCase().contains("already"),
            "the refusal should say why (the root, or 'already running'):\n" + second);
        assertFalse(Files.exists(otherSocket), "the refused daemon created its socket");
        // the first daemon and its container are untouched
        assertTrue(berth.daemonAlive(), "the first berthd died");
        assertEquals(0, berth.berth("version").exitCode());
        assertEquals("running", berth.inspect(id).path("state").asText());
      } finally {
        BerthHarness.exec(
            Duration.ofSeconds(30),
            List.of("rm", "-rf", "--one-file-system", otherState.toString()));
      }
    }
  }

  /** Three detached sleepers; returns id -> pid, all verified alive. */
  private static Map<String, Long> startThree(BerthHarness berth, String prefix) {
    Map<String, Long> pids = new LinkedHashMap<>();
    for (int i = 1; i <= 3; i++) {
      String id = berth.runDetached("--name", prefix + "-" + i, "busybox", "sleep", "600");
      long pid = berth.inspect(id).path("pid").asLong();
      assertTrue(pid > 0 && processAlive(pid), "container " + id + " pid " + pid);
      pids.put(id, pid);
    }
    return pids;
  }

  /**
   * Right after the restart the journaled facts (image, createdAt, startedAt) are known for every
   * container; within a few seconds each one is reported running with its old pid.
   */
  private static void assertSameRunning(BerthHarness berth, Map<String, Long> pids) {
    List<JsonNode> first = berth.psAll();
    for (String id : pids.keySet()) {
      JsonNode c = berth.find(first, id).orElse(null);
      if (c == null) fail("restarted berthd does not list " + id + " at all; ps -a: " + first);
      assertFalse(
          c.path("image").asText().isEmpty()
              || c.path("createdAt").asText().isEmpty()
              || c.path("startedAt").asText().isEmpty(),
          "right after the restart, ps -a lost journaled fields of " + id + ": " + c);
    }
    boolean same =
        eventually(
            Duration.ofSeconds(10),
            () -> {
              List<JsonNode> ps = berth.ps();
              return pids.entrySet().stream()
                  .allMatch(
                      e ->
                          berth
                              .find(ps, e.getKey())
                              .map(
                                  c ->
                                      c.path("state").asText().equals("running")
                                          && c.path("pid").asLong() == e.getValue())
                              .orElse(false));
            });
    if (!same) {
      fail(
          "within 10s of the restart, ps does not list "
              + pids
              + " as running with the same pids; ps -a: "
              + berth.psAll());
    }
  }
}
