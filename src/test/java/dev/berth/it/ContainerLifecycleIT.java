package dev.berth.it;

import static dev.berth.it.BerthHarness.eventually;
import static dev.berth.it.BerthHarness.processAlive;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.it.BerthHarness.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The container lifecycle through the CLI, on one daemon shared by the class. */
@Timeout(180)
class ContainerLifecycleIT {

  static BerthHarness berth;

  @BeforeAll
  static void startDaemon() {
    berth = BerthHarness.start("ContainerLifecycleIT");
  }

  @AfterAll
  static void stopDaemon() {
    if (berth != null) berth.close();
  }

  @Test
  void logs_tail_until_timestamps_and_docker_formats_work_on_a_real_container() {
    Result run =
        berth.berth(
            "run",
            "--name",
            "counted",
            "busybox",
            "sh",
            "-c",
            "for i in 1 2 3 4 5; do echo $i; done");
    assertEquals(0, run.exitCode(), run.toString());
    assertEquals("4\n5", berth.ok("logs", "-n", "2", "counted"));
    assertEquals("", berth.ok("logs", "--tail", "0", "counted"));
    assertEquals("", berth.ok("logs", "--until", "1h", "counted"));
    assertEquals("1\n2\n3\n4\n5", berth.ok("logs", "--since", "1h", "counted"));
    String stamped = berth.ok("logs", "-t", "-n", "1", "counted");
    assertTrue(stamped.matches("20[0-9-]+T[0-9:.]+Z 5"), stamped);
    assertEquals(
        "exited 0", berth.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "counted"));
    assertEquals(
        "counted",
        berth.ok(
            "ps",
            "-a",
            "--filter",
            "name=counted",
            "--filter",
            "status=exited",
            "--format",
            "{{.Names}}"));
    assertEquals(0, berth.berth("rm", "counted").exitCode());
  }

  @Test
  void run_attached_prints_output_and_returns_exit_code() {
    Result r =
        berth.berth(
            "run", "--rm", "--name", "attached-1", "busybox", "sh", "-c", "echo hello; exit 3");
    assertEquals(3, r.exitCode(), "run should exit with the container's exit code:\n" + r);
    assertEquals("hello\n", r.stdout(), "run should stream the container's stdout:\n" + r);
    assertTrue(
        eventually(
            Duration.ofSeconds(5),
            () ->
                berth.psAll().stream()
                    .noneMatch(c -> c.path("name").asText().equals("attached-1"))),
        "--rm container still listed after run returned: " + berth.psAll());

    // stdout and stderr stay apart, and exit 0 is 0
    Result split =
        berth.berth("run", "--rm", "busybox", "sh", "-c", "echo to-out; echo to-err >&2");
    assertEquals(0, split.exitCode(), split.toString());
    assertEquals("to-out\n", split.stdout(), split.toString());
    assertTrue(
        split.stderr().contains("to-err"),
        "container stderr should reach the CLI's stderr:\n" + split);

    // -e sets the environment, the image's PATH is kept
    Result env =
        berth.berth(
            "run",
            "--rm",
            "-e",
            "GREETING=hi there",
            "busybox",
            "sh",
            "-c",
            "echo \"$GREETING\"; echo $PATH");
    assertEquals(0, env.exitCode(), env.toString());
    List<String> lines = env.stdout().lines().toList();
    assertEquals("hi there", lines.get(0), env.toString());
    assertTrue(lines.get(1).contains("/bin"), "image PATH missing:\n" + env);
  }

  @Test
  void run_detached_then_logs_exec_stop_rm() {
    String id =
        berth.runDetached(
            "--name", "detached-1", "busybox", "sh", "-c", "echo started; exec sleep 600");

    JsonNode c =
        berth
            .find(berth.ps(), id)
            .orElseThrow(() -> new AssertionError("ps does not list " + id + ": " + berth.ps()));
    assertEquals("running", c.path("state").asText(), c.toString());
    assertEquals("detached-1", c.path("name").asText(), c.toString());
    assertTrue(c.path("image").asText().startsWith("busybox"), c.toString());
    long pid = c.path("pid").asLong();
    assertTrue(pid > 0, "running container must have a pid: " + c);
    assertTrue(processAlive(pid), "pid " + pid + " from ps is not a live process");

    // logs, addressed by a unique id prefix
    String prefix = id.substring(0, 12);
    assertTrue(
        eventually(
            Duration.ofSeconds(10), () -> berth.berth("logs", prefix).stdout().contains("started")),
        "logs never showed the container's output:\n" + berth.berth("logs", prefix));
    Result logs = berth.berth("logs", prefix);
    assertEquals(0, logs.exitCode(), logs.toString());
    assertEquals("started\n", logs.stdout(), logs.toString());

    // exec, addressed by name
    Result x = berth.berth("exec", "detached-1", "echo", "x");
    assertEquals(0, x.exitCode(), x.toString());
    assertEquals("x\n", x.stdout(), x.toString());
    Result seven = berth.berth("exec", "detached-1", "sh", "-c", "echo err >&2; exit 7");
    assertEquals(7, seven.exitCode(), "exec must propagate the exit code:\n" + seven);
    assertTrue(seven.stderr().contains("err"), seven.toString());
    // exec runs inside the container: it sees the container's init as pid 1
    Result ps1 = berth.berth("exec", id, "cat", "/proc/1/cmdline");
    assertEquals(0, ps1.exitCode(), ps1.toString());
    assertTrue(ps1.stdout().startsWith("sleep"), "pid 1 in the container should be sleep:\n" + ps1);

    // stop -t 1: sleep as pid 1 ignores SIGTERM, so SIGKILL follows after a second
    Result stop = berth.berth(Duration.ofSeconds(30), "stop", "-t", "1", id);
    assertEquals(0, stop.exitCode(), stop.toString());
    JsonNode stopped = berth.inspect(id);
    assertEquals("stopped", stopped.path("state").asText(), stopped.toString());
    int code = stopped.path("exitCode").asInt();
    assertTrue(
        code == 143 || code == 137, "exit code after stop should be 143 or 137, was " + code);
    assertEquals(0, stopped.path("pid").asInt(), "a stopped container has pid 0: " + stopped);
    assertTrue(
        eventually(Duration.ofSeconds(5), () -> !processAlive(pid)),
        "container process " + pid + " survived stop");
    assertTrue(
        berth.find(berth.ps(), id).isEmpty(), "ps without -a must not list a stopped container");
    assertTrue(berth.find(berth.psAll(), id).isPresent(), "ps -a must list the stopped container");

    // logs still readable after exit
    assertEquals("started\n", berth.berth("logs", id).stdout());

    Result rm = berth.berth("rm", id);
    assertEquals(0, rm.exitCode(), rm.toString());
    assertTrue(berth.find(berth.psAll(), id).isEmpty(), "rm'd container still listed");
    Result gone = berth.berth("inspect", id);
    assertEquals(125, gone.exitCode(), "inspect of a removed container must fail:\n" + gone);
  }

  @Test
  void kill_with_signal_reports_137_and_wait_prints_code() {
    String id = berth.runDetached("busybox", "sleep", "600");
    long pid = berth.inspect(id).path("pid").asLong();
    assertTrue(processAlive(pid), "container process not alive: " + pid);

    Result kill = berth.berth("kill", "-s", "KILL", id);
    assertEquals(0, kill.exitCode(), kill.toString());
    Result wait = berth.berth("wait", id);
    assertEquals(0, wait.exitCode(), wait.toString());
    assertEquals("137", wait.out(), "wait should print the exit code:\n" + wait);
    JsonNode after = berth.inspect(id);
    assertEquals("stopped", after.path("state").asText(), after.toString());
    assertEquals(137, after.path("exitCode").asInt(), after.toString());
    assertTrue(
        eventually(Duration.ofSeconds(5), () -> !processAlive(pid)), "killed process still alive");

    // the signal given by name reaches the process: a TERM trap decides the exit code
    String trapper =
        berth.runDetached(
            "busybox",
            "sh",
            "-c",
            "trap 'exit 5' TERM; echo ready; while true; do sleep 0.1; done");
    assertTrue(
        eventually(
            Duration.ofSeconds(10), () -> berth.berth("logs", trapper).stdout().contains("ready")),
        "trap container never became ready");
    assertEquals(0, berth.berth("kill", "-s", "TERM", trapper).exitCode());
    assertEquals("5", berth.berth("wait", trapper).out());

    // wait blocks until a container exits on its own, then prints its code
    String self = berth.runDetached("busybox", "sh", "-c", "sleep 1; exit 42");
    Result w = berth.berth("wait", self);
    assertEquals("42", w.out(), w.toString());
    assertEquals(0, w.exitCode(), w.toString());
    // and at once for an already stopped one
    assertEquals("42", berth.berth(Duration.ofSeconds(10), "wait", self).out());

    berth.ok("rm", id, trapper, self);
  }

  @Test
  void inspect_fields_rfc3339() {
    String id =
        berth.ok("create", "--name", "inspect-1", "busybox", "sh", "-c", "sleep 0.3; exit 0");
    assertTrue(id.matches("[0-9a-f]{64}"), "create should print the id: " + id);
    JsonNode created = berth.inspect("inspect-1");
    assertEquals(id, created.path("id").asText());
    assertEquals("created", created.path("state").asText(), created.toString());
    assertEquals(0, created.path("pid").asInt(), created.toString());
    OffsetDateTime createdAt = rfc3339(created, "createdAt");
    assertTrue(
        Math.abs(Duration.between(createdAt, OffsetDateTime.now()).toSeconds()) < 120,
        "createdAt is not now-ish: " + createdAt);

    berth.ok("start", "inspect-1");
    assertEquals("0", berth.ok("wait", "inspect-1"));
    JsonNode done = berth.inspect(id);
    assertEquals("stopped", done.path("state").asText(), done.toString());
    assertEquals(0, done.path("exitCode").asInt(), done.toString());
    OffsetDateTime startedAt = rfc3339(done, "startedAt");
    OffsetDateTime finishedAt = rfc3339(done, "finishedAt");
    assertEquals(
        createdAt.toInstant(), rfc3339(done, "createdAt").toInstant(), "createdAt changed");
    assertFalse(
        startedAt.isBefore(createdAt), "startedAt " + startedAt + " before createdAt " + createdAt);
    assertFalse(
        finishedAt.isBefore(startedAt),
        "finishedAt " + finishedAt + " before startedAt " + startedAt);
    assertTrue(
        Duration.between(startedAt, finishedAt).toMillis() >= 200,
        "the container slept 0.3s, yet ran " + Duration.between(startedAt, finishedAt));

    // the same object shape in ps --format json, one object per line
    JsonNode line = berth.find(berth.psAll(), id).orElseThrow();
    for (String key :
        List.of(
            "id",
            "name",
            "image",
            "state",
            "pid",
            "exitCode",
            "createdAt",
            "startedAt",
            "finishedAt")) {
      assertTrue(line.has(key), "ps --format json lacks " + key + ": " + line);
    }
    assertEquals(done.path("finishedAt").asText(), line.path("finishedAt").asText());
    for (JsonNode any : berth.psAll()) {
      assertTrue(STATES.contains(any.path("state").asText()), "state outside the contract: " + any);
    }
    berth.ok("rm", id);
  }

  @Test
  void rm_leaves_no_process_mount_cgroup_socket() {
    String id = berth.runDetached("--name", "rm-1", "busybox", "sleep", "600");
    long pid = berth.inspect(id).path("pid").asLong();
    long shimPid = berth.shimPid(id);
    Path shimSocket = berth.shimSocket(id);
    Path rootfs = berth.containerDir(id).resolve("rootfs");

    // preconditions: the things that must disappear exist now
    assertTrue(processAlive(pid), "container process " + pid);
    assertTrue(
        processAlive(shimPid),
        "shim pid " + shimPid + " from " + berth.shimDir(id).resolve("shim.pid"));
    assertNotNull(shimSocket, "no address file in " + berth.shimDir(id));
    assertTrue(Files.exists(shimSocket), "shim socket " + shimSocket);
    assertFalse(BerthHarness.mountsUnder(rootfs).isEmpty(), "rootfs not mounted at " + rootfs);
    assertFalse(BerthHarness.cgroupsOf(id).isEmpty(), "no cgroup berth/" + id);
    assertTrue(
        Files.isRegularFile(berth.containerDir(id).resolve("config.json")), "bundle config.json");

    // an auto group's shim (the only one with room) stays for the next start: only a shim of its
    // own must go with the container
    boolean ownShim = berth.shimHome(id).equals(berth.shimDir(id));
    Result rm = berth.berth("rm", "-f", "rm-1");
    assertEquals(0, rm.exitCode(), rm.toString());
    assertNoTraces(id, pid, ownShim ? shimPid : -1, ownShim ? shimSocket : null);

    // a created container (never started) and a stopped one leave nothing either
    String created = berth.ok("create", "busybox", "true");
    assertTrue(
        Files.isDirectory(berth.containerDir(created)), "created container has no bundle dir");
    String stopped = berth.runDetached("busybox", "true");
    assertEquals("0", berth.ok("wait", stopped));
    boolean stoppedOwnShim = berth.shimHome(stopped).equals(berth.shimDir(stopped));
    long stoppedShim = stoppedOwnShim ? berth.shimPid(stopped) : -1;
    Path stoppedSocket = stoppedOwnShim ? berth.shimSocket(stopped) : null;
    berth.ok("rm", created, stopped);
    assertNoTraces(created, -1, -1, null);
    assertNoTraces(stopped, -1, stoppedShim, stoppedSocket);
  }

  private static void assertNoTraces(String id, long pid, long shimPid, Path shimSocket) {
    boolean clean =
        eventually(Duration.ofSeconds(5), () -> traces(id, pid, shimPid, shimSocket).isEmpty());
    if (!clean)
      fail("after rm of " + id + " these remain: " + traces(id, pid, shimPid, shimSocket));
    assertTrue(berth.find(berth.psAll(), id).isEmpty(), "still listed by ps -a");
  }

  private static List<String> traces(String id, long pid, long shimPid, Path shimSocket) {
    List<String> left = new ArrayList<>();
    if (pid > 0 && processAlive(pid)) left.add("container process " + pid);
    if (shimPid > 0 && processAlive(shimPid)) left.add("shim process " + shimPid);
    for (long p : BerthHarness.processesMatching(id))
      left.add("process " + p + ": " + BerthHarness.cmdline(p));
    List<String> mounts = BerthHarness.mountsUnder(berth.containerDir(id));
    if (!mounts.isEmpty()) left.add("mounts " + mounts);
    List<Path> cgroups = BerthHarness.cgroupsOf(id);
    if (!cgroups.isEmpty()) left.add("cgroups " + cgroups);
    if (shimSocket != null && Files.exists(shimSocket)) left.add("shim socket " + shimSocket);
    if (Files.exists(berth.shimDir(id))) left.add("shim state dir " + berth.shimDir(id));
    if (Files.exists(berth.containerDir(id))) left.add("container dir " + berth.containerDir(id));
    return left;
  }

  static OffsetDateTime rfc3339(JsonNode c, String field) {
    String v = c.path(field).asText("");
    try {
      return OffsetDateTime.parse(v, DateTimeFormatter.ISO_OFFSET_DATE_TIME);
    } catch (DateTimeParseException e) {
      throw new AssertionError(field + " is not RFC 3339: '" + v + "' in " + c, e);
    }
  }

  static final Set<String> STATES = Set.of("created", "running", "paused", "stopped", "unknown");
}
