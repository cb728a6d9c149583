package dev.berth.engine;

import dev.berth.actors.ContainerActor;
import dev.berth.actors.ContainerSupervisor;
import dev.berth.actors.EventFeed;
import dev.berth.actors.EventFeed.LifecycleEvent;
import dev.berth.actors.EventFilter;
import dev.berth.core.ContainerView;
import dev.berth.core.Defaults;
import dev.berth.core.ExitInfo;
import dev.berth.core.RestartPolicy;
import dev.berth.core.Signals;
import dev.berth.task.ContainerSpecs.CreateParams;
import dev.berth.task.LogFollower;
import dev.berth.task.LogFollower.LogLine;
import dev.berth.task.LogHandle;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The domain's front door for containers: every API adapter (gRPC today, a Docker-compatible HTTP
 * API later) translates its request into one of these calls and the answer back, nothing more.
 * Requests are plain values (the records below: text as a user wrote it, parsed here — signals,
 * restart policies — with the defaults applied here); answers are domain values ({@link
 * ContainerView}, {@link ExitInfo}, {@link LogLine}, {@link LifecycleEvent}; execs: {@link Execs}).
 * Failures are {@link dev.berth.core.BerthException}s (a failed stage or Source), never thrown.
 *
 * <p>Streams are Sources whose first step (the ask that opens the log, the resolution of a filter's
 * containers) runs when the Source is run, so the adapter that serves it owns its flow control and
 * cancellation from the start.
 */
public final class Containers {
  /** Most requests answer at once or after one journal write. */
  private static final Duration ASK = Duration.ofSeconds(60);

  /** Waits and stops can legitimately take long; the actor answers when they are done. */
  private static final Duration LONG_ASK =
      Duration.ofDays(180); // the scheduler's limit is ~248 days

  /**
   * {@code docker create}: {@code restartPolicy} in docker's words ({@code no}, {@code on-failure},
   * {@code always}, {@code unless-stopped}; empty is {@code no}) with its maximum retry count.
   */
  public record Create(
      String image,
      String name,
      List<String> entrypoint,
      List<String> cmd,
      List<String> env,
      String workingDir,
      String user,
      boolean autoRemove,
      String hostname,
      Map<String, String> labels,
      String restartPolicy,
      int restartMaxRetries,
      Map<String, String> failpoints,
      List<String> securityOpts) {}

  /** {@code signal}: a name or number, null or blank for SIGKILL. */
  public record Kill(String ref, String signal) {}

  /**
   * {@code signal}: a name or number, null or blank for SIGTERM; {@code timeout} before SIGKILL,
   * null for {@link Defaults#STOP_TIMEOUT}.
   */
  public record Stop(String ref, String signal, Duration timeout) {}

  public record Logs(String ref, boolean follow) {}

  /**
   * Events after {@code since} (a sequence number, 0 for all), then the live ones unless {@code
   * historyOnly}; {@code filters} as {@code berth events --filter} takes them.
   */
  public record Subscribe(List<String> filters, long since, boolean historyOnly) {}

  private final ActorSystem<?> system;
  private final ActorRef<ContainerSupervisor.Command> supervisor;
  private final EventFeed events;
  private final Executor blocking;

  public Containers(
      ActorSystem<?> system,
      ActorRef<ContainerSupervisor.Command> supervisor,
      EventFeed events,
      Executor blocking) {
    this.system = system;
    this.supervisor = supervisor;
    this.events = events;
    this.blocking = blocking;
  }

  public CompletionStage<ContainerView> create(Create r) {
    RestartPolicy restart;
    try {
      restart = RestartPolicy.of(r.restartPolicy(), r.restartMaxRetries());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    CreateParams params =
        new CreateParams(
            r.image(),
            r.name(),
            r.entrypoint(),
            r.cmd(),
            r.env(),
            r.workingDir(),
            r.user(),
            r.autoRemove(),
            r.hostname(),
            r.labels(),
            restart,
            r.failpoints(),
            r.securityOpts());
    return AskPattern.askWithStatus(
        supervisor,
        (ActorRef<StatusReply<ContainerView>> to) -> new ContainerSupervisor.Create(params, to),
        ASK,
        system.scheduler());
  }

  public CompletionStage<ContainerView> start(String ref) {
    return ask(ref, ContainerActor.Start::new, ASK);
  }

  public CompletionStage<ContainerView> kill(Kill r) {
    int signal;
    try {
      signal = Signals.parse(r.signal(), Defaults.KILL_SIGNAL);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return ask(r.ref(), to -> new ContainerActor.Kill(signal, to), ASK);
  }

  /** Answers once the container is down (after the timeout and SIGKILL at worst). */
  public CompletionStage<ContainerView> stop(Stop r) {
    int signal;
    try {
      signal = Signals.parse(r.signal(), Defaults.STOP_SIGNAL);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    Duration timeout = r.timeout() == null ? Defaults.STOP_TIMEOUT : r.timeout();
    return ask(r.ref(), to -> new ContainerActor.Stop(signal, timeout, to), LONG_ASK);
  }

  /** The container as it was last (before the removal). */
  public CompletionStage<ContainerView> remove(String ref, boolean force) {
    return ask(ref, to -> new ContainerActor.Delete(force, to), ASK);
  }

  /** Running containers, or all of them. */
  public CompletionStage<List<ContainerView>> list(boolean all) {
    return AskPattern.ask(
        supervisor,
        (ActorRef<List<ContainerView>> to) -> new ContainerSupervisor.ListContainers(all, to),
        ASK,
        system.scheduler());
  }

  public CompletionStage<ContainerView> inspect(String ref) {
    return ask(ref, ContainerActor.Inspect::new, ASK);
  }

  /**
   * The next exit (or the last, for a stopped container; for one just removed, the newest removal
   * of that id or name).
   */
  public CompletionStage<ExitInfo> waitExit(String ref) {
    return ask(ref, ContainerActor.WaitExit::new, LONG_ASK);
  }

  /** The container's log from the start; followed, it lasts until the container's run ends. */
  public Source<LogLine, NotUsed> logs(Logs r) {
    return Source.completionStageSource(
            this.<LogHandle>ask(r.ref(), ContainerActor.OpenLogs::new, ASK)
                .thenApply(handle -> LogFollower.source(handle, r.follow(), blocking)))
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  /** The lifecycle events a subscription asked for; its container references resolved first. */
  public Source<LifecycleEvent, NotUsed> events(Subscribe r) {
    EventFilter filter;
    try {
      filter = EventFilter.parse(r.filters());
    } catch (RuntimeException e) {
      return Source.failed(e);
    }
    return Source.completionStageSource(
            resolveContainers(filter.containerRefs())
                .thenApply(
                    ids -> {
                      EventFilter resolved = filter.withContainerIds(ids);
                      return events.events(r.since(), !r.historyOnly()).filter(resolved::matches);
                    }))
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  /** The image ids that containers use (image removal and pruning keep them). */
  public CompletionStage<Set<String>> imagesInUse() {
    return AskPattern.ask(
        supervisor,
        (ActorRef<Set<String>> to) -> new ContainerSupervisor.ImagesInUse(to),
        Duration.ofSeconds(30),
        system.scheduler());
  }

  /**
   * Container references to ids, once; one that does not resolve (removed already) stays a prefix.
   */
  private CompletionStage<Set<String>> resolveContainers(List<String> refs) {
    CompletableFuture<Set<String>> all = CompletableFuture.completedFuture(new HashSet<>());
    for (String ref : refs) {
      CompletionStage<ContainerView> one = inspect(ref);
      all =
          all.thenCombine(
              one.handle((v, e) -> v),
              (ids, v) -> {
                if (v != null) ids.add(v.id());
                return ids;
              });
    }
    return all.thenApply(Set::copyOf);
  }

  private <T> CompletionStage<T> ask(
      String ref,
      Function<ActorRef<StatusReply<T>>, ContainerActor.Request> make,
      Duration timeout) {
    return AskPattern.askWithStatus(
        supervisor,
        (ActorRef<StatusReply<T>> to) -> new ContainerSupervisor.Forward(ref, make.apply(to)),
        timeout,
        system.scheduler());
  }
}
