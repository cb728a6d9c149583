package dev.berth.shim;

import static dev.berth.shim.ShimTest.eventually;
import static dev.berth.shim.ShimTest.processesRunning;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.berth.api.shim.v1.CreateExecRequest;
import dev.berth.api.shim.v1.CreateTaskRequest;
import dev.berth.api.shim.v1.DeleteTaskRequest;
import dev.berth.api.shim.v1.ExecEvent;
import dev.berth.api.shim.v1.ExecInfo;
import dev.berth.api.shim.v1.ExecInput;
import dev.berth.api.shim.v1.ExecStatus;
import dev.berth.api.shim.v1.InspectExecRequest;
import dev.berth.api.shim.v1.KillExecRequest;
import dev.berth.api.shim.v1.KillTaskRequest;
import dev.berth.api.shim.v1.ListExecsRequest;
import dev.berth.api.shim.v1.Mount;
import dev.berth.api.shim.v1.StartTaskRequest;
import dev.berth.api.shim.v1.StateTaskRequest;
import dev.berth.api.shim.v1.TaskGrpc;
import dev.berth.api.shim.v1.WaitTaskRequest;
import dev.berth.api.transport.UnixSockets;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Execs as resources in a real shim over real runc: create, start (attached with flow control both
 * ways, or detached), kill, inspect, list, and what a caller that goes away does to its process.
 */
class ShimExecTest {
  private static final String FLOOD = "busybox dd if=/dev/zero bs=1048576 count=100 2>/dev/null";
  private ShimHarness harness;
  private ManagedChannel channel;

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
    if (channel != null) {
      channel.shutdownNow();
    }
    if (harness != null) {
      harness.close();
    }
  }

  /** A shim with a running `sleep 1000` container. */
  private TaskGrpc.TaskBlockingStub running(String id) throws Exception {
    harness = new ShimHarness(id);
    Path bundle = harness.bundle("bundle", List.of("sleep", "1000"));
    TaskGrpc.TaskBlockingStub shim = harness.shim();
    shim.create(
        CreateTaskRequest.newBuilder()
            .setId(harness.id)
            .setBundle(bundle.toString())
            .addRootfs(
                Mount.newBuilder()
                    .setType("bind")
                    .setSource(harness.rootfsSource.toString())
                    .addOptions("rbind"))
            .setLogPath(harness.logPath.toString())
            .build());
    shim.start(StartTaskRequest.getDefaultInstance());
    channel = UnixSockets.channel(harness.socket);
    return shim;
  }

  private String log() {
    try {
      return harness.shimLog()
          + new String(
              new ProcessBuilder("ps", "-eo", "pid,ppid,stat,wchan:20,args")
                  .start()
                  .getInputStream()
                  .readAllBytes());
    } catch (java.io.IOException e) {
      return e.toString();
    }
  }

  private void stopContainer(TaskGrpc.TaskBlockingStub shim) {
    shim.kill(KillTaskRequest.newBuilder().setSignal(9).setAll(true).build());
    assertEquals(137, shim.waitExit(WaitTaskRequest.getDefaultInstance()).getExitCode());
    shim.delete(DeleteTaskRequest.getDefaultInstance());
  }

  private static CreateExecRequest.Builder exec(String id, String... args) {
    return CreateExecRequest.newBuilder().setExecId(id).addAllArgs(List.of(args));
  }

  /** One StartExec call whose output the test reads message by message (manual flow control). */
  private final class Call implements ClientResponseObserver<ExecInput, ExecEvent> {
    final LinkedBlockingQueue<ExecEvent> events = new LinkedBlockingQueue<>();
    final CompletableFuture<Status> done = new CompletableFuture<>();
    ClientCallStreamObserver<ExecInput> requests;

    Call(String execId, boolean detach) {
      TaskGrpc.newStub(channel).startExec(this);
      requests.onNext(ExecInput.newBuilder().setExecId(execId).setDetach(detach).build());
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ExecInput> r) {
      requests = r;
      r.disableAutoRequestWithInitial(0);
    }

    @Override
    public void onNext(ExecEvent e) {
      events.add(e);
    }

    @Override
    public void onError(Throwable t) {
      done.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      done.complete(Status.OK);
    }

    /** Asks for one more message and waits for it; null when the call ended. */
    ExecEvent next() throws Exception {
      requests.request(1);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        ExecEvent e = events.poll(20, TimeUnit.MILLISECONDS);
        if (e != null) {
          return e;
        }
        if (done.isDone() && events.isEmpty()) {
          return null;
        }
      }
      throw new AssertionError("no exec message in 60 s");
    }

    /** Reads to the end: stdout, stderr, the exit code. */
    Output drain() throws Exception {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      long outBytes = 0;
      int code = -1;
      for (ExecEvent e = next(); e != null; e = next()) {
        switch (e.getPayloadCase()) {
          case STDOUT -> {
            outBytes += e.getStdout().size();
            if (out.size() < 1 << 20) out.writeBytes(e.getStdout().toByteArray());
          }
          case STDERR -> err.writeBytes(e.getStderr().toByteArray());
          case EXITED -> code = e.getExited().getExitCode();
          default -> {}
        }
      }
      return new Output(
          out.toString(), err.toString(), outBytes, code, done.get(10, TimeUnit.SECONDS));
    }
  }

  private record Output(
      String stdout, String stderr, long stdoutBytes, int exitCode, Status status) {}

  @Test
  void exec_is_created_then_started_and_streams_started_output_and_exit() throws Exception {
    TaskGrpc.TaskBlockingStub shim = running("xstream");
    ExecInfo created =
        shim.createExec(
            exec("e1", "sh", "-c", "echo $GREETING $PWD; echo e >&2; exit 5")
                .addEnv("GREETING=hello")
                .setCwd("/tmp")
                .build());
    assertEquals(ExecStatus.EXEC_STATUS_CREATED, created.getStatus());
    assertEquals("xstream", created.getContainerId());

    Call call = new Call("e1", false);
    ExecEvent first = call.next();
    assertTrue(first.hasStarted(), first.toString());
    assertTrue(first.getStarted().getPid() > 0);
    Output o = call.drain();
    assertEquals("hello /tmp\n", o.stdout());
    assertEquals("e\n", o.stderr());
    assertEquals(5, o.exitCode());
    assertTrue(o.status().isOk(), o.status().toString());

    ExecInfo after = shim.inspectExec(InspectExecRequest.newBuilder().setExecId("e1").build());
    assertEquals(ExecStatus.EXEC_STATUS_EXITED, after.getStatus());
    assertEquals(5, after.getExitCode());
    assertFalse(after.getStartedAt().isEmpty());
    assertFalse(after.getFinishedAt().isEmpty());

    // started twice, unknown, bad user, no args: one clear status each
    Call again = new Call("e1", false);
    assertEquals(null, again.next());
    assertEquals(Status.Code.FAILED_PRECONDITION, again.done.get().getCode());
    Call unknown = new Call("nope", false);
    assertEquals(null, unknown.next());
    assertEquals(Status.Code.NOT_FOUND, unknown.done.get().getCode());
    StatusRuntimeException badUser =
        assertThrows(
            StatusRuntimeException.class,
            () -> shim.createExec(exec("e2", "true").setUser("nobody").build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, badUser.getStatus().getCode());
    StatusRuntimeException noArgs =
        assertThrows(StatusRuntimeException.class, () -> shim.createExec(exec("e3").build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, noArgs.getStatus().getCode());
    stopContainer(shim);
  }

  /**
   * Issue 11, bug 1: 100 MB of output for a caller that reads one message, stalls 15 s, then reads
   * on. The shim (24 MB heap) must hold the process back, not buffer: all bytes arrive, exit 0, no
   * OutOfMemoryError, and the shim answers and runs other execs meanwhile and afterwards.
   */
  @Test
  void a_stalled_reader_gets_all_100_mb_and_the_shim_stays_healthy() throws Exception {
    TaskGrpc.TaskBlockingStub shim = running("xslow");
    shim.createExec(exec("flood", "sh", "-c", FLOOD).build());
    Call call = new Call("flood", false);
    int pid = call.next().getStarted().getPid();
    ExecEvent one = call.next();
    long bytes = one.getStdout().size();
    assertTrue(bytes > 0, one.toString());

    // the process (sh, or dd if sh execs it) or its child waits on its full pipe
    assertTrue(
        eventually(
            () ->
                ExecProcess.descendantsAndSelf(pid).stream()
                    .anyMatch(ShimTest::blockedWritingToAPipe)),
        () ->
            "dd never blocked on its pipe: the shim reads on for a caller that does not " + log());
    Thread.sleep(15_000);
    assertTrue(harness.process.isAlive(), "the shim died");
    assertEquals("running", shim.state(StateTaskRequest.getDefaultInstance()).getStatus());
    shim.createExec(exec("meanwhile", "echo", "ok").build());
    assertEquals("ok\n", new Call("meanwhile", false).drain().stdout());

    Output rest = call.drain();
    assertEquals(100L * 1024 * 1024, bytes + rest.stdoutBytes());
    assertEquals(0, rest.exitCode());
    assertTrue(rest.status().isOk(), rest.status().toString());
    assertFalse(harness.shimLog().contains("OutOfMemoryError"), harness.shimLog());
    assertEquals("running", shim.state(StateTaskRequest.getDefaultInstance()).getStatus());
    shim.createExec(exec("after", "echo", "still").build());
    assertEquals("still\n", new Call("after", false).drain().stdout());
    stopContainer(shim);
  }

  /** Issue 11, bug 2: a caller that goes away takes its process with it (SIGKILL, 137). */
  @Test
  void an_attached_exec_whose_caller_cancels_is_killed_and_recorded_137() throws Exception {
    TaskGrpc.TaskBlockingStub shim = running("xcancel");
    // sh ignores nothing here, but a SIGTERM-proof process shows that the kill is a SIGKILL
    shim.createExec(exec("quiet", "sh", "-c", "trap '' TERM; sleep 227; echo late").build());
    Call call = new Call("quiet", false);
    int pid = call.next().getStarted().getPid();
    assertTrue(pid > 0);
    assertTrue(
        eventually(() -> !processesRunning("sleep", "227").isEmpty()), "the exec never started");
    call.requests.cancel("the client went away", null);
    assertTrue(
        eventually(() -> !ShimHarness.isRunning(pid)),
        "the exec's process still runs after its caller cancelled");
    assertTrue(
        eventually(
            () ->
                shim.inspectExec(InspectExecRequest.newBuilder().setExecId("quiet").build())
                        .getStatus()
                    == ExecStatus.EXEC_STATUS_EXITED),
        () -> "never recorded as exited: " + log());
    assertEquals(
        137,
        shim.inspectExec(InspectExecRequest.newBuilder().setExecId("quiet").build()).getExitCode());
    stopContainer(shim);
  }

  @Test
  void a_detached_exec_runs_on_and_is_listed_killed_and_inspected() throws Exception {
    TaskGrpc.TaskBlockingStub shim = running("xdetach");
    shim.createExec(exec("bg", "sleep", "229").build());
    Call call = new Call("bg", true);
    ExecEvent started = call.next();
    assertTrue(started.hasStarted(), started.toString());
    assertEquals(null, call.next());
    assertTrue(call.done.get().isOk());
    Thread.sleep(300);
    assertEquals(1, processesRunning("sleep", "229").size(), "the detached exec does not run on");

    List<ExecInfo> list = shim.listExecs(ListExecsRequest.getDefaultInstance()).getExecsList();
    assertEquals(1, list.size());
    assertEquals(ExecStatus.EXEC_STATUS_RUNNING, list.get(0).getStatus());
    assertEquals(started.getStarted().getPid(), list.get(0).getPid());

    ExecInfo killed =
        shim.killExec(KillExecRequest.newBuilder().setExecId("bg").setSignal(9).build());
    assertNotNull(killed);
    assertTrue(
        eventually(() -> processesRunning("sleep", "229").isEmpty()), "KillExec did not kill");
    assertTrue(
        eventually(
            () ->
                shim.inspectExec(InspectExecRequest.newBuilder().setExecId("bg").build())
                        .getStatus()
                    == ExecStatus.EXEC_STATUS_EXITED));
    assertEquals(
        137,
        shim.inspectExec(InspectExecRequest.newBuilder().setExecId("bg").build()).getExitCode());
    StatusRuntimeException notRunning =
        assertThrows(
            StatusRuntimeException.class,
            () -> shim.killExec(KillExecRequest.newBuilder().setExecId("bg").build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, notRunning.getStatus().getCode());
    stopContainer(shim);
  }

  @Test
  void stdin_reaches_the_process_and_close_stdin_ends_it() throws Exception {
    TaskGrpc.TaskBlockingStub shim = running("xstdin");
    shim.createExec(exec("cat", "cat").setAttachStdin(true).build());
    Call call = new Call("cat", false);
    assertTrue(call.next().hasStarted());
    call.requests.onNext(
        ExecInput.newBuilder().setStdin(ByteString.copyFromUtf8("hello ")).build());
    call.requests.onNext(
        ExecInput.newBuilder()
            .setStdin(ByteString.copyFromUtf8("world"))
            .setCloseStdin(true)
            .build());
    Output o = call.drain();
    assertEquals("hello world", o.stdout());
    assertEquals(0, o.exitCode());
    stopContainer(shim);
  }

  @Test
  void at_most_64_execs_are_created_or_running_at_once() throws Exception {
    TaskGrpc.TaskBlockingStub shim = running("xlimit");
    for (int i = 0; i < ExecTable.MAX_LIVE; i++) {
      shim.createExec(exec("x" + i, "true").build());
    }
    StatusRuntimeException full =
        assertThrows(
            StatusRuntimeException.class, () -> shim.createExec(exec("one-more", "true").build()));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, full.getStatus().getCode());
    assertEquals(0, new Call("x0", false).drain().exitCode());
    shim.createExec(exec("one-more", "true").build()); // x0 exited: room for one
    assertEquals(65, shim.listExecs(ListExecsRequest.getDefaultInstance()).getExecsCount());
    stopContainer(shim);
  }
}
