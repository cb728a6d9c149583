package dev.berth.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.BerthException;
import dev.berth.core.ContainerView;
import dev.berth.core.ExitInfo;
import dev.berth.core.RestartPolicy;
import dev.berth.task.TaskRuntime.Observed;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ContainerActorTest {
  static final ActorTestKit kit =
      ActorTestKit.create(
          PersistenceTestKitPlugin.getInstance()
              .config()
              .withFallback(PersistenceTestKitSnapshotPlugin.config())
              .withFallback(com.typesafe.config.ConfigFactory.load()));

  FakeTaskRuntime runtime;
  TestProbe<ContainerSupervisor.Command> supervisor;
  String id;

  @AfterAll
  static void shutdown() {
    kit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    runtime = new FakeTaskRuntime();
    supervisor = kit.createTestProbe();
    id =
        UUID.randomUUID().toString().replace("-", "")
            + UUID.randomUUID().toString().replace("-", "");
  }

  private ActorRef<ContainerActor.Command> spawn(boolean fresh) {
    return kit.spawn(ContainerActor.create(id, fresh, runtime, supervisor.getRef()));
  }

  private <T> T ok(TestProbe<StatusReply<T>> p) {
    StatusReply<T> r = p.receiveMessage(Duration.ofSeconds(5));
    assertTrue(r.isSuccess(), () -> "expected success, got " + r.getError().getMessage());
    return r.getValue();
  }

  private <T> BerthException err(TestProbe<StatusReply<T>> p) {
    StatusReply<T> r = p.receiveMessage(Duration.ofSeconds(5));
    assertTrue(r.isError(), "expected an error reply");
    return (BerthException) r.getError();
  }

  private ActorRef<ContainerActor.Command> created(boolean autoRemove) {
    ActorRef<ContainerActor.Command> c = spawn(true);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Init(FakeTaskRuntime.spec(id, "web", autoRemove), p.getRef()));
    assertEquals("created", ok(p).state());
    return c;
  }

  private ContainerView started(ActorRef<ContainerActor.Command> c) {
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Start(p.getRef()));
    return ok(p);
  }

  private ContainerView inspect(ActorRef<ContainerActor.Command> c) {
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Inspect(p.getRef()));
    return ok(p);
  }

  @Test
  void start_runs_then_exit_is_recorded_and_waiters_answered() {
    var c = created(false);
    TestProbe<StatusReply<ExitInfo>> waiter = kit.createTestProbe();
    c.tell(new ContainerActor.WaitExit(waiter.getRef()));
    ContainerView running = started(c);
    assertEquals("running", running.state());
    assertTrue(running.pid() > 0);
    runtime.tasks.get(id).exit(3);
    assertEquals(3, ok(waiter).exitCode());
    ContainerView stopped = inspect(c);
    assertEquals("stopped", stopped.state());
    assertEquals(3, stopped.exitCode());
    assertEquals(0, stopped.pid());
    assertTrue(runtime.calls.contains("deleteTask " + id), "the exited task's shim is cleaned up");
  }

  /**
   * A full disk fails a journal write: the actor restarts, and the next request must not be stashed
   * for good.
   */
  @Test
  void a_failed_journal_write_leaves_the_container_usable_once_writes_work_again() {
    var c = created(false);
    started(c);
    runtime.tasks.get(id).exit(0);
    TestProbe<StatusReply<ExitInfo>> exited = kit.createTestProbe();
    c.tell(new ContainerActor.WaitExit(exited.getRef()));
    assertEquals(
        0, ok(exited).exitCode()); // the exit is journaled: the next write is the removal's
    org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit journal =
        org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit.create(kit.system());
    journal.failNextPersisted(
        ContainerActor.persistenceIdFor(id), new java.io.IOException("No space left on device"));
    TestProbe<StatusReply<ContainerView>> first = kit.createTestProbe();
    c.tell(new ContainerActor.Delete(false, first.getRef()));
    // The removal's intent could not be recorded: nothing happened, and the container is still
    // there.
    first.expectNoMessage(Duration.ofMillis(300));
    TestProbe<StatusReply<ContainerView>> second = kit.createTestProbe();
    // Retried until the backoff restart is over (the first attempt after it must succeed).
    ContainerView removed = null;
    for (int i = 0; i < 50 && removed == null; i++) {
      c.tell(new ContainerActor.Delete(false, second.getRef()));
      StatusReply<ContainerView> r = second.receiveMessage(Duration.ofSeconds(10));
      if (r.isSuccess()) removed = r.getValue();
    }
    assertTrue(removed != null, "the removal succeeds once the journal accepts writes again");
    assertTrue(runtime.calls.contains("removeBundle " + id));
  }

  /** A failed SIGTERM must not make a stop wait out its whole timeout: SIGKILL comes at once. */
  @Test
  void a_stop_whose_signal_fails_kills_at_once_instead_of_waiting_out_the_timeout() {
    var c = created(false);
    started(c);
    var task = runtime.tasks.get(id);
    task.failingKills.set(1);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Stop(15, Duration.ofMinutes(10), p.getRef()));
    ContainerView stopped = ok(p); // long before the 10 minutes
    assertEquals("stopped", stopped.state());
    assertEquals(137, stopped.exitCode());
    assertEquals(List.of(15, 9), task.signals.subList(0, 2));
  }

  @Test
  void invalid_transitions_are_errors_that_change_nothing() {
    var c = created(false);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Kill(15, p.getRef()));
    assertEquals(BerthException.Code.FAILED_PRECONDITION, err(p).code());
    started(c);
    c.tell(new ContainerActor.Start(p.getRef()));
    assertTrue(err(p).getMessage().contains("already running"));
    c.tell(new ContainerActor.Delete(false, p.getRef()));
    assertTrue(err(p).getMessage().contains("cannot remove running container"));
    assertEquals("running", inspect(c).state());
    assertFalse(runtime.calls.contains("removeBundle " + id));
  }

  @Test
  void forced_delete_kills_records_exit_then_removes() {
    var c = created(false);
    started(c);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Delete(true, p.getRef()));
    ok(p);
    assertTrue(runtime.tasks.get(id).signals.contains(9));
    var removed = supervisor.expectMessageClass(ContainerSupervisor.ChildRemoved.class);
    assertEquals(137, removed.exit().exitCode());
    assertTrue(runtime.calls.contains("removeBundle " + id));
  }

  @Test
  void stop_sends_signal_then_sigkill_after_timeout() {
    var c = created(false);
    started(c);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Stop(15, Duration.ofMillis(200), p.getRef()));
    ContainerView v = ok(p);
    assertEquals("stopped", v.state());
    assertEquals(137, v.exitCode());
    assertEquals(java.util.List.of(15, 9), runtime.tasks.get(id).signals);
  }

  @Test
  void failed_start_returns_to_created_with_the_error() {
    var c = created(false);
    runtime.failStartWith = "runc create failed: no such file";
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Start(p.getRef()));
    assertTrue(err(p).getMessage().contains("runc create failed"));
    ContainerView v = inspect(c);
    assertEquals("created", v.state());
    assertEquals("runc create failed: no such file", v.error());
  }

  @Test
  void auto_remove_answers_waiters_before_removing() {
    var c = created(true);
    TestProbe<StatusReply<ExitInfo>> waiter = kit.createTestProbe();
    c.tell(new ContainerActor.WaitExit(waiter.getRef()));
    started(c);
    runtime.tasks.get(id).exit(0);
    assertEquals(0, ok(waiter).exitCode());
    supervisor.expectMessageClass(ContainerSupervisor.ChildRemoved.class);
  }

  @Test
  void restart_reconciles_exit_that_happened_while_down() {
    var c = created(false);
    started(c);
    kit.stop(c);
    Instant exitedAt = Instant.parse("2026-01-01T00:00:00Z");
    runtime.nextObservation =
        CompletableFuture.completedFuture(new Observed.Exited(7, exitedAt, null));
    var again = spawn(false);
    // wait is answered once reconciled, with the real code and time from the shim
    TestProbe<StatusReply<ExitInfo>> waiter = kit.createTestProbe();
    again.tell(new ContainerActor.WaitExit(waiter.getRef()));
    ExitInfo exit = ok(waiter);
    assertEquals(7, exit.exitCode());
    assertEquals(exitedAt, exit.finishedAt());
    ContainerView v = inspect(again);
    assertEquals("stopped", v.state());
    assertEquals(7, v.exitCode());
    assertEquals(exitedAt, v.finishedAt());
  }

  @Test
  void restart_reports_unknown_until_reconciled_then_running_with_same_pid() {
    var c = created(false);
    int pid = started(c).pid();
    kit.stop(c);
    CompletableFuture<Observed> pending = new CompletableFuture<>();
    runtime.nextObservation = pending;
    var again = spawn(false);
    assertEquals("unknown", inspect(again).state());
    pending.complete(new Observed.Running(pid, 42, "/tmp/s.sock", runtime.new FakeTask()));
    ContainerView v = inspect(again);
    assertEquals("running", v.state());
    assertEquals(pid, v.pid());
  }

  @Test
  void restart_with_lost_shim_records_unknown_exit_code() {
    var c = created(false);
    started(c);
    kit.stop(c);
    runtime.nextObservation =
        CompletableFuture.completedFuture(new Observed.Lost("shim 42 is gone"));
    var again = spawn(false);
    TestProbe<StatusReply<ExitInfo>> waiter = kit.createTestProbe();
    again.tell(new ContainerActor.WaitExit(waiter.getRef()));
    assertEquals(ContainerActor.EXIT_UNKNOWN, ok(waiter).exitCode());
    ContainerView v = inspect(again);
    assertEquals("stopped", v.state());
    assertEquals(ContainerActor.EXIT_UNKNOWN, v.exitCode());
    assertTrue(v.error().contains("shim lost"));
  }

  private ActorRef<ContainerActor.Command> createdWith(RestartPolicy policy) {
    ActorRef<ContainerActor.Command> c = spawn(true);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Init(FakeTaskRuntime.spec(id, "web", false, policy), p.getRef()));
    assertEquals("created", ok(p).state());
    return c;
  }

  /** Waits until the container runs its n-th policy restart; returns that run's task. */
  private FakeTaskRuntime.FakeTask awaitRestart(
      ActorRef<ContainerActor.Command> c, int restartCount) {
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            Duration.ofMillis(20),
            () -> {
              ContainerView v = inspect(c);
              assertEquals("running", v.state());
              assertEquals(restartCount, v.restartCount());
              return null;
            });
    return runtime.tasks.get(id);
  }

  @Test
  void on_failure_restarts_with_backoff_until_the_maximum_then_stays_stopped() {
    var c = createdWith(RestartPolicy.parse("on-failure:2"));
    started(c);
    runtime.tasks.get(id).exit(3);
    awaitRestart(c, 1).exit(3);
    awaitRestart(c, 2).exit(3);
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            Duration.ofMillis(20),
            () -> {
              ContainerView v = inspect(c);
              assertEquals("stopped", v.state());
              assertEquals(3, v.exitCode());
              assertEquals(2, v.restartCount());
              assertEquals("on-failure:2", v.restartPolicy());
              return null;
            });
    // a manual start resets the count, like docker
    assertEquals(0, started(c).restartCount());
  }

  @Test
  void a_policy_restart_waits_for_the_previous_runs_task_cleanup() throws Exception {
    var c = createdWith(RestartPolicy.parse("on-failure:2"));
    started(c);
    // The exited run's shim is slow to delete its task (a loaded machine): the restart must not
    // start a new run on the same shim dir, runc container and rootfs until that is done.
    CompletableFuture<Void> cleanup = new CompletableFuture<>();
    runtime.taskCleanup = cleanup;
    runtime.tasks.get(id).exit(3);
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            Duration.ofMillis(20),
            () -> {
              assertTrue(runtime.calls.contains("deleteTask " + id), runtime.calls.toString());
              return null;
            });
    Thread.sleep(400); // longer than the first backoff (100 ms): the restart is due meanwhile
    assertEquals(
        1,
        runtime.calls.stream().filter(x -> x.equals("start " + id)).count(),
        "started again while the previous run's cleanup was going on: " + runtime.calls);
    assertEquals("restarting", inspect(c).state());
    cleanup.complete(null);
    awaitRestart(c, 1);
    List<String> calls = List.copyOf(runtime.calls);
    assertTrue(
        calls.lastIndexOf("start " + id) > calls.indexOf("deleteTask " + id), calls.toString());
  }

  @Test
  void on_failure_does_not_restart_a_clean_exit() throws Exception {
    var c = createdWith(RestartPolicy.parse("on-failure"));
    started(c);
    runtime.tasks.get(id).exit(0);
    Thread.sleep(400); // longer than the first backoff
    ContainerView v = inspect(c);
    assertEquals("stopped", v.state());
    assertEquals(0, v.restartCount());
  }

  @Test
  void always_restarts_any_exit_but_not_a_manual_stop() throws Exception {
    var c = createdWith(RestartPolicy.parse("always"));
    started(c);
    runtime.tasks.get(id).exit(0);
    awaitRestart(c, 1);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Stop(15, Duration.ofMillis(100), p.getRef()));
    assertEquals("stopped", ok(p).state());
    Thread.sleep(500);
    assertEquals("stopped", inspect(c).state());
  }

  @Test
  void unless_stopped_stays_stopped_across_a_daemon_restart() throws Exception {
    var c = createdWith(RestartPolicy.parse("unless-stopped"));
    started(c);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Kill(9, p.getRef()));
    ok(p);
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            () -> {
              assertEquals("stopped", inspect(c).state());
              return null;
            });
    kit.stop(c);
    var again = spawn(false);
    assertEquals("stopped", inspect(again).state());
    Thread.sleep(300); // a daemon-start restart would have been asked for by now
    assertEquals("stopped", inspect(again).state());
    assertFalse(
        runtime.calls.stream().filter(x -> x.startsWith("start ")).count() > 1,
        "not started again: " + runtime.calls);
  }

  @Test
  void stop_requested_before_a_daemon_restart_is_carried_through() {
    var c = created(false);
    int pid = started(c).pid();
    FakeTaskRuntime.FakeTask first = runtime.tasks.get(id);
    first.ignoreSignals = true; // the daemon dies before the process reacts
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Stop(15, Duration.ofSeconds(30), p.getRef()));
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            () -> {
              assertEquals(java.util.List.of(15), first.signals);
              return null;
            });
    kit.stop(c);
    FakeTaskRuntime.FakeTask live = runtime.new FakeTask();
    runtime.nextObservation =
        CompletableFuture.completedFuture(new Observed.Running(pid, 42, "/tmp/s.sock", live));
    var again = spawn(false);
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            () -> {
              assertEquals(java.util.List.of(15), live.signals);
              return null;
            });
    live.exit(143);
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            () -> {
              ContainerView v = inspect(again);
              assertEquals("stopped", v.state());
              assertEquals(143, v.exitCode());
              return null;
            });
  }

  @Test
  void an_unanswered_state_query_on_a_live_shim_is_not_a_death() {
    var c = created(false);
    int pid = started(c).pid();
    kit.stop(c);
    FakeTaskRuntime.FakeTask live = runtime.new FakeTask();
    runtime.observations.add(
        new Observed.Unresponsive("shim 42 does not answer: failpoint State=1*error"));
    runtime.nextObservation =
        CompletableFuture.completedFuture(new Observed.Running(pid, 42, "/tmp/s.sock", live));
    var again = spawn(false);
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            Duration.ofMillis(20),
            () -> {
              ContainerView v = inspect(again);
              assertEquals("running", v.state());
              assertEquals(pid, v.pid());
              return null;
            });
    assertFalse(
        runtime.calls.contains("deleteTask " + id),
        "a live container is never cleaned up: " + runtime.calls);
  }

  @Test
  void a_broken_wait_on_a_live_shim_rearms_the_wait() {
    var c = created(false);
    started(c);
    FakeTaskRuntime.FakeTask first = runtime.tasks.get(id);
    FakeTaskRuntime.FakeTask live = runtime.new FakeTask();
    runtime.nextObservation =
        CompletableFuture.completedFuture(new Observed.Running(first.pid, 42, "/tmp/s.sock", live));
    first.exit.completeExceptionally(new RuntimeException("UNAVAILABLE: connection reset"));
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            Duration.ofMillis(20),
            () -> {
              assertEquals("running", inspect(c).state());
              return null;
            });
    live.exit(4);
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            Duration.ofMillis(20),
            () -> {
              assertEquals(4, inspect(c).exitCode());
              return null;
            });
  }

  @Test
  void forced_delete_does_not_hang_when_a_kill_rpc_fails() {
    var c = created(false);
    started(c);
    runtime.tasks.get(id).failingKills.set(1);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Delete(true, p.getRef()));
    StatusReply<ContainerView> r = p.receiveMessage(Duration.ofSeconds(8));
    assertTrue(r.isSuccess(), () -> r.getError().getMessage());
    assertEquals(
        java.util.List.of(9, 9), runtime.tasks.get(id).signals, "the SIGKILL was sent again");
  }
}
