package dev.berth.it;

import static dev.berth.it.BerthHarness.eventually;
import static dev.berth.it.BerthHarness.processAlive;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.it.BerthHarness.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * kill -9 of berthd and of shims at awkward moments (failpoints hold an RPC open at the moment of
 * the kill): nothing is lost — exit codes, exit times, events (exactly once, in order) — and
 * nothing leaks (processes, overlay mounts, cgroups, shim dirs, sockets). One daemon for the class;
 * a test that kills it starts it again.
 */
@Timeout(300)
class CrashResilienceIT {
  private static BerthHarness berth;

  @BeforeAll
  static void startDaemon() {
    // one shim per container: these tests kill a container's shim and expect only it to be lost
    berth = BerthHarness.start("crash", java.util.List.of("--shim-group-size", "1"));
  }

  @AfterAll
  static void stopDaemon() {
    if (berth != null) berth.close();
  }

  @BeforeEach
  void daemonUp() throws Exception {
    if (!berth.daemonAlive()) berth.startDaemon();
  }

  // ------------------------------------------------------------------ outages

  @Test
  void exit_during_a_1s_outage_is_reported_after_restart_with_its_code_time_and_one_exit_event()
      throws Exception {
    exitDuringOutage(Duration.ofSeconds(1));
  }

  @Test
  void exit_during_a_30s_outage_is_reported_after_restart_with_its_code_time_and_one_exit_event()
      throws Exception {
    exitDuringOutage(Duration.ofSeconds(30));
  }

  private void exitDuringOutage(Duration outage) throws Exception {
    // The container exits when told to (a file appears), so the exit falls inside the outage for
    // sure.
    String id =
        berth.runDetached("busybox", "sh", "-c", "until [ -e /go ]; do sleep 0.05; done; exit 7");
    berth.kill9Daemon();
    Instant down = Instant.now();
    runc("exec", id, "touch", "/go");
    Thread.sleep(outage.toMillis());
    Instant restart = Instant.now();
    berth.startDaemon();

    assertEquals("7", berth.ok("wait", id));
    JsonNode c = berth.inspect(id);
    assertEquals("stopped", c.path("state").asText(), c.toString());
    assertEquals(7, c.path("exitCode").asInt());
    Instant finished = Instant.parse(c.path("finishedAt").asText());
    assertTrue(
        finished.isAfter(down) && finished.isBefore(restart),
        "finishedAt "
            + finished
            + " is the real exit time, inside the outage "
            + down
            + " .. "
            + restart);

    berth.ok("rm", id);
    assertNoTrace(id);
    List<JsonNode> events = events(id);
    assertEquals(
        List.of("create", "start", "exit", "reconciled", "delete"),
        types(events),
        events.toString());
    JsonNode exit = events.get(2);
    assertEquals(7, exit.path("exitCode").asInt());
    assertEquals(finished, Instant.parse(exit.path("time").asText()));
    assertEquals("stopped", events.get(3).path("detail").asText());
    assertGapFree();
  }

  @Test
  void wait_logs_and_events_clients_connected_across_a_daemon_kill_continue_after_restart()
      throws Exception {
    String id =
        berth.runDetached(
            "busybox",
            "sh",
            "-c",
            "echo before; until [ -e /go ]; do sleep 0.05; done; echo after; exit 7");
    long since = lastSeq();
    Process wait = cli("wait", id);
    Process logs = cli("logs", "-f", id);
    Process events =
        cli(
            "events",
            "--since",
            Long.toString(since),
            "--format",
            "json",
            "--filter",
            "container=" + id);
    for (Process p : List.of(wait, logs, events)) {
      assertTrue(
          eventually(Duration.ofSeconds(30), () -> hasSocket(p.pid())),
          "client " + p.pid() + " never connected");
    }
    Thread.sleep(500); // the calls are in flight
    berth.kill9Daemon();
    runc("exec", id, "touch", "/go");
    Thread.sleep(1000);
    berth.startDaemon();
    try {
      assertTrue(wait.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "wait did not come back");
      assertEquals(0, wait.exitValue(), errors(wait));
      assertEquals("7", output(wait).strip());
      assertTrue(
          logs.waitFor(60, java.util.concurrent.TimeUnit.SECONDS),
          "logs -f did not end with the container");
      assertEquals(
          "before\nafter\n",
          output(logs),
          "no line lost, none repeated; stderr: " + errors(logs) + ", exit " + logs.exitValue());
      Thread.sleep(500); // the events that followed the exit reach the subscriber
    } finally {
      events.destroy();
      events.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
      wait.destroyForcibly();
      logs.destroyForcibly();
    }
    List<JsonNode> seen = BerthHarness.jsonLines(output(events));
    assertEquals(
        List.of("exit", "reconciled"), types(seen), "the subscriber got each event once: " + seen);
    assertEquals(7, seen.get(0).path("exitCode").asInt());
    berth.ok("rm", id);
  }

  /** A CLI JVM opens its first socket when it connects to berthd. */
  private static boolean hasSocket(long pid) {
    try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      return fds.anyMatch(
          fd -> {
            try {
              return Files.readSymbolicLink(fd).toString().startsWith("socket:");
            } catch (java.io.IOException gone) {
              return false;
            }
          });
    } catch (java.io.IOException gone) {
      return false;
    }
  }

  private static long lastSeq() {
    List<JsonNode> all =
        BerthHarness.jsonLines(
            berth.ok("events", "--since", "0", "--no-follow", "--format", "json"));
    return all.isEmpty() ? 0 : all.get(all.size() - 1).path("seq").asLong();
  }

  /**
   * bin/berth in the background; its stdout goes to {@link #output} (destroying a Process closes
   * its pipes).
   */
  private static Process cli(String... args) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(BerthHarness.BERTH.toString(), "--socket", berth.socket.toString()));
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile(berth.base, "cli-", ".out");
    Process p =
        new ProcessBuilder(cmd)
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectOutput(out.toFile())
            .redirectError(out.resolveSibling(out.getFileName() + ".err").toFile())
            .start();
    outputs.put(p, out);
    return p;
  }

  private static final java.util.Map<Process, Path> outputs =
      new java.util.concurrent.ConcurrentHashMap<>();

  private static String output(Process p) throws Exception {
    return Files.readString(outputs.get(p));
  }

  /**
   * Whether a shim holds the container's Create at its failpoint. The failpoint holds the RPC
   * before the shim takes the container on, so an adopted spare still logs in its own
   * STATE/shims/.spare-* dir then (it moves to the container's dir once Create goes through).
   */
  private static boolean createHeld(String id) {
    try (java.util.stream.Stream<Path> dirs = Files.list(berth.shimDir(id).getParent())) {
      return dirs.filter(
              d ->
                  d.getFileName().toString().equals(id)
                      || d.getFileName().toString().startsWith(".spare-"))
          .anyMatch(d -> logContains(d.resolve("shim.log"), "failpoint triggered: Create"));
    } catch (java.io.IOException e) {
      return false;
    }
  }

  private static boolean logContains(Path log, String text) {
    try {
      return Files.exists(log) && Files.readString(log).contains(text);
    } catch (java.io.IOException e) {
      return false;
    }
  }

  private static String errors(Process p) throws Exception {
    Path out = outputs.get(p);
    return Files.readString(out.resolveSibling(out.getFileName() + ".err"));
  }

  @Test
  void a_stale_socket_of_a_dead_shim_fails_fast_on_restart_and_is_cleaned_up() throws Exception {
    String id = berth.runDetached("busybox", "sleep", "600");
    long pid = berth.inspect(id).path("pid").asLong();
    long shim = berth.shimPid(id);
    Path socket = berth.shimSocket(id);
    berth.kill9Daemon();
    kill9(shim);
    assertTrue(Files.exists(socket), "the dead shim's socket file stays behind");

    berth.startDaemon();
    Instant answering = Instant.now();
    assertTrue(
        eventually(
            Duration.ofSeconds(5),
            () -> berth.inspect(id).path("state").asText().equals("stopped")),
        "not reconciled within 5 s of the API answering: " + berth.inspect(id));
    Duration took = Duration.between(answering, Instant.now());
    JsonNode c = berth.inspect(id);
    assertEquals(255, c.path("exitCode").asInt(), c.toString());
    assertTrue(c.path("error").asText().contains("shim lost"), c.toString());
    assertTrue(
        eventually(Duration.ofSeconds(5), () -> !processAlive(pid)),
        "the container process was left running");
    assertFalse(Files.exists(socket), "stale socket removed");
    assertTaskGone(id);
    assertEquals(List.of("create", "start", "shim-lost", "exit", "reconciled"), types(events(id)));
    System.out.println("stale socket reconciled " + took.toMillis() + " ms after the API answered");
    berth.ok("rm", id);
    assertNoTrace(id);
  }

  // ------------------------------------------------------------------ shim death

  @Test
  void shim_kill9_is_detected_promptly_recorded_as_255_and_leaves_nothing() throws Exception {
    String id = berth.runDetached("busybox", "sleep", "600");
    long pid = berth.inspect(id).path("pid").asLong();
    long shim = berth.shimPid(id);
    Instant killed = Instant.now();
    kill9(shim);
    assertTrue(
        eventually(
            Duration.ofSeconds(5),
            () -> berth.inspect(id).path("state").asText().equals("stopped")),
        "shim death not noticed within 5 s: " + berth.inspect(id));
    System.out.println(
        "shim death recorded after " + Duration.between(killed, Instant.now()).toMillis() + " ms");
    JsonNode c = berth.inspect(id);
    assertEquals(255, c.path("exitCode").asInt(), c.toString());
    assertTrue(c.path("error").asText().startsWith("shim lost"), c.toString());
    assertEquals("255", berth.ok("wait", id));
    assertTrue(
        eventually(Duration.ofSeconds(5), () -> !processAlive(pid)),
        "container process left behind");
    assertTaskGone(id);
    assertEquals(List.of("create", "start", "shim-lost", "exit"), types(events(id)));
    // the container can run again
    berth.ok("start", id);
    assertEquals("running", berth.inspect(id).path("state").asText());
    berth.ok("rm", "-f", id);
    assertNoTrace(id);
  }

  @Test
  void transient_shim_rpc_errors_never_kill_or_forget_a_live_container() throws Exception {
    // A: its first WaitExit fails while the daemon is up; B: its first State fails on reconnect.
    String a = berth.runDetached("--failpoint", "WaitExit=1*error", "busybox", "sleep", "600");
    String b = berth.runDetached("--failpoint", "State=1*error", "busybox", "sleep", "600");
    long pidA = berth.inspect(a).path("pid").asLong();
    long pidB = berth.inspect(b).path("pid").asLong();
    Thread.sleep(1500);
    assertEquals("running", berth.inspect(a).path("state").asText());
    assertTrue(processAlive(pidA));

    berth.kill9Daemon();
    berth.startDaemon();
    for (String id : List.of(a, b)) {
      assertTrue(
          eventually(
              Duration.ofSeconds(10),
              () -> berth.inspect(id).path("state").asText().equals("running")),
          "not running again: " + berth.inspect(id));
    }
    assertEquals(pidA, berth.inspect(a).path("pid").asLong());
    assertEquals(pidB, berth.inspect(b).path("pid").asLong());
    assertTrue(processAlive(pidA) && processAlive(pidB));
    // still fully controlled: stop answers with the real exit
    Result stop = berth.berth(Duration.ofSeconds(30), "stop", "-t", "1", a, b);
    assertEquals(0, stop.exitCode(), stop.toString());
    assertEquals(List.of("create", "start", "reconciled", "exit"), types(events(b)));
    berth.ok("rm", a, b);
    assertNoTrace(a);
    assertNoTrace(b);
  }

  // ------------------------------------------------------------------ daemon killed mid-RPC

  @Test
  void daemon_kill_between_shim_start_and_create_converges_to_created_with_nothing_leaked()
      throws Exception {
    CompletableFuture<Result> run =
        CompletableFuture.supplyAsync(
            () ->
                berth.berth(
                    "run",
                    "-d",
                    "--name",
                    "midcreate",
                    "--failpoint",
                    "Create=delay(3000)",
                    "busybox",
                    "sleep",
                    "600"));
    String id = awaitId("midcreate");
    assertTrue(
        eventually(Duration.ofSeconds(30), () -> createHeld(id)), "Create never reached the shim");
    berth.kill9Daemon(); // the shim holds Create now
    assertNotEquals(0, run.get().exitCode(), "the client saw its daemon die");
    berth.startDaemon();
    assertTrue(
        eventually(
            Duration.ofSeconds(15),
            () -> berth.inspect(id).path("state").asText().equals("created")),
        "did not return to created: " + berth.inspect(id));
    assertTrue(
        berth
            .inspect(id)
            .path("error")
            .asText()
            .contains("restarted while the container was starting"));
    assertTrue(
        eventually(Duration.ofSeconds(10), () -> taskGone(id)),
        "leftovers of the interrupted start: " + leftovers(id));
    assertEquals(List.of("create", "start-failed", "reconciled"), types(events(id)));
    // a later start works (the Create failpoint delays it, nothing more)
    Result start = berth.berth(Duration.ofSeconds(30), "start", id);
    assertEquals(0, start.exitCode(), start.toString());
    assertEquals("running", berth.inspect(id).path("state").asText());
    berth.ok("rm", "-f", id);
    assertNoTrace(id);
  }

  @Test
  void daemon_kill_during_stop_converges_to_stopped_with_one_exit() throws Exception {
    String id = berth.runDetached("--failpoint", "Kill=delay(2000)", "busybox", "sleep", "600");
    Path shimLog = berth.shimDir(id).resolve("shim.log");
    CompletableFuture<Result> stop =
        CompletableFuture.supplyAsync(() -> berth.berth("stop", "-t", "5", id));
    // the stop is journaled before its Kill RPC goes out, and the failpoint holds that RPC in the
    // shim
    assertTrue(
        eventually(Duration.ofSeconds(30), () -> logContains(shimLog, "failpoint triggered")),
        "Kill never reached the shim");
    berth.kill9Daemon();
    stop.get();
    berth.startDaemon();
    assertTrue(
        eventually(
            Duration.ofSeconds(30),
            () -> berth.inspect(id).path("state").asText().equals("stopped")),
        "the stop asked for before the kill was not carried through: " + berth.inspect(id));
    int code = berth.inspect(id).path("exitCode").asInt();
    assertTrue(code == 143 || code == 137, "exit code " + code);
    List<String> types = types(events(id));
    assertEquals(1, types.stream().filter("exit"::equals).count(), types.toString());
    assertTaskGone(id);
    berth.ok("rm", id);
    assertNoTrace(id);
  }

  @Test
  void daemon_kill_during_forced_delete_finishes_the_removal_after_restart() throws Exception {
    String id = berth.runDetached("--failpoint", "Kill=delay(2000)", "busybox", "sleep", "600");
    long pid = berth.inspect(id).path("pid").asLong();
    Path shimLog = berth.shimDir(id).resolve("shim.log");
    CompletableFuture<Result> rm = CompletableFuture.supplyAsync(() -> berth.berth("rm", "-f", id));
    assertTrue(
        eventually(Duration.ofSeconds(30), () -> logContains(shimLog, "failpoint triggered")),
        "Kill never reached the shim");
    berth.kill9Daemon();
    rm.get();
    berth.startDaemon();
    assertTrue(
        eventually(Duration.ofSeconds(30), () -> berth.find(berth.psAll(), id).isEmpty()),
        "the removal asked for before the kill was not finished: " + berth.psAll());
    assertTrue(eventually(Duration.ofSeconds(5), () -> !processAlive(pid)));
    assertNoTrace(id);
    List<String> types = types(events(id));
    assertEquals("delete", types.get(types.size() - 1), types.toString());
    assertEquals(1, types.stream().filter("exit"::equals).count(), types.toString());
  }

  // ------------------------------------------------------------------ restart policies

  @Test
  void on_failure_policy_restarts_until_its_maximum_and_journals_each_run() {
    String id =
        berth.runDetached("--restart", "on-failure:2", "busybox", "sh", "-c", "sleep 0.3; exit 3");
    assertTrue(
        eventually(
            Duration.ofSeconds(20),
            () -> {
              JsonNode c = berth.inspect(id);
              return c.path("state").asText().equals("stopped")
                  && c.path("restartCount").asInt() == 2;
            }),
        "did not settle after two restarts: " + berth.inspect(id));
    List<JsonNode> events = events(id);
    assertEquals(
        List.of("create", "start", "exit", "restart", "start", "exit", "restart", "start", "exit"),
        types(events));
    events.stream()
        .filter(e -> e.path("type").asText().equals("exit"))
        .forEach(e -> assertEquals(3, e.path("exitCode").asInt(), e.toString()));
    assertEquals("3", berth.ok("wait", id));
    berth.ok("rm", id);
    assertNoTrace(id);
  }

  @Test
  void always_policy_restarts_a_killed_process_survives_a_daemon_kill_and_a_manual_stop_sticks()
      throws Exception {
    String id = berth.runDetached("--restart", "always", "busybox", "sleep", "600");
    long first = berth.inspect(id).path("pid").asLong();
    kill9(first); // the process dies on its own account: the policy restarts it
    assertTrue(
        eventually(
            Duration.ofSeconds(10),
            () -> {
              JsonNode c = berth.inspect(id);
              return c.path("state").asText().equals("running")
                  && c.path("restartCount").asInt() == 1;
            }),
        "not restarted: " + berth.inspect(id));
    long second = berth.inspect(id).path("pid").asLong();
    assertNotEquals(first, second);

    berth.kill9Daemon();
    berth.startDaemon();
    assertTrue(
        eventually(
            Duration.ofSeconds(10),
            () -> berth.inspect(id).path("state").asText().equals("running")));
    assertEquals(second, berth.inspect(id).path("pid").asLong(), "the same process, not a restart");

    Result stop = berth.berth(Duration.ofSeconds(30), "stop", "-t", "1", id);
    assertEquals(0, stop.exitCode(), stop.toString());
    Thread.sleep(1000);
    assertEquals(
        "stopped", berth.inspect(id).path("state").asText(), "a manual stop is not restarted");
    berth.ok("rm", id);
    assertNoTrace(id);
  }

  // ------------------------------------------------------------------ reaping and leaks

  @Test
  void no_zombies_under_the_shim_with_orphaned_grandchildren_and_execs() throws Exception {
    String id =
        berth.runDetached(
            "busybox", "sh", "-c", "for i in 1 2 3; do (sleep 0.1 &); done; sleep 600");
    long shim = berth.shimPid(id);
    for (int i = 0; i < 3; i++) {
      Result x = berth.berth("exec", id, "sh", "-c", "sleep 0.2 & (sleep 0.1 &); echo started");
      assertEquals(0, x.exitCode(), x.toString());
    }
    Thread.sleep(1000);
    List<Long> zombies = childrenInState(shim, 'Z');
    assertTrue(zombies.isEmpty(), "zombies under the shim: " + zombies);
    assertTrue(
        BerthHarness.processesMatching("runc").stream()
            .noneMatch(p -> BerthHarness.cmdline(p).contains(id)),
        "a runc process lingers");
    berth.ok("rm", "-f", id);
    assertNoTrace(id);
  }

  @Test
  void run_rm_and_forced_rm_of_a_running_container_leave_nothing_behind() throws Exception {
    Result r = berth.berth("run", "--rm", "--name", "gone", "busybox", "sh", "-c", "echo bye");
    assertEquals(0, r.exitCode(), r.toString());
    List<JsonNode> created = jsonEvents("type=create");
    String rmId =
        created.stream()
            .filter(e -> e.path("detail").asText().equals("gone"))
            .map(e -> e.path("container").asText())
            .findFirst()
            .orElseThrow();
    assertNoTrace(rmId);
    String id = berth.runDetached("busybox", "sleep", "600");
    berth.ok("rm", "-f", id);
    assertNoTrace(id);
  }

  // ------------------------------------------------------------------ helpers

  private static void runc(String... args) {
    List<String> cmd =
        new ArrayList<>(List.of("runc", "--root", berth.state.resolve("runc").toString()));
    cmd.addAll(List.of(args));
    Result r = BerthHarness.exec(Duration.ofSeconds(20), cmd);
    if (r.exitCode() != 0) fail("runc failed: " + r);
  }

  private static void kill9(long pid) throws Exception {
    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    assertTrue(
        eventually(Duration.ofSeconds(10), () -> !processAlive(pid)),
        "pid " + pid + " survived SIGKILL");
  }

  private static String awaitId(String name) {
    String[] id = new String[1];
    assertTrue(
        eventually(
            Duration.ofSeconds(20),
            () -> {
              Result r = berth.berth("inspect", name);
              if (r.exitCode() != 0) return false;
              id[0] = BerthHarness.parse(r.stdout()).get(0).path("id").asText();
              return true;
            }),
        "container " + name + " was never created");
    return id[0];
  }

  private static List<JsonNode> events(String id) {
    return jsonEvents("container=" + id);
  }

  private static List<JsonNode> jsonEvents(String filter) {
    return BerthHarness.jsonLines(
        berth.ok("events", "--since", "0", "--no-follow", "--format", "json", "--filter", filter));
  }

  private static List<String> types(List<JsonNode> events) {
    return events.stream().map(e -> e.path("type").asText()).toList();
  }

  /** The whole history numbers 1..n without a hole. */
  private static void assertGapFree() {
    List<JsonNode> all =
        BerthHarness.jsonLines(
            berth.ok("events", "--since", "0", "--no-follow", "--format", "json"));
    for (int i = 0; i < all.size(); i++)
      assertEquals(i + 1, all.get(i).path("seq").asLong(), "event " + all.get(i));
  }

  private static boolean taskGone(String id) {
    return leftovers(id).isEmpty();
  }

  /**
   * What a container without a running task must not have: shim dir, runc state, rootfs mount,
   * cgroups.
   */
  private static List<String> leftovers(String id) {
    List<String> found = new ArrayList<>();
    if (Files.exists(berth.shimDir(id))) found.add("shim dir " + berth.shimDir(id));
    if (Files.exists(berth.state.resolve("runc").resolve(id))) found.add("runc state");
    found.addAll(BerthHarness.mountsUnder(berth.containerDir(id)));
    BerthHarness.cgroupsOf(id).forEach(p -> found.add("cgroup " + p));
    BerthHarness.processesMatching(id)
        .forEach(p -> found.add("process " + p + ": " + BerthHarness.cmdline(p)));
    return found;
  }

  private static void assertTaskGone(String id) {
    assertTrue(
        eventually(Duration.ofSeconds(10), () -> taskGone(id)), "leftovers: " + leftovers(id));
  }

  /** After rm: additionally no bundle. */
  private static void assertNoTrace(String id) {
    assertTaskGone(id);
    assertFalse(Files.exists(berth.containerDir(id)), "bundle left: " + berth.containerDir(id));
  }

  private static List<Long> childrenInState(long parent, char state) throws Exception {
    List<Long> out = new ArrayList<>();
    try (var procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.toList()) {
        String n = p.getFileName().toString();
        if (!n.chars().allMatch(Character::isDigit)) continue;
        try {
          String stat = Files.readString(p.resolve("stat"));
          String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          if (rest[0].charAt(0) == state && Long.parseLong(rest[1]) == parent)
            out.add(Long.parseLong(n));
        } catch (java.io.IOException gone) {
          // exited meanwhile
        }
      }
    }
    return out;
  }
}
