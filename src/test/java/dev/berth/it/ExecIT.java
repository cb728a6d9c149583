package dev.berth.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import dev.berth.api.v1.CreateExecRequest;
import dev.berth.api.v1.Exec;
import dev.berth.api.v1.ExecServiceGrpc;
import dev.berth.api.v1.ExecState;
import dev.berth.api.v1.InspectExecRequest;
import dev.berth.api.v1.KillExecRequest;
import dev.berth.api.v1.ListExecsRequest;
import dev.berth.api.v1.StartExecRequest;
import dev.berth.api.v1.StartExecResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Execs as resources through berth.v1's ExecService, called with its grpc stubs straight over the
 * daemon's socket (issue 11): a slow reader gets all of 100 MB and the shim stays healthy; a
 * cancelled attached exec's process is killed; detached execs are listed and killed; the limits;
 * tty refused.
 */
class ExecIT {
  static BerthHarness berth;
  static ManagedChannel channel;
  static String container;
  static EpollEventLoopGroup group;

  @BeforeAll
  static void startDaemonAndContainer() {
    berth = BerthHarness.start("ExecIT");
    container = berth.runDetached("busybox", "sleep", "100000");
    group = new EpollEventLoopGroup(1);
    channel =
        NettyChannelBuilder.forAddress(new DomainSocketAddress(berth.socket.toString()))
            .channelType(EpollDomainSocketChannel.class)
            .eventLoopGroup(group)
            .overrideAuthority("localhost")
            .usePlaintext()
            .build();
  }

  @AfterAll
  static void stopDaemon() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    }
    if (group != null) group.shutdownGracefully();
    if (berth != null) berth.close();
  }

  private static ExecServiceGrpc.ExecServiceBlockingStub execs() {
    return ExecServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  private static Exec create(String containerRef, boolean attachStdin, String... args) {
    return execs()
        .createExec(
            CreateExecRequest.newBuilder()
                .setContainer(containerRef)
                .addAllArgs(List.of(args))
                .setAttachStdin(attachStdin)
                .build())
        .getExec();
  }

  private static Exec inspect(String id) {
    return execs().inspectExec(InspectExecRequest.newBuilder().setExecId(id).build()).getExec();
  }

  private static String reason(StatusRuntimeException e) throws Exception {
    com.google.rpc.Status s = StatusProto.fromThrowable(e);
    if (s == null) return "";
    for (com.google.protobuf.Any d : s.getDetailsList()) {
      if (d.is(ErrorInfo.class)) return d.unpack(ErrorInfo.class).getReason();
    }
    return "";
  }

  /** One StartExec call read message by message (the test's own flow control). */
  static final class Call implements ClientResponseObserver<StartExecRequest, StartExecResponse> {
    final LinkedBlockingQueue<StartExecResponse> messages = new LinkedBlockingQueue<>();
    final CompletableFuture<Status> done = new CompletableFuture<>();
    ClientCallStreamObserver<StartExecRequest> requests;

    Call(String execId, boolean detach) {
      ExecServiceGrpc.newStub(channel).startExec(this);
      requests.onNext(StartExecRequest.newBuilder().setExecId(execId).setDetach(detach).build());
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<StartExecRequest> r) {
      requests = r;
      r.disableAutoRequestWithInitial(0);
    }

    @Override
    public void onNext(StartExecResponse m) {
      messages.add(m);
    }

    @Override
    public void onError(Throwable t) {
      done.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      done.complete(Status.OK);
    }

    /** The next message (asked for now), or null once the call ended. */
    StartExecResponse next() throws Exception {
      requests.request(1);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        StartExecResponse m = messages.poll(20, TimeUnit.MILLISECONDS);
        if (m != null) return m;
        if (done.isDone() && messages.isEmpty()) return null;
      }
      throw new AssertionError("no StartExec message in 60 s");
    }
  }

  record Drained(long stdoutBytes, String stdout, int exitCode, Status status) {}

  static Drained drain(Call call) throws Exception {
    long bytes = 0;
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int code = -1;
    for (StartExecResponse m = call.next(); m != null; m = call.next()) {
      if (m.hasExited()) code = m.getExited().getExitCode();
      if (m.getEventCase() == StartExecResponse.EventCase.STDOUT) {
        bytes += m.getStdout().size();
        if (head.size() < 4096) head.writeBytes(m.getStdout().toByteArray());
      }
    }
    return new Drained(bytes, head.toString(), code, call.done.get(10, TimeUnit.SECONDS));
  }

  /** Issue 11, bug 1: read one message, stall 15 s, drain: every byte, exit 0, a healthy shim. */
  @Test
  void a_slow_reader_gets_all_100_mb_and_the_shim_stays_healthy() throws Exception {
    Exec e = create(container, false, "sh", "-c", "dd if=/dev/zero bs=1M count=100 2>/dev/null");
    assertTrue(
        e.getId().matches("[0-9a-f]{32}") && e.getId().startsWith(container.substring(0, 16)),
        e.getId());
    assertEquals(ExecState.EXEC_STATE_CREATED, e.getState());
    Call call = new Call(e.getId(), false);
    StartExecResponse started = call.next();
    assertTrue(started.hasStarted(), started.toString());
    long bytes = call.next().getStdout().size();
    Thread.sleep(15_000);
    long shim = berth.shimPid(container);
    assertTrue(BerthHarness.processAlive(shim), "the shim died");
    assertEquals(ExecState.EXEC_STATE_RUNNING, inspect(e.getId()).getState());
    Drained rest = drain(call);
    assertEquals(100L * 1024 * 1024, bytes + rest.stdoutBytes());
    assertEquals(0, rest.exitCode());
    assertTrue(rest.status().isOk(), rest.status().toString());
    Exec after = inspect(e.getId());
    assertEquals(ExecState.EXEC_STATE_EXITED, after.getState());
    assertEquals(0, after.getExitCode());
    assertFalse(
        Files.readString(berth.shimHome(container).resolve("shim.log"))
            .contains("OutOfMemoryError"));
    // and the shim answers and runs other execs afterwards
    assertEquals(shim, berth.shimPid(container));
    Exec echo = create(container, false, "echo", "still here");
    assertEquals("still here\n", drain(new Call(echo.getId(), false)).stdout());
  }

  /** Issue 11, bug 2: an attached exec whose client goes away is killed (137), not left running. */
  @Test
  void cancelling_an_attached_exec_kills_its_process() throws Exception {
    Exec e = create(container, false, "sh", "-c", "trap '' TERM; sleep 333");
    Call call = new Call(e.getId(), false);
    int pid = call.next().getStarted().getPid();
    assertTrue(BerthHarness.processAlive(pid));
    call.requests.cancel("the client went away", null);
    assertTrue(
        BerthHarness.eventually(Duration.ofSeconds(15), () -> !BerthHarness.processAlive(pid)),
        "the exec's process survived its client");
    assertTrue(
        BerthHarness.eventually(
            Duration.ofSeconds(15),
            () -> inspect(e.getId()).getState() == ExecState.EXEC_STATE_EXITED));
    assertEquals(137, inspect(e.getId()).getExitCode());
    assertTrue(BerthHarness.processesMatching("sleep 333").isEmpty(), "its child survived");
  }

  @Test
  void a_detached_exec_is_listed_and_killed_from_another_call() throws Exception {
    Exec e = create(container, false, "sleep", "334");
    Call call = new Call(e.getId(), true);
    StartExecResponse started = call.next();
    assertTrue(started.hasStarted(), started.toString());
    assertNull(call.next());
    assertTrue(call.done.get(10, TimeUnit.SECONDS).isOk());
    int pid = started.getStarted().getPid();
    Thread.sleep(200);
    assertTrue(BerthHarness.processAlive(pid), "the detached exec does not run on");

    List<Exec> listed =
        execs()
            .listExecs(ListExecsRequest.newBuilder().setContainer(container).build())
            .getExecsList();
    Exec mine = listed.stream().filter(x -> x.getId().equals(e.getId())).findFirst().orElseThrow();
    assertEquals(ExecState.EXEC_STATE_RUNNING, mine.getState());
    assertEquals(pid, mine.getPid());
    assertEquals(container, mine.getContainerId());

    execs().killExec(KillExecRequest.newBuilder().setExecId(e.getId()).build()); // SIGKILL
    assertTrue(
        BerthHarness.eventually(
            Duration.ofSeconds(15),
            () -> inspect(e.getId()).getState() == ExecState.EXEC_STATE_EXITED));
    assertEquals(137, inspect(e.getId()).getExitCode());
    assertFalse(BerthHarness.processAlive(pid));
  }

  /** The shim keeps the records: a kill -9 of berthd loses no exec, running or exited. */
  @Test
  void execs_outlive_a_daemon_restart() throws Exception {
    Exec running = create(container, false, "sleep", "335");
    Call call = new Call(running.getId(), true);
    int pid = call.next().getStarted().getPid();
    assertNull(call.next());
    Exec done = create(container, false, "sh", "-c", "exit 3");
    assertEquals(3, drain(new Call(done.getId(), false)).exitCode());

    berth.kill9Daemon();
    berth.startDaemon();

    assertTrue(BerthHarness.processAlive(pid));
    assertTrue(
        BerthHarness.eventually(
            Duration.ofSeconds(30),
            () -> {
              try {
                return inspect(running.getId()).getState() == ExecState.EXEC_STATE_RUNNING;
              } catch (StatusRuntimeException notYet) {
                return false;
              }
            }),
        "the running exec was lost with the daemon");
    assertEquals(pid, inspect(running.getId()).getPid());
    assertEquals(3, inspect(done.getId()).getExitCode());
    execs().killExec(KillExecRequest.newBuilder().setExecId(running.getId()).build());
    assertTrue(
        BerthHarness.eventually(Duration.ofSeconds(15), () -> !BerthHarness.processAlive(pid)));
  }

  @Test
  void limits_unknown_ids_and_stdin() throws Exception {
    String other = berth.runDetached("busybox", "sleep", "100000");
    for (int i = 0; i < 64; i++) create(other, false, "true");
    StatusRuntimeException full =
        assertThrows(StatusRuntimeException.class, () -> create(other, false, "true"));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, full.getStatus().getCode(), full.toString());

    StatusRuntimeException unknown =
        assertThrows(StatusRuntimeException.class, () -> inspect("0".repeat(32)));
    assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());
    assertEquals("EXEC_NOT_FOUND", reason(unknown));
    StatusRuntimeException garbage =
        assertThrows(StatusRuntimeException.class, () -> inspect("x".repeat(9000)));
    assertEquals(Status.Code.NOT_FOUND, garbage.getStatus().getCode());
    assertTrue(garbage.getStatus().getDescription().length() < 200, garbage.toString());

    // stdin: chunks reach the process; one over 1 MiB ends the call
    Exec cat = create(container, true, "cat");
    Call call = new Call(cat.getId(), false);
    assertTrue(call.next().hasStarted());
    call.requests.onNext(
        StartExecRequest.newBuilder()
            .setStdin(ByteString.copyFromUtf8("hello"))
            .setCloseStdin(true)
            .build());
    Drained d = drain(call);
    assertEquals("hello", d.stdout());
    assertEquals(0, d.exitCode());

    Exec big = create(container, true, "cat");
    Call tooBig = new Call(big.getId(), false);
    assertTrue(tooBig.next().hasStarted());
    tooBig.requests.onNext(
        StartExecRequest.newBuilder()
            .setStdin(ByteString.copyFrom(new byte[(1 << 20) + 1]))
            .build());
    Drained refused = drain(tooBig);
    assertEquals(Status.Code.INVALID_ARGUMENT, refused.status().getCode(), refused.toString());
    berth.ok("rm", "-f", other);
  }

  @Test
  void tty_is_refused_as_unsupported() throws Exception {
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                execs()
                    .createExec(
                        CreateExecRequest.newBuilder()
                            .setContainer(container)
                            .addArgs("sh")
                            .setTty(true)
                            .build()));
    assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode(), e.toString());
    assertEquals("UNSUPPORTED", reason(e));
  }
}
