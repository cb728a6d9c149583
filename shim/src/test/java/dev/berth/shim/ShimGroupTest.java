package dev.berth.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.api.shim.v1.CreateExecRequest;
import dev.berth.api.shim.v1.CreateTaskRequest;
import dev.berth.api.shim.v1.DeleteTaskRequest;
import dev.berth.api.shim.v1.ExecEvent;
import dev.berth.api.shim.v1.ExecInput;
import dev.berth.api.shim.v1.KillTaskRequest;
import dev.berth.api.shim.v1.ListTasksRequest;
import dev.berth.api.shim.v1.Mount;
import dev.berth.api.shim.v1.ShutdownRequest;
import dev.berth.api.shim.v1.StartTaskRequest;
import dev.berth.api.shim.v1.StateTaskRequest;
import dev.berth.api.shim.v1.TaskGrpc;
import dev.berth.api.shim.v1.TaskStateReply;
import dev.berth.api.shim.v1.WaitTaskRequest;
import dev.berth.api.transport.UnixSockets;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** One real group shim serving several real runc containers (busybox rootfs); needs root + runc. */
class ShimGroupTest {
  private static final int MAX = 3;
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

  private Path tasksDir() {
    return harness.dir.resolve("shims");
  }

  /** A spare-style group shim whose containers' task dirs are under dir/shims. */
  private TaskGrpc.TaskBlockingStub groupShim(boolean spare) throws Exception {
    harness =
        new ShimHarness(
            spare ? "spare-g" : ".auto-1",
            spare,
            java.util.Map.of(),
            List.of("--tasks-dir", "TASKS"));
    return harness.shim();
  }

  private CreateTaskRequest create(String id, String group, List<String> args) throws Exception {
    Path bundle = harness.bundle("bundle-" + id, args);
    harness.alsoDelete.add(id);
    return CreateTaskRequest.newBuilder()
        .setId(id)
        .setBundle(bundle.toString())
        .addRootfs(
            Mount.newBuilder()
                .setType("bind")
                .setSource(harness.rootfsSource.toString())
                .addOptions("rbind"))
        .setLogPath(harness.dir.resolve(id + ".log").toString())
        .setGroup(group)
        .setMaxContainers(MAX)
        .build();
  }

  private static StateTaskRequest state(String id) {
    return StateTaskRequest.newBuilder().setContainerId(id).build();
  }

  @Test
  void three_containers_share_one_shim_and_one_leaving_does_not_touch_the_others()
      throws Exception {
    TaskGrpc.TaskBlockingStub shim = groupShim(true);
    Path spareDir = harness.stateDir;
    List<Integer> pids = new ArrayList<>();
    for (String id : List.of("c1", "c2", "c3")) {
      pids.add(shim.create(create(id, "web", List.of("sleep", "1000"))).getPid());
      shim.start(StartTaskRequest.newBuilder().setContainerId(id).build());
    }
    // the spare's dir became the group's; each container has its own task dir with task.json
    Path groupDir = spareDir.resolveSibling("web");
    assertFalse(Files.exists(spareDir));
    assertEquals(harness.socket.toString(), Files.readString(groupDir.resolve("address")));
    for (String id : List.of("c1", "c2", "c3")) {
      String taskJson = Files.readString(tasksDir().resolve(id).resolve("task.json"));
      assertTrue(taskJson.contains("\"group\":\"web\""), taskJson);
      assertTrue(Files.exists(tasksDir().resolve(id).resolve("init.pid")));
    }

    List<TaskStateReply> listed =
        shim.listTasks(ListTasksRequest.getDefaultInstance()).getTasksList();
    assertEquals(
        List.of("c1 running web", "c2 running web", "c3 running web"),
        listed.stream()
            .map(t -> t.getId() + " " + t.getStatus() + " " + t.getGroup())
            .sorted()
            .collect(Collectors.toList()));
    listed.forEach(t -> assertEquals(harness.process.pid(), t.getShimPid()));

    // an empty container_id is ambiguous with three containers
    StatusRuntimeException ambiguous =
        assertThrows(
            StatusRuntimeException.class, () -> shim.state(StateTaskRequest.getDefaultInstance()));
    assertEquals(Status.Code.INVALID_ARGUMENT, ambiguous.getStatus().getCode());

    // a 4th is refused: the group is full
    StatusRuntimeException full =
        assertThrows(
            StatusRuntimeException.class,
            () -> shim.create(create("c4", "web", List.of("sleep", "1000"))));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, full.getStatus().getCode());
    assertFalse(Files.exists(tasksDir().resolve("c4")));

    // an exec in c2 runs in c2 only
    channel = UnixSockets.channel(harness.socket);
    shim.createExec(
        CreateExecRequest.newBuilder()
            .setContainerId("c2")
            .setExecId("e1")
            .addAllArgs(List.of("sh", "-c", "echo in-c2; exit 5"))
            .build());
    assertEquals(5, runAttached("c2", "e1"));
    StatusRuntimeException noExec =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                shim.inspectExec(
                    dev.berth.api.shim.v1.InspectExecRequest.newBuilder()
                        .setContainerId("c1")
                        .setExecId("e1")
                        .build()));
    assertEquals(Status.Code.NOT_FOUND, noExec.getStatus().getCode());

    // kill and delete c1: c2 and c3 keep running, the shim stays
    shim.kill(KillTaskRequest.newBuilder().setContainerId("c1").setSignal(9).setAll(true).build());
    assertEquals(
        137,
        shim.waitExit(WaitTaskRequest.newBuilder().setContainerId("c1").build()).getExitCode());
    assertEquals("running", shim.state(state("c2")).getStatus());
    assertEquals(
        137,
        shim.delete(DeleteTaskRequest.newBuilder().setContainerId("c1").build()).getExitCode());
    assertFalse(Files.exists(tasksDir().resolve("c1")), "c1's task dir removed");
    assertTrue(harness.process.isAlive(), "Delete does not end a group shim");
    assertTrue(ShimHarness.isRunning(pids.get(1)));
    assertTrue(ShimHarness.isRunning(pids.get(2)));
    assertEquals(2, shim.listTasks(ListTasksRequest.getDefaultInstance()).getTasksCount());
    // another group's container is refused
    StatusRuntimeException otherGroup =
        assertThrows(
            StatusRuntimeException.class,
            () -> shim.create(create("x1", "db", List.of("sleep", "1000"))));
    assertEquals(Status.Code.INVALID_ARGUMENT, otherGroup.getStatus().getCode());

    // Shutdown(now=false) is refused while containers are left
    StatusRuntimeException busy =
        assertThrows(
            StatusRuntimeException.class,
            () -> shim.shutdown(ShutdownRequest.getDefaultInstance()));
    assertEquals(Status.Code.FAILED_PRECONDITION, busy.getStatus().getCode());
    for (String id : List.of("c2", "c3")) {
      shim.kill(KillTaskRequest.newBuilder().setContainerId(id).setSignal(9).setAll(true).build());
      shim.waitExit(WaitTaskRequest.newBuilder().setContainerId(id).build());
      shim.delete(DeleteTaskRequest.newBuilder().setContainerId(id).build());
    }
    shim.shutdown(ShutdownRequest.getDefaultInstance());
    assertTrue(harness.process.waitFor(10, TimeUnit.SECONDS), "an empty group shim ends");
    assertFalse(Files.exists(groupDir), "group dir removed");
    assertFalse(Files.exists(harness.socket), "socket removed");
  }

  @Test
  void two_concurrent_creates_do_not_exceed_the_limit() throws Exception {
    TaskGrpc.TaskBlockingStub shim = groupShim(false);
    shim.create(create("a1", ".auto-1", List.of("sleep", "1000")));
    shim.create(create("a2", ".auto-1", List.of("sleep", "1000")));
    CreateTaskRequest r3 = create("a3", ".auto-1", List.of("sleep", "1000"));
    CreateTaskRequest r4 = create("a4", ".auto-1", List.of("sleep", "1000"));
    CompletableFuture<String> f3 = CompletableFuture.supplyAsync(() -> outcome(r3));
    CompletableFuture<String> f4 = CompletableFuture.supplyAsync(() -> outcome(r4));
    List<String> outcomes = List.of(f3.get(60, TimeUnit.SECONDS), f4.get(60, TimeUnit.SECONDS));
    assertEquals(1, outcomes.stream().filter("ok"::equals).count(), outcomes.toString());
    assertEquals(
        1, outcomes.stream().filter("RESOURCE_EXHAUSTED"::equals).count(), outcomes.toString());
    assertEquals(MAX, shim.listTasks(ListTasksRequest.getDefaultInstance()).getTasksCount());
    // a one-container request without a container_id is refused here, not misrouted
    StatusRuntimeException ambiguous =
        assertThrows(
            StatusRuntimeException.class,
            () -> shim.kill(KillTaskRequest.newBuilder().setSignal(9).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, ambiguous.getStatus().getCode());
  }

  private String outcome(CreateTaskRequest r) {
    try {
      harness.shim().create(r);
      return "ok";
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode().name();
    }
  }

  /** Starts an attached exec and reads it to its end; its exit code. */
  private int runAttached(String containerId, String execId) throws Exception {
    LinkedBlockingQueue<ExecEvent> events = new LinkedBlockingQueue<>();
    CompletableFuture<Status> done = new CompletableFuture<>();
    StreamObserver<ExecInput> requests =
        TaskGrpc.newStub(channel)
            .startExec(
                new StreamObserver<>() {
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
                });
    requests.onNext(ExecInput.newBuilder().setContainerId(containerId).setExecId(execId).build());
    requests.onCompleted();
    assertEquals(Status.Code.OK, done.get(60, TimeUnit.SECONDS).getCode());
    StringBuilder out = new StringBuilder();
    int code = -1;
    for (ExecEvent e : events) {
      if (e.hasExited()) code = e.getExited().getExitCode();
      if (e.getPayloadCase() == ExecEvent.PayloadCase.STDOUT)
        out.append(e.getStdout().toStringUtf8());
    }
    assertEquals("in-c2\n", out.toString());
    return code;
  }
}
