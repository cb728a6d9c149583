package dev.berth.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.BerthException;
import dev.berth.core.ContainerState;
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
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Time is manual ({@link ManualTime}): timers (stop timeouts, SIGKILL retries, restart backoffs,
 * pauses between looks at a shim) fire only when a test lets time pass, so "nothing happens" is
 * checked without sleeping and a timer that should not be needed makes a test fail.
 */
class ContainerActorTest {
  static final ActorTestKit kit =
      ActorTestKit.create(
          ManualTime.config()
              .withFallback(PersistenceTestKitPlugin.getInstance().config())
              .withFallback(PersistenceTestKitSnapshotPlugin.config())
              .withFallback(com.typesafe.config.ConfigFactory.load()));

  static final ManualTime time = ManualTime.get(kit.system());

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
    assertEquals(ContainerState.CREATED, ok(p).state());
    return c;
  }

  private ContainerView started(ActorRef<ContainerActor.Command> c) {
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Start(p.getRef()));
    return ok(p);
  }

  /**
   * Polls {@code check} until it passes, letting 100 ms of (manual) time pass before each try: for
   * what a timer brings about.
   */
  private void withTimePassing(Runnable check) {
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            Duration.ofMillis(20),
            () -> {
              time.timePasses(Duration.ofMillis(100));
              check.run();
              return null;
            });
  }

  /** Polls {@code check} until it passes, with no time passing: no timer may be needed. */
  private void withoutTimePassing(Runnable check) {
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            Duration.ofMillis(20),
            () -> {
              check.run();
              return null;
            });
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
    assertEquals(ContainerState.RUNNING, running.state());
    assertTrue(running.pid() > 0);
    runtime.tasks.get(id).exit(3);
    assertEquals(3, ok(waiter).exitCode());
    ContainerView stopped = inspect(c);
    assertEquals(ContainerState.STOPPED, stopped.state());
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
    // (real time: the failed write restarts the actor meanwhile, which schedules its backoff)
    first.expectNoMessage(Duration.ofMillis(300));
    TestProbe<StatusReply<ContainerView>> second = kit.createTestProbe();
    // Retried until the backoff restart is over (the first attempt after it must succeed).
    ContainerView removed = null;
    for (int i = 0; i < 50 && removed == null; i++) {
      time.timePasses(Duration.ofSeconds(1)); // the restart's backoff (200 ms)
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
    assertEquals(ContainerState.STOPPED, stopped.state());
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
    assertEquals(ContainerState.RUNNING, inspect(c).state());
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
    var task = runtime.tasks.get(id);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Stop(15, Duration.ofMillis(200), p.getRef()));
    withoutTimePassing(() -> assertEquals(List.of(15), task.signals));
    // Nothing more until the timeout is up: the process ignores SIGTERM (the fake exits on 9 only).
    time.expectNoMessageFor(Duration.ofMillis(199), p);
    assertEquals(List.of(15), task.signals);
    time.timePasses(Duration.ofMillis(1));
    ContainerView v = ok(p);
    assertEquals(ContainerState.STOPPED, v.state());
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
    assertEquals(ContainerState.CREATED, v.state());
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
    assertEquals(ContainerState.STOPPED, v.state());
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
    assertEquals(ContainerState.UNKNOWN, inspect(again).state());
    pending.complete(new Observed.Running(pid, 42, "/tmp/s.sock", runtime.new FakeTask()));
    withoutTimePassing(
        () -> {
          ContainerView v = inspect(again);
          assertEquals(ContainerState.RUNNING, v.state());
          assertEquals(pid, v.pid());
        });
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
    assertEquals(ContainerState.STOPPED, v.state());
    assertEquals(ContainerActor.EXIT_UNKNOWN, v.exitCode());
    assertTrue(v.error().contains("shim lost"));
  }

  private ActorRef<ContainerActor.Command> createdWith(RestartPolicy policy) {
    ActorRef<ContainerActor.Command> c = spawn(true);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Init(FakeTaskRuntime.spec(id, "web", false, policy), p.getRef()));
    assertEquals(ContainerState.CREATED, ok(p).state());
    return c;
  }

  /** Waits until the container runs its n-th policy restart; returns that run's task. */
  private FakeTaskRuntime.FakeTask awaitRestart(
      ActorRef<ContainerActor.Command> c, int restartCount) {
    withTimePassing(
        () -> {
          ContainerView v = inspect(c);
          assertEquals(ContainerState.RUNNING, v.state());
          assertEquals(restartCount, v.restartCount());
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
              assertEquals(ContainerState.STOPPED, v.state());
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
    // Longer than the first backoff (100 ms): the restart is due meanwhile, and the inspect below
    // is answered after it was asked for.
    time.timePasses(Duration.ofMillis(400));
    assertEquals(ContainerState.RESTARTING, inspect(c).state());
    assertEquals(
        1,
        runtime.calls.stream().filter(x -> x.equals("start " + id)).count(),
        "started again while the previous run's cleanup was going on: " + runtime.calls);
    cleanup.complete(null);
    awaitRestart(c, 1);
    List<String> calls = List.copyOf(runtime.calls);
    assertTrue(
        calls.lastIndexOf("start " + id) > calls.indexOf("deleteTask " + id), calls.toString());
  }

  @Test
  void on_failure_does_not_restart_a_clean_exit() {
    var c = createdWith(RestartPolicy.parse("on-failure"));
    started(c);
    runtime.tasks.get(id).exit(0);
    withoutTimePassing(() -> assertEquals(ContainerState.STOPPED, inspect(c).state()));
    time.timePasses(Duration.ofSeconds(1)); // longer than the first backoff
    ContainerView v = inspect(c);
    assertEquals(ContainerState.STOPPED, v.state());
    assertEquals(0, v.restartCount());
    assertEquals(1, runtime.calls.stream().filter(x -> x.equals("start " + id)).count());
  }

  @Test
  void always_restarts_any_exit_but_not_a_manual_stop() {
    var c = createdWith(RestartPolicy.parse("always"));
    started(c);
    runtime.tasks.get(id).exit(0);
    var second = awaitRestart(c, 1);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Stop(15, Duration.ofMillis(100), p.getRef()));
    withoutTimePassing(() -> assertEquals(List.of(15), second.signals));
    time.timePasses(Duration.ofMillis(100)); // SIGTERM is ignored: SIGKILL after the timeout
    assertEquals(ContainerState.STOPPED, ok(p).state());
    time.timePasses(Duration.ofSeconds(1)); // longer than any backoff so far
    assertEquals(ContainerState.STOPPED, inspect(c).state());
    assertEquals(2, runtime.calls.stream().filter(x -> x.equals("start " + id)).count());
  }

  @Test
  void unless_stopped_stays_stopped_across_a_daemon_restart() {
    var c = createdWith(RestartPolicy.parse("unless-stopped"));
    started(c);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Kill(9, p.getRef()));
    ok(p);
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            () -> {
              assertEquals(ContainerState.STOPPED, inspect(c).state());
              return null;
            });
    kit.stop(c);
    var again = spawn(false);
    assertEquals(ContainerState.STOPPED, inspect(again).state());
    // A daemon-start restart is asked for at recovery, before the inspect; its start would follow
    // at once (no backoff) or after one.
    time.timePasses(Duration.ofSeconds(1));
    assertEquals(ContainerState.STOPPED, inspect(again).state());
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
              assertEquals(ContainerState.STOPPED, v.state());
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
    withoutTimePassing(() -> assertEquals(1, observations()));
    assertEquals(ContainerState.UNKNOWN, inspect(again).state());
    // Asked again after a pause (100 ms), not at once.
    time.expectNoMessageFor(Duration.ofMillis(99), supervisor);
    assertEquals(1, observations());
    withTimePassing(
        () -> {
          ContainerView v = inspect(again);
          assertEquals(ContainerState.RUNNING, v.state());
          assertEquals(pid, v.pid());
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
              assertEquals(ContainerState.RUNNING, inspect(c).state());
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
    var task = runtime.tasks.get(id);
    task.failingKills.set(1);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Delete(true, p.getRef()));
    withoutTimePassing(() -> assertEquals(List.of(9), task.signals));
    time.expectNoMessageFor(Duration.ofMillis(1999), p);
    time.timePasses(Duration.ofMillis(1)); // the SIGKILL retry (2 s)
    StatusReply<ContainerView> r = p.receiveMessage(Duration.ofSeconds(5));
    assertTrue(r.isSuccess(), () -> r.getError().getMessage());
    assertEquals(
        java.util.List.of(9, 9), runtime.tasks.get(id).signals, "the SIGKILL was sent again");
  }

  private long observations() {
    return runtime.calls.stream().filter(x -> x.equals("observe " + id)).count();
  }

  /**
   * Defect: the pause before looking at a shim whose wait broke grew over the container's life
   * (reset only by a normal exit), so after a shim-lost run and a policy restart the next shim
   * death was looked at only after a pause (100 ms, growing to 5 s with each loss). Each run is
   * watched afresh: its first broken wait is looked at at once.
   */
  @Test
  void after_a_lost_shim_and_a_policy_restart_the_next_shim_death_is_seen_at_once() {
    var c = createdWith(RestartPolicy.parse("always"));
    started(c);
    // The shim dies: its wait breaks, and the look finds it gone (the fake's default: Lost).
    runtime.tasks.get(id).exit.completeExceptionally(new RuntimeException("UNAVAILABLE: reset"));
    withoutTimePassing(
        () -> {
          ContainerView v = inspect(c);
          assertEquals(ContainerActor.EXIT_UNKNOWN, v.exitCode());
          assertEquals(ContainerState.RESTARTING, v.state());
        });
    var second = awaitRestart(c, 1);
    long looks = observations();
    // The restarted run's shim dies too: recorded with no time passing (no pause before the look).
    second.exit.completeExceptionally(new RuntimeException("UNAVAILABLE: reset"));
    withoutTimePassing(
        () -> {
          assertEquals(looks + 1, observations());
          ContainerView v = inspect(c);
          assertEquals(ContainerState.RESTARTING, v.state());
          assertEquals(ContainerActor.EXIT_UNKNOWN, v.exitCode());
          assertTrue(v.error().contains("shim lost"), v.error());
        });
  }

  /** A shim whose wait keeps breaking while it lives is looked at with a growing pause. */
  @Test
  void a_wait_that_keeps_breaking_on_a_live_shim_is_looked_at_with_a_growing_pause() {
    var c = created(false);
    int pid = started(c).pid();
    FakeTaskRuntime.FakeTask first = runtime.tasks.get(id);
    FakeTaskRuntime.FakeTask live = runtime.new FakeTask();
    runtime.nextObservation =
        CompletableFuture.completedFuture(new Observed.Running(pid, 42, "/tmp/s.sock", live));
    first.exit.completeExceptionally(new RuntimeException("UNAVAILABLE: reset"));
    withoutTimePassing(() -> assertEquals(ContainerState.RUNNING, inspect(c).state()));
    assertEquals(1, observations());
    // The second break of the same run: looked at after 100 ms.
    FakeTaskRuntime.FakeTask again = runtime.new FakeTask();
    runtime.nextObservation =
        CompletableFuture.completedFuture(new Observed.Running(pid, 42, "/tmp/s.sock", again));
    live.exit.completeExceptionally(new RuntimeException("UNAVAILABLE: reset"));
    withoutTimePassing(() -> assertEquals(ContainerState.UNKNOWN, inspect(c).state()));
    time.expectNoMessageFor(Duration.ofMillis(99), supervisor);
    assertEquals(1, observations());
    withTimePassing(() -> assertEquals(ContainerState.RUNNING, inspect(c).state()));
    assertEquals(2, observations());
    again.exit(5);
    withoutTimePassing(() -> assertEquals(5, inspect(c).exitCode()));
  }

  /** A user's kill that the shim could not deliver is answered with the error, once. */
  @Test
  void a_kill_that_fails_is_reported_to_the_caller_once() {
    var c = created(false);
    started(c);
    var task = runtime.tasks.get(id);
    task.failingKills.set(1);
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Kill(15, p.getRef()));
    assertTrue(err(p).getMessage().contains("failpoint Kill"));
    time.expectNoMessageFor(Duration.ofSeconds(5), p);
    assertEquals(List.of(15), task.signals);
    assertEquals(ContainerState.RUNNING, inspect(c).state());
    c.tell(new ContainerActor.Kill(9, p.getRef()));
    ok(p);
    withoutTimePassing(() -> assertEquals(137, inspect(c).exitCode()));
    time.expectNoMessageFor(Duration.ofSeconds(5), p);
  }

  /**
   * Defect: a stop resumed after a daemon restart whose SIGTERM fails must not wait out the default
   * 10 s timeout: the SIGKILL comes at once (no timer at all).
   */
  @Test
  void a_resumed_stop_whose_signal_fails_kills_at_once() {
    var c = created(false);
    int pid = started(c).pid();
    FakeTaskRuntime.FakeTask first = runtime.tasks.get(id);
    first.ignoreSignals = true;
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    c.tell(new ContainerActor.Stop(15, Duration.ofSeconds(30), p.getRef()));
    withoutTimePassing(() -> assertEquals(List.of(15), first.signals));
    kit.stop(c);
    FakeTaskRuntime.FakeTask live = runtime.new FakeTask();
    live.failingKills.set(1);
    runtime.nextObservation =
        CompletableFuture.completedFuture(new Observed.Running(pid, 42, "/tmp/s.sock", live));
    var again = spawn(false);
    withoutTimePassing(
        () -> {
          assertEquals(List.of(15, 9), live.signals);
          ContainerView v = inspect(again);
          assertEquals(ContainerState.STOPPED, v.state());
          assertEquals(137, v.exitCode());
        });
  }

  /** A stop waits its whole timeout before SIGKILL; once it is up, SIGKILL follows. */
  @Test
  void a_resumed_stop_waits_the_default_timeout_before_sigkill() {
    var c = created(false);
    int pid = started(c).pid();
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    runtime.tasks.get(id).ignoreSignals = true;
    c.tell(new ContainerActor.Stop(15, Duration.ofSeconds(30), p.getRef()));
    withoutTimePassing(() -> assertEquals(List.of(15), runtime.tasks.get(id).signals));
    kit.stop(c);
    FakeTaskRuntime.FakeTask live = runtime.new FakeTask();
    runtime.nextObservation =
        CompletableFuture.completedFuture(new Observed.Running(pid, 42, "/tmp/s.sock", live));
    var again = spawn(false);
    withoutTimePassing(() -> assertEquals(List.of(15), live.signals));
    time.expectNoMessageFor(ContainerActor.DEFAULT_STOP_TIMEOUT.minusMillis(1), supervisor);
    assertEquals(List.of(15), live.signals);
    time.timePasses(Duration.ofMillis(1));
    withoutTimePassing(() -> assertEquals(137, inspect(again).exitCode()));
  }

  /** Execs go to the run's shim: a running container hands out its run's connection. */
  @Test
  void execs_are_served_by_the_runs_shim_and_only_while_running() throws Exception {
    var c = created(false);
    TestProbe<StatusReply<ContainerActor.ExecTarget>> p = kit.createTestProbe();
    c.tell(new ContainerActor.OpenExecs(p.getRef()));
    assertEquals(BerthException.Reason.INVALID_STATE, err(p).reason());
    started(c);
    c.tell(new ContainerActor.OpenExecs(p.getRef()));
    ContainerActor.ExecTarget target = ok(p);
    assertTrue(target.handle() != null);
    assertEquals(inspect(c).id(), target.containerId());
  }
}
