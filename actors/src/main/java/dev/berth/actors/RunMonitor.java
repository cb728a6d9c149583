package dev.berth.actors;

import dev.berth.core.BerthException;
import dev.berth.core.ContainerView;
import dev.berth.task.TaskExit;
import dev.berth.task.TaskHandle;
import dev.berth.task.TaskRuntime;
import dev.berth.task.TaskRuntime.Observed;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.pattern.StatusReply;

/**
 * One run of a container's process, watched: a child of the {@link ContainerActor}, spawned when
 * the run starts (or is found running after a daemon restart or journal damage) and gone when the
 * run has ended. It owns everything that lives only as long as the run — the connection to the shim
 * ({@link TaskHandle}), the WaitExit call held open on it, the pauses between looks at a shim whose
 * wait broke or that did not answer, and the signals of a stop or forced removal with their SIGKILL
 * follow-ups — and reports to its parent what the journal must record: the run is live ({@link
 * Live}), in doubt ({@link Uncertain}), or over ({@link Ended}: an exit, or the shim lost).
 *
 * <p>Two behaviours, one per state of the watch: {@link #watching} (a WaitExit is armed on the
 * shim) and {@link #looking} (the wait broke, or the daemon restarted: the shim process and its
 * exit file are looked at, immediately the first time, then after a growing pause). Signals are
 * handled alike in both.
 */
final class RunMonitor {

  static final int SIGKILL = dev.berth.core.Signals.SIGKILL;
  static final Duration KILL_RETRY = Duration.ofSeconds(2);

  /** Exit code recorded when a container's process was lost together with its shim. */
  static final int EXIT_UNKNOWN = 255;

  // ---------------------------------------------------------------- protocol (from the parent)

  sealed interface Command {}

  /** The user's kill: sent once, its outcome reported as {@link KillAnswered}. */
  record Kill(int signal, ActorRef<StatusReply<ContainerView>> replyTo) implements Command {}

  /** A stop: {@code signal}, then SIGKILL after {@code timeout} and every {@link #KILL_RETRY}. */
  record Stop(int signal, Duration timeout) implements Command {}

  /** A forced removal: SIGKILL now and every {@link #KILL_RETRY} until the run has ended. */
  record KillNow() implements Command {}

  /** The run's shim connection, for execs (see {@link ContainerActor.OpenExecs}). */
  record OpenExecs(ActorRef<StatusReply<ContainerActor.ExecTarget>> replyTo) implements Command {}

  private record WaitDone(TaskHandle handle, TaskExit exit, Throwable error) implements Command {}

  private record Looked(Observed observed, Throwable error) implements Command {}

  private record LookAgain() implements Command {}

  /** The stop's time is up, or its signal failed: SIGKILL. */
  private record Escalate() implements Command {}

  private record Signalled(int signal, Throwable error) implements Command {}

  // ---------------------------------------------------------------- reports (to the parent)

  /** What a run monitor tells its container actor; {@code run} says which monitor. */
  sealed interface Report {
    ActorRef<Command> run();
  }

  /**
   * The process runs under a shim that answers. {@code recovery}: the first answer after a daemon
   * restart (the parent announces it as "reconciled").
   */
  record Live(ActorRef<Command> run, int pid, boolean recovery) implements Report {}

  /** The wait on the shim broke: until the next Live or Ended, nobody knows. */
  record Uncertain(ActorRef<Command> run) implements Report {}

  /**
   * The run is over; the monitor stops. {@code lost}: null for an exit the shim reported (directly
   * or through its exit file), else why the shim and with it the exit status are gone ({@code
   * exitCode} is then {@link #EXIT_UNKNOWN}). {@code handle}: the shim connection, handed over for
   * the task's deletion (null if there is none).
   */
  record Ended(
      ActorRef<Command> run,
      int exitCode,
      Instant at,
      String lost,
      TaskHandle handle,
      boolean recovery)
      implements Report {}

  /** The user's kill was delivered ({@code error} null) or not. */
  record KillAnswered(
      ActorRef<Command> run, ActorRef<StatusReply<ContainerView>> replyTo, Throwable error)
      implements Report {}

  // ---------------------------------------------------------------- factory

  /** A run just started under {@code handle}: its exit is waited for. */
  static Behavior<Command> watch(
      String id, TaskRuntime runtime, ActorRef<Report> parent, TaskHandle handle) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> new RunMonitor(id, runtime, parent, ctx, timers, handle).watching()));
  }

  /**
   * A run the journal says is going on but nobody has heard from yet: the shim is asked first.
   * {@code recovery}: the daemon restarted (the first answer is reported as such).
   */
  static Behavior<Command> reconcile(
      String id, TaskRuntime runtime, ActorRef<Report> parent, boolean recovery) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  RunMonitor m = new RunMonitor(id, runtime, parent, ctx, timers, null);
                  m.recovery = recovery;
                  return m.looking(Duration.ZERO);
                }));
  }

  /** 0 for the first attempt, then 100 ms doubling up to 5 s. */
  static Duration lookPause(int attempt) {
    if (attempt <= 0) return Duration.ZERO;
    return Duration.ofMillis(Math.min(5_000, 100L << Math.min(attempt - 1, 6)));
  }

  // ---------------------------------------------------------------- the run's state

  private final String id;
  private final TaskRuntime runtime;
  private final ActorRef<Report> parent;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;

  /** The connection to the run's shim; null before the shim first answered after a restart. */
  private TaskHandle handle;

  /** Broken waits on this run's shim (for the pause before the next look). */
  private int brokenWaits;

  /** Looks in a row at a shim whose process lives but that did not answer. */
  private int unanswered;

  /** The next outcome is the first after a daemon restart. */
  private boolean recovery;

  private RunMonitor(
      String id,
      TaskRuntime runtime,
      ActorRef<Report> parent,
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      TaskHandle handle) {
    this.id = id;
    this.runtime = runtime;
    this.parent = parent;
    this.ctx = ctx;
    this.timers = timers;
    this.handle = handle;
  }

  // ---------------------------------------------------------------- watching: WaitExit armed

  /** Asks the shim for the exit; it completes whenever init exits, however long that takes. */
  private Behavior<Command> watching() {
    TaskHandle h = handle;
    ctx.pipeToSelf(h.waitExit(), (exit, err) -> new WaitDone(h, exit, err));
    return signals().onMessage(WaitDone.class, this::onWaitDone).build();
  }

  private Behavior<Command> onWaitDone(WaitDone w) {
    if (w.handle() != handle) return Behaviors.same(); // a connection already replaced
    if (w.error() == null) {
      return end(w.exit().exitCode(), w.exit().exitedAt(), null, handle);
    }
    // A broken wait is not a death certificate: look at the shim process and exit file first. The
    // first look is immediate (a dead shim is reported promptly); a wait that keeps breaking on a
    // live shim is looked at again with a growing pause instead of a busy loop.
    ctx.getLog().info("lost the wait on {}'s shim; checking whether it is still alive", id);
    parent.tell(new Uncertain(ctx.getSelf()));
    return looking(lookPause(brokenWaits++));
  }

  // ---------------------------------------------------------------- looking: asking the shim

  private Behavior<Command> looking(Duration pause) {
    if (pause.isZero()) look();
    else timers.startSingleTimer(LookAgain.class, new LookAgain(), pause);
    return signals()
        .onMessage(
            LookAgain.class,
            a -> {
              look();
              return Behaviors.same();
            })
        .onMessage(Looked.class, this::onLooked)
        .onMessage(WaitDone.class, w -> Behaviors.same())
        .build();
  }

  private void look() {
    ctx.pipeToSelf(runtime.observe(id), Looked::new);
  }

  private Behavior<Command> onLooked(Looked l) {
    Observed o =
        l.error() != null
            ? new Observed.Lost(BerthException.from(l.error()).getMessage())
            : l.observed();
    if (o instanceof Observed.Unresponsive u) {
      // The shim process lives: never declare the container dead on an RPC error
      // (containerd#13784). Stay in doubt and ask again.
      Duration pause = lookPause(++unanswered);
      ctx.getLog()
          .warn(
              "container {}: its shim is alive but did not answer ({}); asking again in {} ms",
              id,
              u.why(),
              pause.toMillis());
      return looking(pause);
    }
    unanswered = 0;
    if (o instanceof Observed.Running live) {
      replaceHandle(live.handle());
      ctx.getLog().info("container {} is running (pid {})", id, live.pid());
      parent.tell(new Live(ctx.getSelf(), live.pid(), recovery));
      recovery = false;
      return watching();
    }
    if (o instanceof Observed.Exited ex) {
      replaceHandle(ex.handleOrNull());
      return end(ex.exitCode(), ex.exitedAt(), null, handle);
    }
    String why = ((Observed.Lost) o).why();
    ctx.getLog()
        .warn("container {}: {}; recording it as stopped with exit code {}", id, why, EXIT_UNKNOWN);
    replaceHandle(null);
    return end(EXIT_UNKNOWN, Instant.now(), why, null);
  }

  private void replaceHandle(TaskHandle next) {
    if (handle != null && handle != next) handle.close();
    handle = next;
  }

  /** Reports the end and hands the shim connection over (the parent deletes the task). */
  private Behavior<Command> end(int code, Instant at, String lost, TaskHandle h) {
    parent.tell(new Ended(ctx.getSelf(), code, at, lost, h, recovery));
    handle = null;
    return Behaviors.stopped();
  }

  // ---------------------------------------------------------------- signals, in every state

  private BehaviorBuilder<Command> signals() {
    return Behaviors.receive(Command.class)
        .onMessage(Kill.class, this::onKill)
        .onMessage(Stop.class, this::onStop)
        .onMessage(KillNow.class, this::onKillNow)
        .onMessage(Escalate.class, e -> escalate())
        .onMessage(Signalled.class, this::onSignalled)
        .onMessage(OpenExecs.class, this::onOpenExecs)
        .onSignal(PostStop.class, this::onPostStop);
  }

  private Behavior<Command> onKill(Kill k) {
    if (handle == null) {
      k.replyTo()
          .tell(StatusReply.error(BerthException.unavailable("container " + id + ": no shim yet")));
      return Behaviors.same();
    }
    // Answered straight to the parent: the kill may end the run (and this monitor) before its
    // reply arrives, and the caller still gets it.
    ActorRef<Command> self = ctx.getSelf();
    handle
        .kill(k.signal(), false)
        .whenComplete((ok, err) -> parent.tell(new KillAnswered(self, k.replyTo(), err)));
    return Behaviors.same();
  }

  private Behavior<Command> onStop(Stop s) {
    timers.startSingleTimer(Escalate.class, new Escalate(), s.timeout());
    send(s.signal(), false);
    return Behaviors.same();
  }

  private Behavior<Command> onKillNow(KillNow k) {
    timers.startSingleTimer(Escalate.class, new Escalate(), KILL_RETRY);
    send(SIGKILL, true);
    return Behaviors.same();
  }

  /**
   * SIGKILL, and again every {@link #KILL_RETRY} until the run has ended: a kill RPC can fail (a
   * transient shim error), and a stop or forced removal must not hang on one lost signal.
   */
  private Behavior<Command> escalate() {
    ctx.getLog().info("container {} is still running; sending SIGKILL", id);
    timers.startSingleTimer(Escalate.class, new Escalate(), KILL_RETRY);
    send(SIGKILL, true);
    return Behaviors.same();
  }

  /** A signal on the container's own account (stop, removal, retries): its result is checked. */
  private void send(int signal, boolean all) {
    if (handle == null) {
      ctx.getSelf().tell(new Signalled(signal, BerthException.unavailable("no shim connection")));
      return;
    }
    ctx.pipeToSelf(handle.kill(signal, all), (ok, err) -> new Signalled(signal, err));
  }

  /**
   * A failed signal is logged, and a failed stop signal (not already SIGKILL) brings the SIGKILL
   * forward instead of waiting out the whole stop timeout for a signal that never arrived.
   */
  private Behavior<Command> onSignalled(Signalled s) {
    if (s.error() == null) return Behaviors.same();
    ctx.getLog()
        .warn(
            "container {}: signal {} failed: {}",
            id,
            s.signal(),
            BerthException.from(s.error()).getMessage());
    if (s.signal() != SIGKILL) {
      timers.cancel(Escalate.class);
      return escalate();
    }
    return Behaviors.same(); // the SIGKILL retry is scheduled already
  }

  private Behavior<Command> onOpenExecs(OpenExecs e) {
    if (handle == null) {
      e.replyTo()
          .tell(StatusReply.error(BerthException.unavailable("container " + id + ": no shim yet")));
    } else {
      e.replyTo().tell(StatusReply.success(new ContainerActor.ExecTarget(id, handle)));
    }
    return Behaviors.same();
  }

  /** Stopped before the run ended (the container actor restarted): the connection goes. */
  private Behavior<Command> onPostStop(PostStop s) {
    if (handle != null) handle.close();
    handle = null;
    return Behaviors.same();
  }
}
