package dev.berth.actors;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.berth.core.BerthException;
import dev.berth.core.ContainerSpec;
import dev.berth.core.ContainerState;
import dev.berth.core.ContainerView;
import dev.berth.core.ExitInfo;
import dev.berth.core.RestartPolicy;
import dev.berth.persistence.CborSerializable;
import dev.berth.task.LogHandle;
import dev.berth.task.TaskHandle;
import dev.berth.task.TaskRuntime;
import dev.berth.task.TaskRuntime.Observed;
import dev.berth.task.TaskRuntime.RunningTask;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerBuilder;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One container, event-sourced. The journal holds what the user asked for (created, start
 * requested, stop or removal requested) and what was last observed (started with pid, exited with
 * code); the shim and its exit file remain the truth about the process, so after a daemon restart a
 * running container is reconciled against its shim before it answers as anything but "unknown".
 *
 * <p>Each lifecycle state has its own command handlers and renders its own view; a request that is
 * invalid in the current state is answered with an error and changes nothing. Decisions are made
 * from the state and the command, and replies are sent once the events are journaled.
 *
 * <p>Each run of the process is watched by a child, {@link RunMonitor}: it holds the shim
 * connection, the WaitExit call, the backoff between looks at a shim whose wait broke, and the
 * signals of a stop or removal with their SIGKILL follow-ups, and reports the run's end. This actor
 * keeps the lifecycle, the journaled intents and the waiters.
 *
 * <p>The events a user can subscribe to (create, start, start-failed, exit, shim-lost, restart,
 * reconciled, delete) are tagged {@link #EVENTS_TAG}: the journal numbers them gap-free in the same
 * write that records them, so an event exists exactly when the state change it reports does.
 */
public final class ContainerActor
    extends EventSourcedBehavior<
        ContainerActor.Command, ContainerActor.Event, ContainerActor.State> {

  private static final Logger LOG = LoggerFactory.getLogger(ContainerActor.class);

  /** Exit code recorded when a container's process was lost together with its shim. */
  public static final int EXIT_UNKNOWN = RunMonitor.EXIT_UNKNOWN;

  static final int SIGTERM = dev.berth.core.Signals.SIGTERM;
  static final Duration DEFAULT_STOP_TIMEOUT = dev.berth.core.Defaults.STOP_TIMEOUT;

  /** The journal tag of the lifecycle events served by Subscribe. */
  public static final String EVENTS_TAG = "berth-events";

  // ---------------------------------------------------------------- protocol

  public sealed interface Command {}

  /** A command whose reply is a StatusReply, so any of them can be rejected uniformly. */
  public sealed interface Request extends Command {
    ActorRef<?> replyTo();
  }

  public record Init(ContainerSpec spec, ActorRef<StatusReply<ContainerView>> replyTo)
      implements Request {}

  public record Start(ActorRef<StatusReply<ContainerView>> replyTo) implements Request {}

  public record Kill(int signal, ActorRef<StatusReply<ContainerView>> replyTo) implements Request {}

  public record Stop(int signal, Duration timeout, ActorRef<StatusReply<ContainerView>> replyTo)
      implements Request {}

  public record Delete(boolean force, ActorRef<StatusReply<ContainerView>> replyTo)
      implements Request {}

  public record Inspect(ActorRef<StatusReply<ContainerView>> replyTo) implements Request {}

  public record WaitExit(ActorRef<StatusReply<ExitInfo>> replyTo) implements Request {}

  public record OpenLogs(ActorRef<StatusReply<LogHandle>> replyTo) implements Request {}

  /**
   * The running run's shim, for the execs facade ({@code dev.berth.engine.Execs}): execs live in
   * the shim, which keeps their records; a container that is not running has none.
   */
  public record OpenExecs(ActorRef<StatusReply<ExecTarget>> replyTo) implements Request {}

  /** A running container's id and its run's connection to its shim. */
  public record ExecTarget(String containerId, TaskHandle handle) {}

  /**
   * From the supervisor: a container found on disk that the journal does not know (the journal was
   * damaged or set aside). Its shim, if any, says what it is doing; the record is rebuilt from
   * that.
   */
  public record Adopt(ContainerSpec spec) implements Command {}

  /** For list queries: always answered. */
  public record GetView(ActorRef<ContainerView> replyTo) implements Command {}

  /** How many exit waiters this actor holds (tests: a cancelled wait leaves none behind). */
  record CountExitWaiters(ActorRef<StatusReply<Integer>> replyTo) implements Request {}

  /** An exit waiter stopped (watchWith): its caller gave up, the wait goes. */
  private record ExitWaiterGone(ActorRef<StatusReply<ExitInfo>> waiter) implements Command {}

  private record BundlePrepared(Init init, Throwable error) implements Command {}

  private record StartDone(RunningTask task, Throwable error) implements Command {}

  /** What the current run's monitor reports (live, in doubt, ended, a kill's outcome). */
  private record FromRun(RunMonitor.Report report) implements Command {}

  /** A run monitor stopped (watchWith): unexpected unless it reported the run's end first. */
  private record RunStopped(ActorRef<RunMonitor.Command> run) implements Command {}

  private record RemovalDone(ActorRef<StatusReply<ContainerView>> replyTo, Throwable error)
      implements Command {}

  private record StartupCleaned(Throwable error) implements Command {}

  /** {@code attempt}: looks in a row at a shim that did not answer. */
  private record AdoptObserved(ContainerSpec spec, Observed observed, Throwable error, int attempt)
      implements Command {}

  private record AdoptAgain(ContainerSpec spec, int attempt) implements Command {}

  /**
   * Recovery found no history: what the shim says, and the spec beside the bundle (null if none).
   */
  private record EmptyFound(Observed observed, ContainerSpec spec) implements Command {}

  /** A policy restart is due (after its backoff, or at daemon start). */
  private record RestartDue(boolean daemonStart) implements Command {}

  // ---------------------------------------------------------------- events

  @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
  @JsonSubTypes({
    @JsonSubTypes.Type(value = ContainerCreated.class, name = "created"),
    @JsonSubTypes.Type(value = StartRequested.class, name = "start-requested"),
    @JsonSubTypes.Type(value = ContainerStarted.class, name = "started"),
    @JsonSubTypes.Type(value = StartFailed.class, name = "start-failed"),
    @JsonSubTypes.Type(value = ContainerExited.class, name = "exited"),
    @JsonSubTypes.Type(value = StopRequested.class, name = "stop-requested"),
    @JsonSubTypes.Type(value = ShimLost.class, name = "shim-lost"),
    @JsonSubTypes.Type(value = RestartScheduled.class, name = "restart-scheduled"),
    @JsonSubTypes.Type(value = RestartCancelled.class, name = "restart-cancelled"),
    @JsonSubTypes.Type(value = Reconciled.class, name = "reconciled"),
    @JsonSubTypes.Type(value = RemoveRequested.class, name = "remove-requested"),
    @JsonSubTypes.Type(value = ContainerRemoved.class, name = "removed"),
    @JsonSubTypes.Type(value = ContainerAdopted.class, name = "adopted")
  })
  public sealed interface Event extends CborSerializable {}

  public record ContainerCreated(ContainerSpec spec) implements Event {}

  /** {@code restartCount}: 0 for a manual start, n for the n-th policy restart since then. */
  public record StartRequested(Instant at, int restartCount) implements Event {}

  /** {@code group}: the group shim it runs in (null: a shim of its own, and in older entries). */
  public record ContainerStarted(
      int pid, long shimPid, String shimAddress, Instant at, String group) implements Event {
    public ContainerStarted(int pid, long shimPid, String shimAddress, Instant at) {
      this(pid, shimPid, shimAddress, at, null);
    }
  }

  public record StartFailed(String error, Instant at) implements Event {}

  /** {@code manualStop}: the user stopped or killed it, so no restart policy applies. */
  public record ContainerExited(int exitCode, Instant at, String error, boolean manualStop)
      implements Event {}

  /** The user asked to stop or kill the running process (intent: survives a daemon restart). */
  public record StopRequested(Instant at) implements Event {}

  public record ShimLost(String why, Instant at) implements Event {}

  public record RestartScheduled(int attempt, long delayMillis, Instant at) implements Event {}

  public record RestartCancelled(Instant at) implements Event {}

  /**
   * After a daemon restart: the shim (or its absence) was consulted; {@code state} is the outcome,
   * a {@link ContainerState#label()} ("running", "stopped", "created"; a String in the journal).
   */
  public record Reconciled(String state, Instant at) implements Event {}

  /** Intent: a removal that the daemon dies in the middle of is finished after the restart. */
  public record RemoveRequested(Instant at) implements Event {}

  public record ContainerRemoved(Instant at) implements Event {}

  /**
   * A container rebuilt from its bundle and its shim after journal damage, in one event: {@code
   * state} is "running" (with {@code run}), "stopped" (with the exit) or "created" (nothing ran as
   * far as anything on disk says).
   */
  public record ContainerAdopted(
      ContainerSpec spec, String state, Run run, int exitCode, Instant finishedAt, Instant at)
      implements Event {}

  // ---------------------------------------------------------------- state

  @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
  @JsonSubTypes({
    @JsonSubTypes.Type(value = Empty.class, name = "empty"),
    @JsonSubTypes.Type(value = Created.class, name = "created"),
    @JsonSubTypes.Type(value = Starting.class, name = "starting"),
    @JsonSubTypes.Type(value = Running.class, name = "running"),
    @JsonSubTypes.Type(value = Stopped.class, name = "stopped"),
    @JsonSubTypes.Type(value = Removing.class, name = "removing"),
    @JsonSubTypes.Type(value = Removed.class, name = "removed")
  })
  public sealed interface State extends CborSerializable {
    /** How this state shows in list and inspect. */
    ContainerView view(Viewing v);
  }

  /**
   * What a view needs beyond the journaled state (not journaled): {@code reconciled} false while
   * the shim has not been heard from since a daemon restart or a broken wait; {@code adopting}: the
   * spec of a container being rebuilt from disk, shown as "unknown" until its record is made.
   */
  public record Viewing(String id, String bundle, boolean reconciled, ContainerSpec adopting) {
    /** The state as shown; "unknown" while not reconciled. */
    ContainerState live(ContainerState s) {
      return reconciled ? s : ContainerState.UNKNOWN;
    }

    /** What the spec says, the run (if any) and the bundle. */
    ContainerView.Builder base(
        ContainerSpec spec,
        ContainerState state,
        Run run,
        int exitCode,
        Instant finishedAt,
        String error,
        int restartCount) {
      boolean running =
          (state == ContainerState.RUNNING || state == ContainerState.UNKNOWN)
              && run != null
              && finishedAt == null;
      return ContainerView.builder(spec.id())
          .spec(spec)
          .state(state)
          .pid(running ? run.pid() : 0)
          .shim(
              run != null ? run.shimAddress() : "",
              run != null ? (int) run.shimPid() : 0,
              run != null ? run.startedAt() : null)
          .shimGroup(run != null ? run.group() : null)
          .exit(exitCode, finishedAt)
          .bundle(bundle)
          .error(error)
          .restartCount(restartCount);
    }

    /** A container with no record (yet, or any more). */
    ContainerView none(ContainerState state) {
      return ContainerView.builder(id).state(state).exit(-1, null).restartPolicy("no").build();
    }
  }

  /**
   * One run of the container process under a shim; {@code group}: the group shim (null: a shim of
   * its own, and in older snapshots).
   */
  public record Run(
      int pid, long shimPid, String shimAddress, Instant startedAt, int restartCount, String group)
      implements CborSerializable {
    public Run(int pid, long shimPid, String shimAddress, Instant startedAt, int restartCount) {
      this(pid, shimPid, shimAddress, startedAt, restartCount, null);
    }
  }

  public record Empty(String nothing) implements State {
    @Override
    public ContainerView view(Viewing v) {
      if (v.adopting() != null)
        return v.base(v.adopting(), ContainerState.UNKNOWN, null, 0, null, null, 0).build();
      return v.none(ContainerState.UNKNOWN);
    }
  }

  public record Created(ContainerSpec spec, String error) implements State {
    @Override
    public ContainerView view(Viewing v) {
      return v.base(spec, ContainerState.CREATED, null, 0, null, error, 0).build();
    }
  }

  /** Start requested, not yet confirmed; {@code previous} is where a failed start returns to. */
  public record Starting(ContainerSpec spec, State previous, Instant at, int restartCount)
      implements State {
    @Override
    public ContainerView view(Viewing v) {
      Stopped prev = previous instanceof Stopped p ? p : null;
      // A policy restart shows as docker's "restarting"; a manual start keeps the state it left
      // until it runs.
      ContainerState shown =
          restartCount > 0
              ? ContainerState.RESTARTING
              : prev != null ? ContainerState.STOPPED : ContainerState.CREATED;
      return v.base(
              spec,
              v.live(shown),
              prev != null ? prev.run() : null,
              prev != null ? prev.exitCode() : 0,
              prev != null ? prev.finishedAt() : null,
              null,
              restartCount)
          .build();
    }
  }

  /**
   * {@code stopRequested}/{@code removing}: the user asked for a stop or a forced removal that is
   * not done yet.
   */
  public record Running(ContainerSpec spec, Run run, boolean stopRequested, boolean removing)
      implements State {
    @Override
    public ContainerView view(Viewing v) {
      return v.base(spec, v.live(ContainerState.RUNNING), run, 0, null, null, run.restartCount())
          .build();
    }
  }

  /** {@code restartScheduled}: the restart policy will start it again after a backoff. */
  public record Stopped(
      ContainerSpec spec,
      Run run,
      int exitCode,
      Instant finishedAt,
      String error,
      boolean manualStop,
      boolean restartScheduled)
      implements State {
    Stopped with(String newError) {
      return new Stopped(spec, run, exitCode, finishedAt, newError, manualStop, false);
    }

    @Override
    public ContainerView view(Viewing v) {
      // docker shows a container waiting for its policy restart as "restarting".
      return v.base(
              spec,
              restartScheduled ? ContainerState.RESTARTING : ContainerState.STOPPED,
              run,
              exitCode,
              finishedAt,
              error,
              run == null ? 0 : run.restartCount())
          .build();
    }
  }

  /**
   * Removal requested and under way; {@code before} is the Created or Stopped state it came from.
   */
  public record Removing(ContainerSpec spec, State before) implements State {
    @Override
    public ContainerView view(Viewing v) {
      ContainerView was = before.view(v);
      return v.base(
              spec,
              ContainerState.REMOVING,
              null,
              was.exitCode(),
              was.finishedAt(),
              was.error(),
              was.restartCount())
          .build();
    }
  }

  public record Removed(Instant at) implements State {
    @Override
    public ContainerView view(Viewing v) {
      return v.none(ContainerState.REMOVED);
    }
  }

  // ---------------------------------------------------------------- factory

  public static Behavior<Command> create(
      String id,
      boolean fresh,
      TaskRuntime runtime,
      ActorRef<ContainerSupervisor.Command> supervisor) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> new ContainerActor(id, fresh, runtime, supervisor, ctx, timers)));
  }

  public static String persistenceIdFor(String id) {
    return "container|" + id;
  }

  // ---------------------------------------------------------------- transient (not journaled)

  private final String id;
  private final boolean fresh;
  private final TaskRuntime runtime;
  private final ActorRef<ContainerSupervisor.Command> supervisor;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;

  /**
   * False from a daemon restart (or a broken wait) until the shim has been asked what really
   * happened.
   */
  private boolean reconciled = true;

  /** An async step (bundle, shim start, removal) is in flight: mutating commands wait. */
  private boolean busy;

  /** The current run's monitor (a child); null when no process runs. */
  private ActorRef<RunMonitor.Command> monitor;

  private final List<ActorRef<StatusReply<ContainerView>>> startWaiters = new ArrayList<>();
  private final List<ActorRef<StatusReply<ContainerView>>> stopWaiters = new ArrayList<>();
  private final java.util.Set<ActorRef<StatusReply<ExitInfo>>> exitWaiters =
      new java.util.LinkedHashSet<>();
  private CompletableFuture<Done> exitSignal = new CompletableFuture<>();

  /**
   * The previous run's task cleanup (shim Delete, then runc delete, unmount, state dir and socket
   * removed from outside); the next start and a removal wait for it.
   */
  private CompletionStage<Void> taskCleanup = CompletableFuture.completedFuture(null);

  /**
   * The spec of a container being rebuilt from disk, shown (as "unknown") until its record is made.
   */
  private ContainerSpec adopting;

  /** A forced delete of a running container, continued once its exit has been recorded. */
  private ActorRef<StatusReply<ContainerView>> pendingDelete;

  private ContainerActor(
      String id,
      boolean fresh,
      TaskRuntime runtime,
      ActorRef<ContainerSupervisor.Command> supervisor,
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers) {
    super(
        PersistenceId.ofUniqueId(persistenceIdFor(id)),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.id = id;
    this.fresh = fresh;
    this.runtime = runtime;
    this.supervisor = supervisor;
    this.ctx = ctx;
    this.timers = timers;
  }

  @Override
  public State emptyState() {
    return new Empty(null);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(50, 2);
  }

  /**
   * Intents (start/stop/remove requested, restart cancelled) are internal; the rest is public
   * history.
   */
  @Override
  public Set<String> tagsFor(Event event) {
    boolean intent =
        event instanceof StartRequested
            || event instanceof StopRequested
            || event instanceof RestartCancelled
            || event instanceof RemoveRequested;
    return intent ? Set.of() : Set.of(EVENTS_TAG);
  }

  // ---------------------------------------------------------------- commands, per state

  @Override
  public CommandHandler<Command, Event, State> commandHandler() {
    CommandHandlerBuilder<Command, Event, State> b = newCommandHandlerBuilder();

    // Queries work in every state and never wait; so do the reports of the run's monitor.
    b.forAnyState()
        .onCommand(
            GetView.class,
            (s, c) -> {
              c.replyTo().tell(view(s));
              return Effect().none();
            })
        .onCommand(Inspect.class, (s, c) -> replyView(s, c.replyTo()))
        .onCommand(
            CountExitWaiters.class,
            (s, c) -> {
              c.replyTo().tell(StatusReply.success(exitWaiters.size()));
              return Effect().none();
            })
        .onCommand(
            ExitWaiterGone.class,
            (s, c) -> {
              exitWaiters.remove(c.waiter());
              return Effect().none();
            })
        .onCommand(FromRun.class, this::onRunReport)
        .onCommand(RunStopped.class, this::onRunStopped);

    b.forStateType(Empty.class)
        .onCommand(Init.class, this::onInit)
        .onCommand(Adopt.class, (s, c) -> adopt(c.spec(), 0))
        .onCommand(AdoptAgain.class, (s, c) -> adopt(c.spec(), c.attempt()))
        .onCommand(AdoptObserved.class, this::onAdoptObserved)
        .onCommand(EmptyFound.class, this::onEmptyFound)
        .onCommand(BundlePrepared.class, this::onBundlePrepared)
        .onAnyCommand(this::whileEmpty);

    // Until reconciled or while busy, everything that is not a query waits.
    b.forState(s -> !reconciled || busy)
        .onCommand(WaitExit.class, this::registerExitWaiter)
        .onCommand(OpenLogs.class, (s, c) -> openLogs(c, exitSignal))
        .onCommand(StartDone.class, this::onStartDone)
        .onCommand(RemovalDone.class, this::onRemovalDone)
        .onCommand(StartupCleaned.class, this::onStartupCleaned)
        .onAnyCommand((s, c) -> Effect().stash());

    b.forStateType(Created.class)
        .onCommand(Start.class, (s, c) -> requestStart(s.spec(), s, c.replyTo(), 0))
        .onCommand(Kill.class, (s, c) -> reject(c, notRunning(s.spec())))
        .onCommand(Stop.class, (s, c) -> replyView(s, c.replyTo()))
        .onCommand(Delete.class, (s, c) -> beginRemoval(s, c.replyTo()))
        .onCommand(WaitExit.class, this::registerExitWaiter)
        .onCommand(OpenLogs.class, (s, c) -> openLogs(c, exitSignal))
        .onCommand(OpenExecs.class, (s, c) -> reject(c, notRunning(s.spec())));

    b.forStateType(Running.class)
        .onCommand(
            Start.class,
            (s, c) ->
                reject(
                    c,
                    BerthException.precondition(
                        "container " + s.spec().name() + " is already running")))
        .onCommand(Kill.class, this::onKill)
        .onCommand(Stop.class, this::onStop)
        .onCommand(Delete.class, this::onDeleteRunning)
        .onCommand(WaitExit.class, this::registerExitWaiter)
        .onCommand(OpenLogs.class, (s, c) -> openLogs(c, exitSignal))
        .onCommand(OpenExecs.class, this::onOpenExecs);

    b.forStateType(Stopped.class)
        .onCommand(
            Start.class,
            (s, c) -> {
              timers.cancel("restart"); // a manual start replaces a pending policy restart
              return requestStart(s.spec(), s, c.replyTo(), 0);
            })
        .onCommand(RestartDue.class, this::onRestartDue)
        .onCommand(Kill.class, (s, c) -> reject(c, notRunning(s.spec())))
        .onCommand(Stop.class, this::onStopStopped)
        .onCommand(
            Delete.class,
            (s, c) -> {
              timers.cancel("restart");
              return beginRemoval(s, c.replyTo());
            })
        .onCommand(
            WaitExit.class,
            (s, c) -> {
              c.replyTo().tell(StatusReply.success(new ExitInfo(id, s.exitCode(), s.finishedAt())));
              return Effect().none();
            })
        .onCommand(
            OpenLogs.class,
            (s, c) -> openLogs(c, CompletableFuture.completedFuture(Done.getInstance())))
        .onCommand(OpenExecs.class, (s, c) -> reject(c, notRunning(s.spec())));

    b.forStateType(Removing.class)
        .onCommand(Delete.class, (s, c) -> beginRemoval(s, c.replyTo()))
        .onCommand(WaitExit.class, this::registerExitWaiter)
        .onCommand(
            OpenLogs.class,
            (s, c) -> openLogs(c, CompletableFuture.completedFuture(Done.getInstance())))
        .onCommand(
            Request.class,
            (s, c) ->
                reject(
                    c,
                    BerthException.precondition(
                        "removal of container " + s.spec().name() + " is in progress")));

    // Late messages about a run that is over, or a removal that raced: nothing to do.
    b.forAnyState()
        .onCommand(Request.class, (s, c) -> reject(c, BerthException.containerNotFound(id)))
        .onAnyCommand((s, c) -> Effect().none());
    return b.build();
  }

  private Effect<Event, State> onInit(Empty s, Init c) {
    busy = true;
    ctx.pipeToSelf(runtime.prepareBundle(c.spec()), (ok, err) -> new BundlePrepared(c, err));
    return Effect().none();
  }

  private Effect<Event, State> onBundlePrepared(Empty s, BundlePrepared p) {
    busy = false;
    if (p.error() != null) {
      p.init().replyTo().tell(StatusReply.error(BerthException.from(p.error())));
      return Effect().stop();
    }
    return Effect()
        .persist(new ContainerCreated(p.init().spec()))
        .thenRun(st -> p.init().replyTo().tell(StatusReply.success(view(st))))
        .thenUnstashAll();
  }

  // ---------------------------------------------------------------- rebuilt from disk

  private Effect<Event, State> adopt(ContainerSpec spec, int attempt) {
    busy = true;
    adopting = spec;
    ctx.pipeToSelf(runtime.observe(id), (o, err) -> new AdoptObserved(spec, o, err, attempt));
    return Effect().none();
  }

  private Effect<Event, State> onAdoptObserved(Empty s, AdoptObserved a) {
    Observed o =
        a.error() != null
            ? new Observed.Lost(BerthException.from(a.error()).getMessage())
            : a.observed();
    if (o instanceof Observed.Unresponsive u) {
      // Never guess about a live shim: ask again, as a running container's reconcile does.
      ctx.getLog()
          .warn(
              "container {} (rebuilt from disk): its shim does not answer ({}); asking again",
              id,
              u.why());
      int next = a.attempt() + 1;
      timers.startSingleTimer("adopt", new AdoptAgain(a.spec(), next), RunMonitor.lookPause(next));
      return Effect().none();
    }
    Instant now = Instant.now();
    ContainerAdopted event;
    if (o instanceof Observed.Running live) {
      Instant started = runtime.startedAt(id).orElse(now);
      event =
          new ContainerAdopted(
              a.spec(),
              ContainerState.RUNNING.label(),
              new Run(live.pid(), live.shimPid(), live.shimAddress(), started, 0, live.group()),
              0,
              null,
              now);
    } else if (o instanceof Observed.Exited ex) {
      Instant started = runtime.startedAt(id).orElse(ex.exitedAt());
      event =
          new ContainerAdopted(
              a.spec(),
              ContainerState.STOPPED.label(),
              new Run(0, 0, "", started, 0),
              ex.exitCode(),
              ex.exitedAt(),
              now);
    } else {
      event = new ContainerAdopted(a.spec(), ContainerState.CREATED.label(), null, 0, null, now);
    }
    ctx.getLog()
        .warn(
            "container {} ({}) was not in the journal: rebuilt from its bundle as {}",
            id,
            a.spec().name(),
            event.state());
    // A live shim is watched from now on (a failed write restarts this actor, which stops it).
    if (o instanceof Observed.Running live)
      watchRun(RunMonitor.watch(id, runtime, reports(), live.handle()));
    return Effect()
        .persist(event)
        .thenRun(
            st -> {
              busy = false;
              if (!(o instanceof Observed.Running)) {
                TaskHandle handle = o instanceof Observed.Exited ex ? ex.handleOrNull() : null;
                // Whatever task is left (an exited one, a stale runc state or mount) goes, as after
                // an exit.
                deleteTask(handle);
              }
            })
        .thenUnstashAll();
  }

  private Effect<Event, State> onEmptyFound(Empty s, EmptyFound f) {
    if (f.spec() != null
        && (f.observed() instanceof Observed.Running || f.observed() instanceof Observed.Exited)) {
      ctx.getLog()
          .warn(
              "container {}: the journal lost its history, but its shim remains; rebuilding it",
              id);
      return onAdoptObserved(s, new AdoptObserved(f.spec(), f.observed(), null, 0));
    }
    if (f.observed() instanceof Observed.Running live) live.handle().close();
    if (f.observed() instanceof Observed.Exited ex && ex.handleOrNull() != null)
      ex.handleOrNull().close();
    runtime
        .removeBundle(id)
        .whenComplete(
            (ok, err) -> {
              if (err != null)
                LOG.warn(
                    "container {}: removing what an unfinished create left failed: {}",
                    id,
                    BerthException.from(err).getMessage());
              supervisor.tell(new ContainerSupervisor.ChildRemoved(id, null));
            });
    return Effect().none();
  }

  private Effect<Event, State> whileEmpty(Empty s, Command c) {
    if (busy) return Effect().stash();
    if (c instanceof Request r) return reject(r, BerthException.containerNotFound(id));
    return Effect().none();
  }

  // ---------------------------------------------------------------- runs

  /** {@code replyTo} is null for a policy restart, which nobody waits for. */
  private Effect<Event, State> requestStart(
      ContainerSpec spec,
      State from,
      ActorRef<StatusReply<ContainerView>> replyTo,
      int restartCount) {
    busy = true;
    if (replyTo != null) startWaiters.add(replyTo);
    // Followers that attached before this start (docker run attaches first) keep their signal.
    if (exitSignal.isDone()) exitSignal = new CompletableFuture<>();
    // The previous run's cleanup works on the same shim dir, runc container and rootfs mount as
    // the new run: a start that overlapped it (a policy restart's backoff is only 100 ms) had its
    // files deleted under it or its new shim killed and its rootfs unmounted. A failed cleanup is
    // finished by the start itself (it force-cleans whatever is left first).
    return Effect()
        .persist(new StartRequested(Instant.now(), restartCount))
        .thenRun(
            st ->
                ctx.pipeToSelf(
                    taskCleanup.exceptionally(e -> null).thenCompose(v -> runtime.start(spec)),
                    (task, err) -> new StartDone(task, err)));
  }

  private Effect<Event, State> onStartDone(State s, StartDone d) {
    busy = false;
    if (!(s instanceof Starting starting)) {
      if (d.task() != null) d.task().handle().close();
      return Effect().unstashAll();
    }
    if (d.error() != null) {
      BerthException e = BerthException.from(d.error());
      return Effect()
          .persist(new StartFailed(e.getMessage(), Instant.now()))
          .thenRun(
              st -> {
                startWaiters.forEach(w -> w.tell(StatusReply.error(e)));
                startWaiters.clear();
                exitSignal.complete(Done.getInstance());
                if (starting.spec().autoRemove())
                  ctx.getSelf().tell(new Delete(true, ctx.getSystem().ignoreRef()));
              })
          .thenUnstashAll();
    }
    RunningTask t = d.task();
    // The run is watched from its start (a failed write restarts this actor, which stops it).
    watchRun(RunMonitor.watch(id, runtime, reports(), t.handle()));
    return Effect()
        .persist(
            new ContainerStarted(t.pid(), t.shimPid(), t.shimAddress(), t.startedAt(), t.group()))
        .thenRun(
            st -> {
              startWaiters.forEach(w -> w.tell(StatusReply.success(view(st))));
              startWaiters.clear();
            })
        .thenUnstashAll();
  }

  /** Spawns the monitor of a run (the current one from now on), watched. */
  private void watchRun(Behavior<RunMonitor.Command> behavior) {
    if (monitor != null) ctx.stop(monitor);
    monitor = ctx.spawnAnonymous(behavior);
    ctx.watchWith(monitor, new RunStopped(monitor));
  }

  private ActorRef<RunMonitor.Report> reports() {
    return ctx.messageAdapter(RunMonitor.Report.class, FromRun::new);
  }

  private Effect<Event, State> onRunReport(State s, FromRun f) {
    RunMonitor.Report r = f.report();
    if (r instanceof RunMonitor.KillAnswered k) {
      // The user's kill, answered whatever it caused meanwhile (the exit is usually recorded
      // first).
      if (k.error() != null) {
        BerthException e = BerthException.from(k.error());
        ctx.getLog().warn("container {}: kill failed: {}", id, e.getMessage());
        k.replyTo().tell(StatusReply.error(e));
      } else k.replyTo().tell(StatusReply.success(view(s)));
      return Effect().none();
    }
    if (!r.run().equals(monitor)) { // (refs are compared by path and uid, not identity)
      // A monitor replaced meanwhile: what it hands over is not needed.
      if (r instanceof RunMonitor.Ended e && e.handle() != null) e.handle().close();
      return Effect().none();
    }
    if (r instanceof RunMonitor.Uncertain) {
      reconciled = false; // "unknown", and changes wait, until the monitor has looked
      return Effect().none();
    }
    if (r instanceof RunMonitor.Live l) return onLive(s, l);
    return onEnded(s, (RunMonitor.Ended) r);
  }

  private Effect<Event, State> onLive(State s, RunMonitor.Live l) {
    if (!(s instanceof Running running)) {
      reconciled = true;
      return Effect().unstashAll();
    }
    // Only a daemon restart is announced as "reconciled"; a re-check after a broken wait is
    // routine.
    List<Event> after =
        l.recovery()
            ? List.of(new Reconciled(ContainerState.RUNNING.label(), Instant.now()))
            : List.of();
    return Effect()
        .persist(after)
        .thenRun(
            st -> {
              reconciled = true;
              if (l.recovery()) continueIntent(running);
            })
        .thenUnstashAll();
  }

  private Effect<Event, State> onEnded(State s, RunMonitor.Ended e) {
    ctx.unwatch(e.run());
    monitor = null;
    reconciled = true;
    if (!(s instanceof Running running)) {
      deleteTask(e.handle());
      return Effect().unstashAll();
    }
    List<Event> after =
        e.recovery()
            ? List.of(new Reconciled(ContainerState.STOPPED.label(), Instant.now()))
            : List.of();
    if (e.lost() != null) {
      return recordExit(
          running,
          EXIT_UNKNOWN,
          e.at(),
          "shim lost: " + e.lost(),
          List.of(new ShimLost(e.lost(), e.at())),
          after,
          null);
    }
    return recordExit(running, e.exitCode(), e.at(), null, List.of(), after, e.handle());
  }

  /** A monitor that stops without reporting its run's end failed: the run is looked at anew. */
  private Effect<Event, State> onRunStopped(State s, RunStopped r) {
    if (!r.run().equals(monitor)) return Effect().none();
    monitor = null;
    if (!(s instanceof Running)) return Effect().none();
    ctx.getLog().error("container {}: its run monitor stopped unexpectedly; asking the shim", id);
    reconciled = false;
    watchRun(RunMonitor.reconcile(id, runtime, reports(), false));
    return Effect().none();
  }

  /** After a daemon restart, a stop or forced removal the user asked for is carried through. */
  private void continueIntent(Running running) {
    if (monitor == null) return;
    if (running.removing()) {
      ctx.getLog().info("container {}: finishing the removal requested before the restart", id);
      if (pendingDelete == null) pendingDelete = ctx.getSystem().ignoreRef();
      monitor.tell(new RunMonitor.KillNow());
    } else if (running.stopRequested()) {
      // The stop's timeout died with the daemon: ask again with the default one.
      ctx.getLog().info("container {}: finishing the stop requested before the restart", id);
      monitor.tell(new RunMonitor.Stop(SIGTERM, DEFAULT_STOP_TIMEOUT));
    }
  }

  /**
   * Journals the exit (with what must precede and follow it, in one atomic write) and, when the
   * restart policy asks for it, the scheduled restart. {@code handle}: the exited run's shim
   * connection (its task is deleted), or null.
   */
  private Effect<Event, State> recordExit(
      Running running,
      int code,
      Instant at,
      String error,
      List<Event> before,
      List<Event> after,
      TaskHandle handle) {
    List<Event> events = new ArrayList<>(before);
    events.add(new ContainerExited(code, at, error, running.stopRequested()));
    events.addAll(after);
    Run run = running.run();
    boolean restart =
        !running.removing()
            && pendingDelete == null
            && !running.spec().autoRemove()
            && running
                .spec()
                .restartPolicy()
                .restartsAfter(code, running.stopRequested(), run.restartCount());
    Duration delay =
        RestartPolicy.backoff(run.restartCount(), Duration.between(run.startedAt(), at));
    if (restart)
      events.add(new RestartScheduled(run.restartCount() + 1, delay.toMillis(), Instant.now()));
    return Effect()
        .persist(events)
        .thenRun(
            st -> {
              if (restart) timers.startSingleTimer("restart", new RestartDue(false), delay);
              ExitInfo exit = new ExitInfo(id, code, at);
              answerExitWaiters(StatusReply.success(exit));
              stopWaiters.forEach(w -> w.tell(StatusReply.success(view(st))));
              stopWaiters.clear();
              exitSignal.complete(Done.getInstance());
              // Like docker, an exited task does not keep its shim: delete it now, keep the bundle.
              deleteTask(handle);
              ActorRef<StatusReply<ContainerView>> del = pendingDelete;
              pendingDelete = null;
              if (del != null) ctx.getSelf().tell(new Delete(true, del));
              else if (running.spec().autoRemove())
                ctx.getSelf().tell(new Delete(true, ctx.getSystem().ignoreRef()));
            })
        .thenUnstashAll();
  }

  /**
   * Deletes the exited task (the next start and a removal wait for it); a failure is logged, and
   * the next start or removal cleans up from outside.
   */
  private void deleteTask(TaskHandle handle) {
    CompletionStage<Void> cleanup = runtime.deleteTask(id, handle);
    taskCleanup = cleanup;
    cleanup.whenComplete(
        (ok, err) -> {
          if (err != null)
            LOG.warn(
                "container {}: deleting its exited task failed (the next start or removal cleans"
                    + " up): {}",
                id,
                BerthException.from(err).getMessage());
        });
  }

  /**
   * docker: a kill, like a stop, is a manual stop — the restart policy leaves the container down.
   */
  private Effect<Event, State> onKill(Running s, Kill k) {
    return persistStopIntent(s)
        .thenRun(
            st -> {
              if (monitor != null) monitor.tell(new RunMonitor.Kill(k.signal(), k.replyTo()));
              else k.replyTo().tell(StatusReply.success(view(st))); // the exit came first
            });
  }

  private EffectBuilder<Event, State> persistStopIntent(Running s) {
    return s.stopRequested() ? Effect().none() : Effect().persist(new StopRequested(Instant.now()));
  }

  private Effect<Event, State> onStop(Running s, Stop c) {
    stopWaiters.add(c.replyTo());
    return persistStopIntent(s)
        .thenRun(
            st -> {
              // No monitor: the exit was recorded meanwhile, and the waiter has its answer.
              if (monitor != null) monitor.tell(new RunMonitor.Stop(c.signal(), c.timeout()));
            });
  }

  private Effect<Event, State> onDeleteRunning(Running s, Delete d) {
    if (!d.force()) {
      return reject(
          d,
          BerthException.precondition(
              "cannot remove running container "
                  + s.spec().name()
                  + ": stop it first or force the removal"));
    }
    pendingDelete = d.replyTo();
    EffectBuilder<Event, State> intent =
        s.removing() ? Effect().none() : Effect().persist(new RemoveRequested(Instant.now()));
    return intent.thenRun(
        st -> {
          if (monitor != null) monitor.tell(new RunMonitor.KillNow());
        });
  }

  private Effect<Event, State> onOpenExecs(Running s, OpenExecs e) {
    if (monitor == null) return reject(e, notRunning(s.spec()));
    monitor.tell(new RunMonitor.OpenExecs(e.replyTo()));
    return Effect().none();
  }

  /**
   * Stopping a container that waits for a policy restart cancels the restart (docker stop on
   * "restarting").
   */
  private Effect<Event, State> onStopStopped(Stopped s, Stop c) {
    if (!s.restartScheduled()) return replyView(s, c.replyTo());
    timers.cancel("restart");
    return Effect()
        .persist(new RestartCancelled(Instant.now()))
        .thenRun(st -> c.replyTo().tell(StatusReply.success(view(st))));
  }

  private Effect<Event, State> onRestartDue(Stopped s, RestartDue due) {
    if (!due.daemonStart() && !s.restartScheduled()) return Effect().none();
    int count = (s.run() == null ? 0 : s.run().restartCount()) + 1;
    ctx.getLog()
        .info(
            "container {}: restarting ({} policy, restart {})",
            id,
            s.spec().restartPolicy(),
            count);
    return requestStart(s.spec(), s, null, count);
  }

  private Effect<Event, State> registerExitWaiter(State s, WaitExit w) {
    if (s instanceof Stopped st && reconciled) {
      w.replyTo().tell(StatusReply.success(new ExitInfo(id, st.exitCode(), st.finishedAt())));
    } else if (exitWaiters.add(w.replyTo())) {
      // Watched: a waiter whose caller gives up stops, and the wait goes with it (no timer).
      ctx.watchWith(w.replyTo(), new ExitWaiterGone(w.replyTo()));
    }
    return Effect().none();
  }

  private void answerExitWaiters(StatusReply<ExitInfo> answer) {
    for (ActorRef<StatusReply<ExitInfo>> w : exitWaiters) {
      ctx.unwatch(w);
      w.tell(answer);
    }
    exitWaiters.clear();
  }

  private Effect<Event, State> openLogs(OpenLogs c, CompletionStage<Done> until) {
    c.replyTo().tell(StatusReply.success(new LogHandle(runtime.paths().log(id), until)));
    return Effect().none();
  }

  // ---------------------------------------------------------------- removal

  /**
   * The intent is journaled first, so a daemon that dies mid-removal finishes it after its restart.
   */
  private Effect<Event, State> beginRemoval(State s, ActorRef<StatusReply<ContainerView>> replyTo) {
    busy = true;
    if (s instanceof Removing) {
      removeEverything(replyTo);
      return Effect().none();
    }
    return Effect()
        .persist(new RemoveRequested(Instant.now()))
        .thenRun(st -> removeEverything(replyTo));
  }

  private void removeEverything(ActorRef<StatusReply<ContainerView>> replyTo) {
    CompletionStage<Void> removal =
        taskCleanup.exceptionally(e -> null).thenCompose(v -> runtime.removeBundle(id));
    ctx.pipeToSelf(removal, (ok, err) -> new RemovalDone(replyTo, err));
  }

  private Effect<Event, State> onRemovalDone(State s, RemovalDone r) {
    busy = false;
    if (r.error() != null) {
      r.replyTo().tell(StatusReply.error(BerthException.from(r.error())));
      return Effect().unstashAll();
    }
    ContainerView last = view(s);
    State before = s instanceof Removing rm ? rm.before() : s;
    ExitInfo exit =
        before instanceof Stopped st ? new ExitInfo(id, st.exitCode(), st.finishedAt()) : null;
    return Effect()
        .persist(new ContainerRemoved(Instant.now()))
        .thenRun(
            st -> {
              // The supervisor first: anything the deleter sends after our reply (a late `wait` of
              // a `run --rm`) then reaches the supervisor behind ChildRemoved and gets the
              // tombstone, instead of being forwarded to this actor, which is stopping.
              supervisor.tell(new ContainerSupervisor.ChildRemoved(id, exit));
              r.replyTo().tell(StatusReply.success(last));
              answerExitWaiters(
                  StatusReply.error(
                      BerthException.notFound(
                          BerthException.Reason.CONTAINER_NOT_FOUND,
                          "container " + last.name() + " was removed")));
              exitSignal.complete(Done.getInstance());
            })
        .thenStop();
  }

  // ---------------------------------------------------------------- recovery

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), this::onRecovered)
        .build();
  }

  private void onRecovered(State s) {
    resetAfterRestart();
    if (s instanceof Empty && !fresh) {
      // The supervisor recorded the container but this actor's journal has nothing: either the
      // daemon died before the create was confirmed, or the journal lost this container's history.
      // A shim or an exit file says it ran (the journal lost it: rebuild); otherwise the create
      // never finished and what it made goes (a bundle left behind would look like a lost
      // container).
      busy = true;
      CompletionStage<EmptyFound> found =
          runtime
              .observe(id)
              .thenCompose(
                  o ->
                      o instanceof Observed.Running || o instanceof Observed.Exited
                          ? runtime
                              .readBundleRecord(id)
                              .thenApply(spec -> new EmptyFound(o, spec.orElse(null)))
                          : CompletableFuture.completedFuture(new EmptyFound(o, null)));
      ctx.pipeToSelf(
          found,
          (f, err) -> err != null ? new EmptyFound(new Observed.Lost(err.getMessage()), null) : f);
      return;
    }
    if (s instanceof Running) {
      // A run the journal knows but nobody has heard from since the restart: its monitor asks.
      reconciled = false;
      watchRun(RunMonitor.reconcile(id, runtime, reports(), true));
    } else if (s instanceof Starting) {
      // The daemon died mid-start: nothing confirmed the process, so clean up whatever was made
      // and fall back to the state before the start (the user can start again).
      reconciled = false;
      ctx.pipeToSelf(runtime.deleteTask(id, null), (ok, err) -> new StartupCleaned(err));
    } else if (s instanceof Stopped st) {
      // A shim may have outlived its exit if the daemon died before deleting the task.
      deleteTask(null);
      if (st.spec().autoRemove()) {
        ctx.getSelf().tell(new Delete(true, ctx.getSystem().ignoreRef()));
      } else if (st.restartScheduled()
          || st.spec().restartPolicy().restartsOnDaemonStart(st.manualStop())) {
        ctx.getSelf().tell(new RestartDue(true));
      }
    } else if (s instanceof Removing) {
      ctx.getSelf().tell(new Delete(true, ctx.getSystem().ignoreRef()));
    }
  }

  /**
   * A failed journal write (a full disk) restarts this behaviour with the same object, so the
   * transient fields still describe the step that failed (busy = true would stash every later
   * command for good). Recovery starts from the journal: so do they. The restart stopped the run's
   * monitor (its children), which closed its shim connection; recovery starts a new one. Waiters
   * for a start, stop or removal get an error now instead of an answer that will never come; exit
   * waiters stay, since the exit is still reported once observed.
   */
  private void resetAfterRestart() {
    timers.cancelAll();
    busy = false;
    reconciled = true;
    if (monitor != null) {
      ctx.unwatch(monitor);
      ctx.stop(monitor);
      monitor = null;
    }
    BerthException failed =
        BerthException.unavailable(
            "the change could not be recorded (journal write failed); try again");
    startWaiters.forEach(w -> w.tell(StatusReply.error(failed)));
    startWaiters.clear();
    stopWaiters.forEach(w -> w.tell(StatusReply.error(failed)));
    stopWaiters.clear();
    if (pendingDelete != null) pendingDelete.tell(StatusReply.error(failed));
    pendingDelete = null;
    // Exit waiters stay (see above), still watched.
    for (ActorRef<StatusReply<ExitInfo>> w : exitWaiters) {
      ctx.unwatch(w);
      ctx.watchWith(w, new ExitWaiterGone(w));
    }
  }

  private Effect<Event, State> onStartupCleaned(State s, StartupCleaned c) {
    reconciled = true;
    if (c.error() != null)
      ctx.getLog()
          .warn(
              "container {}: cleaning up its interrupted start failed (the next start cleans up):"
                  + " {}",
              id,
              BerthException.from(c.error()).getMessage());
    if (!(s instanceof Starting st)) return Effect().unstashAll();
    String back =
        (st.previous() instanceof Stopped ? ContainerState.STOPPED : ContainerState.CREATED)
            .label();
    return Effect()
        .persist(
            List.of(
                new StartFailed(
                    "the daemon restarted while the container was starting", Instant.now()),
                new Reconciled(back, Instant.now())))
        .thenUnstashAll();
  }

  // ---------------------------------------------------------------- events

  @Override
  public EventHandler<State, Event> eventHandler() {
    var b = newEventHandlerBuilder();
    b.forStateType(Created.class)
        .onEvent(
            StartRequested.class, (c, e) -> new Starting(c.spec(), c, e.at(), e.restartCount()))
        .onEvent(RemoveRequested.class, (c, e) -> new Removing(c.spec(), c));
    b.forStateType(Stopped.class)
        .onEvent(
            StartRequested.class, (st, e) -> new Starting(st.spec(), st, e.at(), e.restartCount()))
        .onEvent(
            RestartScheduled.class,
            (st, e) ->
                new Stopped(
                    st.spec(),
                    st.run(),
                    st.exitCode(),
                    st.finishedAt(),
                    st.error(),
                    st.manualStop(),
                    true))
        .onEvent(
            RestartCancelled.class,
            (st, e) ->
                new Stopped(
                    st.spec(), st.run(), st.exitCode(), st.finishedAt(), st.error(), true, false))
        .onEvent(RemoveRequested.class, (st, e) -> new Removing(st.spec(), st));
    b.forStateType(Starting.class)
        .onEvent(
            ContainerStarted.class,
            (st, e) ->
                new Running(
                    st.spec(),
                    new Run(
                        e.pid(),
                        e.shimPid(),
                        e.shimAddress(),
                        e.at(),
                        st.restartCount(),
                        e.group()),
                    false,
                    false))
        .onEvent(
            StartFailed.class,
            (st, e) ->
                st.previous() instanceof Stopped p
                    ? p.with(e.error())
                    : new Created(st.spec(), e.error()));
    b.forStateType(Running.class)
        .onEvent(StopRequested.class, (r, e) -> new Running(r.spec(), r.run(), true, r.removing()))
        .onEvent(
            RemoveRequested.class,
            (r, e) -> new Running(r.spec(), r.run(), r.stopRequested(), true))
        .onEvent(
            ContainerExited.class,
            (r, e) ->
                new Stopped(
                    r.spec(), r.run(), e.exitCode(), e.at(), e.error(), e.manualStop(), false));
    b.forStateType(Empty.class)
        .onEvent(
            ContainerAdopted.class,
            (st, e) ->
                switch (ContainerState.of(e.state())) {
                  case RUNNING -> new Running(e.spec(), e.run(), false, false);
                  case STOPPED ->
                      new Stopped(
                          e.spec(), e.run(), e.exitCode(), e.finishedAt(), null, false, false);
                  default ->
                      new Created(
                          e.spec(),
                          "rebuilt from disk after journal damage: earlier runs are unknown");
                });
    b.forAnyState()
        .onEvent(ContainerCreated.class, (st, e) -> new Created(e.spec(), null))
        .onEvent(ContainerRemoved.class, (st, e) -> new Removed(e.at()))
        // An event that does not apply to the state changes nothing (replay must never fail).
        .onAnyEvent((st, e) -> st);
    return b.build();
  }

  // ---------------------------------------------------------------- views

  private Effect<Event, State> replyView(State s, ActorRef<StatusReply<ContainerView>> replyTo) {
    if (s instanceof Empty || s instanceof Removed) {
      replyTo.tell(StatusReply.error(BerthException.containerNotFound(id)));
    } else {
      replyTo.tell(StatusReply.success(view(s)));
    }
    return Effect().none();
  }

  private ContainerView view(State s) {
    return s.view(new Viewing(id, runtime.paths().bundle(id).toString(), reconciled, adopting));
  }

  // ---------------------------------------------------------------- helpers

  private static BerthException notRunning(ContainerSpec spec) {
    return BerthException.precondition("container " + spec.name() + " is not running");
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  static void rejectRequest(Request r, BerthException e) {
    ((ActorRef) r.replyTo()).tell(StatusReply.error(e));
  }

  private Effect<Event, State> reject(Request r, BerthException e) {
    rejectRequest(r, e);
    return Effect().none();
  }
}
