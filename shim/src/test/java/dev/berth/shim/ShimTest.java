package dev.berth.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.berth.api.shim.v1.CreateTaskReply;
import dev.berth.api.shim.v1.CreateTaskRequest;
import dev.berth.api.shim.v1.DeleteTaskRequest;
import dev.berth.api.shim.v1.ExitStatus;
import dev.berth.api.shim.v1.KillTaskRequest;
import dev.berth.api.shim.v1.Mount;
import dev.berth.api.shim.v1.PidsRequest;
import dev.berth.api.shim.v1.ShutdownRequest;
import dev.berth.api.shim.v1.StartTaskRequest;
import dev.berth.api.shim.v1.StateTaskRequest;
import dev.berth.api.shim.v1.TaskGrpc;
import dev.berth.api.shim.v1.TaskStateReply;
import dev.berth.api.shim.v1.WaitTaskRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Real shim process + real runc containers on a busybox rootfs. Needs root and /usr/sbin/runc. */
class ShimTest {
  private static final String RFC3339_NANO = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z";
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

  private ShimHarness shim(String id) throws Exception {
    harness = new ShimHarness(id);
    return harness;
  }

  private CreateTaskRequest bindCreate(ShimHarness h, Path bundle) {
    return CreateTaskRequest.newBuilder()
        .setId(h.id)
        .setBundle(bundle.toString())
        .addRootfs(
            Mount.newBuilder()
                .setType("bind")
                .setSource(h.rootfsSource.toString())
                .addOptions("rbind"))
        .setLogPath(h.logPath.toString())
        .build();
  }

  @Test
  void lifecycle_logs_exit_file_and_delete_ends_the_shim() throws Exception {
    ShimHarness h = shim("life");
    Path bundle = h.bundle("bundle", List.of("sh", "-c", "echo hi; echo oops >&2; exit 3"));
    TaskGrpc.TaskBlockingStub shim = h.shim();

    CreateTaskReply created = shim.create(bindCreate(h, bundle));
    assertTrue(created.getPid() > 0);
    assertTrue(ShimHarness.isMounted(bundle.resolve("rootfs")));
    TaskStateReply state = shim.state(StateTaskRequest.getDefaultInstance());
    assertEquals("created", state.getStatus());
    assertEquals(created.getPid(), state.getPid());
    assertEquals(h.process.pid(), state.getShimPid());

    assertEquals("running", shim.start(StartTaskRequest.getDefaultInstance()).getStatus());
    ExitStatus exit = shim.waitExit(WaitTaskRequest.getDefaultInstance());
    assertEquals(3, exit.getExitCode());
    assertEquals(created.getPid(), exit.getPid());
    assertTrue(exit.getExitedAt().matches(RFC3339_NANO), exit.getExitedAt());

    // exit.json is written before any waiter is answered.
    JsonObject exitFile =
        JsonParser.parseString(Files.readString(h.stateDir.resolve("exit.json"))).getAsJsonObject();
    assertEquals(3, exitFile.get("exitCode").getAsInt());
    assertEquals(created.getPid(), exitFile.get("pid").getAsInt());
    assertEquals(exit.getExitedAt(), exitFile.get("exitedAt").getAsString());

    List<String> lines = Files.readAllLines(h.logPath);
    assertEquals(2, lines.size(), lines.toString());
    List<String> seen = new ArrayList<>();
    for (String line : lines) {
      JsonObject entry = JsonParser.parseString(line).getAsJsonObject();
      assertTrue(entry.get("time").getAsString().matches(RFC3339_NANO), line);
      seen.add(entry.get("stream").getAsString() + ":" + entry.get("log").getAsString());
    }
    assertTrue(seen.contains("stdout:hi\n"), seen.toString());
    assertTrue(seen.contains("stderr:oops\n"), seen.toString());

    TaskStateReply stopped = shim.state(StateTaskRequest.getDefaultInstance());
    assertEquals("stopped", stopped.getStatus());
    assertEquals(3, stopped.getExitCode());
    // And WaitExit after the fact answers at once.
    assertEquals(3, shim.waitExit(WaitTaskRequest.getDefaultInstance()).getExitCode());

    StatusRuntimeException again =
        assertThrows(
            StatusRuntimeException.class, () -> shim.start(StartTaskRequest.getDefaultInstance()));
    assertEquals(Status.Code.FAILED_PRECONDITION, again.getStatus().getCode());
    assertEquals("cannot start: task is stopped", again.getStatus().getDescription());

    assertEquals(3, shim.delete(DeleteTaskRequest.getDefaultInstance()).getExitCode());
    assertTrue(h.process.waitFor(10, TimeUnit.SECONDS), "shim exits after Delete");
    assertEquals(0, h.process.exitValue());
    assertFalse(Files.exists(h.socket), "socket removed");
    assertFalse(Files.exists(h.stateDir), "state dir removed");
    assertFalse(ShimHarness.isMounted(bundle.resolve("rootfs")), "rootfs unmounted");
    assertFalse(Files.exists(h.runcRoot.resolve(h.id)), "runc state removed");
  }

  @Test
  void output_that_is_not_utf8_is_logged_exactly() throws Exception {
    ShimHarness h = shim("binary");
    Path bundle = h.bundle("bundle", List.of("sh", "-c", "printf '\\377\\376\\0\\1AB'"));
    TaskGrpc.TaskBlockingStub shim = h.shim();
    shim.create(bindCreate(h, bundle));
    shim.start(StartTaskRequest.getDefaultInstance());
    assertEquals(0, shim.waitExit(WaitTaskRequest.getDefaultInstance()).getExitCode());
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (String line : Files.readAllLines(h.logPath)) {
      JsonObject entry = JsonParser.parseString(line).getAsJsonObject();
      assertEquals("stdout", entry.get("stream").getAsString(), line);
      out.write(
          entry.has("log_base64")
              ? java.util.Base64.getDecoder().decode(entry.get("log_base64").getAsString())
              : entry.get("log").getAsString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, 'A', 'B'}, out.toByteArray());
    shim.delete(DeleteTaskRequest.getDefaultInstance());
    assertTrue(h.process.waitFor(10, TimeUnit.SECONDS), "shim exits after Delete");
  }

  /** Field 19 of /proc/PID/stat: the nice value (of the main thread). */
  private static int nice(long pid) throws java.io.IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    return Integer.parseInt(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[16]);
  }

  @Test
  void spare_shim_is_adopted_by_the_first_create_and_moves_its_state_dir() throws Exception {
    harness = new ShimHarness("spare-1", true);
    ShimHarness h = harness;
    h.alsoDelete.add("adopted");
    Path bundle = h.bundle("bundle", List.of("sh", "-c", "echo adopted; exit 4"));
    TaskGrpc.TaskBlockingStub shim = h.shim();
    int pid =
        shim.create(CreateTaskRequest.newBuilder(bindCreate(h, bundle)).setId("adopted").build())
            .getPid();
    Path adoptedDir = h.stateDir.resolveSibling("adopted");
    assertFalse(Files.exists(h.stateDir), "the spare's state dir was renamed");
    assertEquals(h.socket.toString(), Files.readString(adoptedDir.resolve("address")));
    assertEquals(Long.toString(h.process.pid()), Files.readString(adoptedDir.resolve("shim.pid")));
    assertEquals("adopted", shim.state(StateTaskRequest.getDefaultInstance()).getId());
    // the spare ran niced; the adopted shim and the container it starts run at priority 0
    assertEquals(0, nice(h.process.pid()));
    assertEquals(0, nice(pid));
    // adopted once: a second identity is refused
    shim.start(StartTaskRequest.getDefaultInstance());
    assertEquals(4, shim.waitExit(WaitTaskRequest.getDefaultInstance()).getExitCode());
    assertTrue(Files.exists(adoptedDir.resolve("exit.json")));
    assertTrue(Files.readString(h.logPath).contains("adopted"));
    assertEquals(pid, shim.state(StateTaskRequest.getDefaultInstance()).getPid());
    shim.delete(DeleteTaskRequest.getDefaultInstance());
    assertTrue(h.process.waitFor(10, TimeUnit.SECONDS));
    assertFalse(Files.exists(adoptedDir));
  }

  /**
   * The daemon is SIGKILLed while its spare's JVM is still starting: by the time the spare looks at
   * getppid() it has already been reparented. Told the daemon's pid, it still notices, removes its
   * state dir and socket, and exits.
   */
  @Test
  void spare_whose_daemon_died_while_it_started_removes_itself_and_exits() throws Exception {
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "bs-");
    Path stateDir = dir.resolve("state");
    Path socket = dir.resolve("s/orphan.sock");
    Path log = dir.resolve("shim.log");
    long shimPid = -1;
    try {
      // The "daemon": a shell that starts the spare with its own pid and exits at once.
      List<String> cmd =
          new ArrayList<>(
              List.of(
                  "sh",
                  "-c",
                  "\"$@\" --spare --parent-pid $$ </dev/null >>'" + log + "' 2>&1 & echo $!",
                  "sh"));
      cmd.addAll(ShimHarness.command("orphan", stateDir, socket, dir.resolve("runc")));
      Process daemon = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      shimPid = Long.parseLong(new String(daemon.getInputStream().readAllBytes()).strip());
      assertTrue(daemon.waitFor(10, TimeUnit.SECONDS));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (ShimHarness.isRunning(shimPid) && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      String shimLog = Files.readString(log);
      assertFalse(ShimHarness.isRunning(shimPid), "the orphaned spare still runs: " + shimLog);
      assertTrue(shimLog.contains("is gone"), shimLog);
      assertFalse(Files.exists(stateDir), "state dir removed");
      assertFalse(Files.exists(socket), "socket removed");
    } finally {
      if (shimPid > 0 && ShimHarness.isRunning(shimPid)) {
        ProcessHandle.of(shimPid).ifPresent(ProcessHandle::destroyForcibly);
      }
      try (var paths = Files.walk(dir)) {
        paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  void kill_with_sigkill_gives137_and_waiters_are_answered_on_exit() throws Exception {
    ShimHarness h = shim("kill");
    Path bundle = h.bundle("bundle", List.of("sleep", "100"));
    TaskGrpc.TaskBlockingStub shim = h.shim();
    int pid = shim.create(bindCreate(h, bundle)).getPid();
    shim.start(StartTaskRequest.getDefaultInstance());
    assertTrue(shim.pids(PidsRequest.getDefaultInstance()).getPidsList().contains(pid));

    // The waiter notes when its answer came: only after the kill was sent (a clock, not a sleep).
    CompletableFuture<Long> answeredAt = new CompletableFuture<>();
    CompletableFuture<ExitStatus> waiter =
        CompletableFuture.supplyAsync(
            () -> {
              ExitStatus exit = h.shim().waitExit(WaitTaskRequest.getDefaultInstance());
              answeredAt.complete(System.nanoTime());
              return exit;
            });

    StatusRuntimeException busy =
        assertThrows(
            StatusRuntimeException.class,
            () -> shim.delete(DeleteTaskRequest.getDefaultInstance()));
    assertEquals(Status.Code.FAILED_PRECONDITION, busy.getStatus().getCode());
    StatusRuntimeException refuse =
        assertThrows(
            StatusRuntimeException.class,
            () -> shim.shutdown(ShutdownRequest.getDefaultInstance()));
    assertEquals(Status.Code.FAILED_PRECONDITION, refuse.getStatus().getCode());

    assertFalse(waiter.isDone(), "WaitExit answered while init runs");
    long killedAt = System.nanoTime();
    shim.kill(KillTaskRequest.newBuilder().setSignal(9).build());
    assertEquals(137, waiter.get(10, TimeUnit.SECONDS).getExitCode());
    assertTrue(answeredAt.get() - killedAt > 0, "WaitExit answered before the kill");
    assertTrue(Files.exists(h.stateDir.resolve("exit.json")));
    assertEquals(137, shim.delete(DeleteTaskRequest.getDefaultInstance()).getExitCode());
    assertTrue(h.process.waitFor(10, TimeUnit.SECONDS));
  }

  /**
   * A runc that hangs on kill (and leaves a child holding its stdout, so its output never ends):
   * the Kill RPC fails in one line after the shim's --runtime-timeout, the hung runc's whole
   * process group is killed, and State answers all the while.
   */
  @Test
  void a_hung_runc_kill_times_out_is_killed_with_its_group_and_state_answers_meanwhile()
      throws Exception {
    Path fake = Files.createTempDirectory(Path.of("/tmp"), "bs-runc-");
    try {
      Path hang = fake.resolve("hang-on-kill");
      Path hanging = fake.resolve("hanging");
      String realRunc =
          Files.isExecutable(Path.of("/usr/sbin/runc")) ? "/usr/sbin/runc" : "/usr/bin/runc";
      Path script = fake.resolve("runc");
      Files.writeString(
          script,
          "#!/bin/sh\n"
              + "for a in \"$@\"; do\n"
              + "  if [ \"$a\" = kill ] && [ -e "
              + hang
              + " ]; then touch "
              + hanging
              + "; sleep 301; exit 0; fi\n"
              + "done\n"
              + "exec "
              + realRunc
              + " \"$@\"\n");
      Files.setPosixFilePermissions(
          script, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
      harness =
          new ShimHarness(
              "hung",
              false,
              java.util.Map.of("PATH", fake + ":" + System.getenv("PATH")),
              List.of("--runtime-timeout", "2"));
      ShimHarness h = harness;
      Path bundle = h.bundle("bundle", List.of("sleep", "100"));
      TaskGrpc.TaskBlockingStub shim = h.shim();
      shim.create(bindCreate(h, bundle));
      shim.start(StartTaskRequest.getDefaultInstance());

      Files.createFile(hang);
      long t0 = System.nanoTime();
      CompletableFuture<StatusRuntimeException> kill =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  h.shim().kill(KillTaskRequest.newBuilder().setSignal(9).build());
                  return null;
                } catch (StatusRuntimeException e) {
                  return e;
                }
              });
      assertTrue(eventually(() -> Files.exists(hanging)), "the fake runc kill never ran");
      // runc kill hangs now: State still answers, at once
      TaskStateReply state =
          h.client.blocking(1, TimeUnit.SECONDS).state(StateTaskRequest.getDefaultInstance());
      assertEquals("running", state.getStatus());

      StatusRuntimeException failed = kill.get(20, TimeUnit.SECONDS);
      long took = System.nanoTime() - t0;
      assertTrue(failed != null, "Kill succeeded with a hung runc");
      assertEquals(Status.Code.INTERNAL, failed.getStatus().getCode());
      assertEquals("runc kill timed out after 2s (killed)", failed.getStatus().getDescription());
      assertTrue(took >= TimeUnit.SECONDS.toNanos(2), "failed before the timeout");
      assertTrue(
          eventually(() -> processesRunning("sleep", "301").isEmpty()),
          "the hung runc's child survived: its process group was not killed");
      assertTrue(h.shimLog().contains("runc kill timed out after 2s"), h.shimLog());

      // With runc well again, the shim goes on as before.
      Files.delete(hang);
      assertEquals("running", shim.state(StateTaskRequest.getDefaultInstance()).getStatus());
      shim.kill(KillTaskRequest.newBuilder().setSignal(9).build());
      assertEquals(137, shim.waitExit(WaitTaskRequest.getDefaultInstance()).getExitCode());
      shim.delete(DeleteTaskRequest.getDefaultInstance());
    } finally {
      try (var paths = Files.walk(fake)) {
        paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** Whether the process sleeps in a write to a full pipe (its kernel wait channel). */
  static boolean blockedWritingToAPipe(long pid) {
    try {
      return Files.readString(Path.of("/proc/" + pid + "/wchan")).contains("pipe_write");
    } catch (java.io.IOException gone) {
      return false;
    }
  }

  /** Live processes whose command line is exactly {@code args}. */
  static List<Long> processesRunning(String... args) {
    String wanted = String.join("\0", args) + "\0";
    List<Long> found = new ArrayList<>();
    try (var entries = Files.list(Path.of("/proc"))) {
      for (Path p : (Iterable<Path>) entries::iterator) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          if (new String(Files.readAllBytes(p.resolve("cmdline"))).equals(wanted)
              && ShimHarness.isRunning(Long.parseLong(name))) {
            found.add(Long.parseLong(name));
          }
        } catch (java.io.IOException gone) {
          // exited while listing
        }
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return found;
  }

  static boolean eventually(java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(50);
    }
    return true;
  }

  @Test
  void orphans_of_the_container_are_reaped_on_overlay_rootfs() throws Exception {
    ShimHarness h = shim("orphans");
    Path bundle =
        h.bundle(
            "bundle",
            List.of("sh", "-c", "sleep 100 & sleep 100 & (sleep 100 &) ; echo started; exit 0"));
    Path upper = Files.createDirectories(h.dir.resolve("upper"));
    Path work = Files.createDirectories(h.dir.resolve("work"));
    TaskGrpc.TaskBlockingStub shim = h.shim();
    shim.create(
        CreateTaskRequest.newBuilder()
            .setBundle(bundle.toString())
            .setLogPath(h.logPath.toString())
            .addRootfs(
                Mount.newBuilder()
                    .setType("overlay")
                    .setSource("overlay")
                    .addOptions("lowerdir=" + h.rootfsSource)
                    .addOptions("upperdir=" + upper)
                    .addOptions("workdir=" + work))
            .build());
    shim.start(StartTaskRequest.getDefaultInstance());
    assertEquals(0, shim.waitExit(WaitTaskRequest.getDefaultInstance()).getExitCode());
    // When init (sh) exits the kernel kills the rest of the pid namespace; those processes
    // are re-parented to the shim, its subreaper, which must reap every one of them.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    List<String> children = h.childrenOfShim();
    while (!children.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(50);
      children = h.childrenOfShim();
    }
    assertEquals(List.of(), children, "processes left under the shim");
    assertTrue(Files.readString(h.logPath).contains("started"));
    shim.delete(DeleteTaskRequest.getDefaultInstance());
    assertTrue(h.process.waitFor(10, TimeUnit.SECONDS));
    assertFalse(ShimHarness.isMounted(bundle.resolve("rootfs")));
  }

  @Test
  void create_with_bad_bundle_fails_in_one_line_and_leaves_nothing_mounted() throws Exception {
    ShimHarness h = shim("bad");
    Path bundle = h.bundle("bundle", List.of("true"));
    Files.writeString(bundle.resolve("config.json"), "{\"ociVersion\": \"1.0.2\", \"process\": ");
    TaskGrpc.TaskBlockingStub shim = h.shim();
    StatusRuntimeException e =
        assertThrows(StatusRuntimeException.class, () -> shim.create(bindCreate(h, bundle)));
    String message = e.getStatus().getDescription();
    assertTrue(message != null && message.startsWith("runc create failed: "), message);
    assertFalse(message.contains("\n"), message);
    assertFalse(ShimHarness.isMounted(bundle.resolve("rootfs")), "rootfs left mounted");
    assertFalse(Files.exists(h.runcRoot.resolve(h.id)), "runc state left behind");

    // A missing bundle is refused before anything is mounted.
    StatusRuntimeException missing =
        assertThrows(
            StatusRuntimeException.class, () -> shim.create(bindCreate(h, h.dir.resolve("nope"))));
    assertEquals(Status.Code.INVALID_ARGUMENT, missing.getStatus().getCode());

    // The shim is still healthy, has no task, and shuts down when asked.
    assertEquals("unknown", shim.state(StateTaskRequest.getDefaultInstance()).getStatus());
    shim.shutdown(ShutdownRequest.getDefaultInstance());
    assertTrue(h.process.waitFor(10, TimeUnit.SECONDS));
    assertEquals(0, h.process.exitValue());
  }

  @Test
  void delete_of_aCreated_task_kills_its_init() throws Exception {
    ShimHarness h = shim("created");
    Path bundle = h.bundle("bundle", List.of("sleep", "100"));
    TaskGrpc.TaskBlockingStub shim = h.shim();
    shim.create(bindCreate(h, bundle));
    ExitStatus exit = shim.delete(DeleteTaskRequest.getDefaultInstance());
    assertEquals(137, exit.getExitCode());
    assertTrue(h.process.waitFor(10, TimeUnit.SECONDS));
    assertFalse(ShimHarness.isMounted(bundle.resolve("rootfs")));
    assertFalse(Files.exists(h.runcRoot.resolve(h.id)));
  }

  @Test
  void sigterm_ends_the_shim_cleanly_and_leaves_the_container_running() throws Exception {
    ShimHarness h = shim("term");
    Path bundle = h.bundle("bundle", List.of("sleep", "100"));
    TaskGrpc.TaskBlockingStub shim = h.shim();
    int pid = shim.create(bindCreate(h, bundle)).getPid();
    shim.start(StartTaskRequest.getDefaultInstance());
    new ProcessBuilder("kill", "-TERM", Long.toString(h.process.pid())).start().waitFor();
    assertTrue(h.process.waitFor(10, TimeUnit.SECONDS));
    assertEquals(0, h.process.exitValue());
    assertTrue(Files.exists(Path.of("/proc/" + pid)), "the container outlives its shim");
    // @AfterEach deletes it with runc delete --force.
  }

  @Test
  void failpoints_from_the_bundle_fail_delay_and_crash_their_rpcs() throws Exception {
    ShimHarness h = shim("faults");
    Path bundle = h.bundle("bundle", List.of("sleep", "100"));
    dev.berth.api.failpoint.Failpoints.write(
        bundle.resolve(dev.berth.api.failpoint.Failpoints.FILE_NAME),
        java.util.Map.of("State", "1*error", "Start", "delay(400)", "Kill", "crash"));
    TaskGrpc.TaskBlockingStub shim = h.shim();
    shim.create(bindCreate(h, bundle));

    io.grpc.StatusRuntimeException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            io.grpc.StatusRuntimeException.class,
            () -> shim.state(StateTaskRequest.getDefaultInstance()));
    assertEquals(io.grpc.Status.Code.UNAVAILABLE, e.getStatus().getCode());
    assertEquals("failpoint State=1*error", e.getStatus().getDescription());
    assertEquals(
        "created",
        shim.state(StateTaskRequest.getDefaultInstance()).getStatus(),
        "spent after one call");

    long t0 = System.nanoTime();
    shim.start(StartTaskRequest.getDefaultInstance());
    assertTrue(System.nanoTime() - t0 >= 400_000_000L, "Start was delayed");

    org.junit.jupiter.api.Assertions.assertThrows(
        io.grpc.StatusRuntimeException.class,
        () -> shim.kill(dev.berth.api.shim.v1.KillTaskRequest.newBuilder().setSignal(9).build()));
    assertTrue(h.process.waitFor(10, TimeUnit.SECONDS), "Kill=crash ended the shim");
    assertEquals(137, h.process.exitValue(), "killed by SIGKILL, not an orderly exit");
  }
}
