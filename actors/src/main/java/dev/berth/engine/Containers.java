package dev.berth.engine;

import dev.berth.actors.ContainerActor;
import dev.berth.actors.ContainerSupervisor;
import dev.berth.core.BerthException;
import dev.berth.core.ContainerState;
import dev.berth.core.ContainerView;
import dev.berth.core.Defaults;
import dev.berth.core.ExitInfo;
import dev.berth.core.NetworkOptions;
import dev.berth.core.RestartPolicy;
import dev.berth.core.Signals;
import dev.berth.task.ContainerSpecs;
import dev.berth.task.ContainerSpecs.CreateParams;
import dev.berth.task.LogFollower;
import dev.berth.task.LogFollower.LogLine;
import dev.berth.task.LogHandle;
import java.time.Duration;
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
 * ContainerView}, {@link ExitInfo}, {@link LogLine}; execs: {@link Execs}; events: {@link Events}).
 * Failures are {@link dev.berth.core.BerthException}s (a failed stage or Source), never thrown.
 *
 * <p>Streams are Sources whose first step (the ask that opens the log) runs when the Source is run,
 * so the adapter that serves it owns its flow control and cancellation from the start.
 */
public final class Containers {
  /** Most requests answer at once or after one journal write. */
  private static final Duration ASK = Duration.ofSeconds(60);

  /** Stops can legitimately take long; the actor answers when they are done. */
  private static final Duration LONG_ASK =
      Duration.ofDays(180); // the scheduler's limit is ~248 days

  /**
   * {@code docker create}: {@code restartPolicy} in docker's words ({@code no}, {@code on-failure},
   * {@code always}, {@code unless-stopped}; empty is {@code no}) with its maximum retry count.
   * {@code failpoints}: test-only fault injection, {@code Map.of()} on the normal path. {@code
   * requestId}: an optional idempotency key (up to 128 printable ASCII characters; null or empty
   * for none): while a container made by a create with this key exists (also across daemon
   * restarts), a create with the same key answers that container's current view instead of making
   * another; concurrent creates with one key make one container.
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
      List<String> securityOpts,
      String requestId,
      /** --network, -p, -P, --dns, --dns-search, --add-host; null for the defaults. */
      NetworkOptions network,
      /** The named shim group; null or empty for the default. */
      String shimGroup) {
    /** A create with the default network and shim grouping. */
    public Create(
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
        List<String> securityOpts,
        String requestId) {
      this(
          image,
          name,
          entrypoint,
          cmd,
          env,
          workingDir,
          user,
          autoRemove,
          hostname,
          labels,
          restartPolicy,
          restartMaxRetries,
          failpoints,
          securityOpts,
          requestId,
          null,
          null);
    }
  }

  /** {@code signal}: a name or number, null or blank for SIGKILL. */
  public record Kill(String ref, String signal) {}

  /**
   * {@code signal}: a name or number, null or blank for SIGTERM; {@code timeout} before SIGKILL,
   * null for {@link Defaults#STOP_TIMEOUT}.
   */
  public record Stop(String ref, String signal, Duration timeout) {}

  /**
   * A log read: {@code tail} lines from the end (-1: all), only lines timed within [since, until]
   * (null: unbounded).
   */
  public record Logs(
      String ref, boolean follow, int tail, java.time.Instant since, java.time.Instant until) {
    public Logs(String ref, boolean follow) {
      this(ref, follow, -1, null, null);
    }
  }

  /**
   * A page of containers in creation order (created time, then id). {@code all}: stopped and
   * created ones too (docker ps -a); non-empty {@code states} choose the states themselves. Filters
   * (each one empty or null for any): {@code names} exact (any), {@code states} (any), {@code
   * labels} (all must match; a value "" means the key is present), {@code images} as requested or
   * the image id (any). {@code pageSize} 1..1000, 0 for 100; {@code pageToken} "" for the first
   * page, else a {@link Page#nextPageToken} (or {@link #pageTokenAfter}).
   */
  public record ListRequest(
      boolean all,
      List<String> names,
      List<ContainerState> states,
      Map<String, String> labels,
      List<String> images,
      int pageSize,
      String pageToken) {}

  private final ActorSystem<?> system;
  private final ActorRef<ContainerSupervisor.Command> supervisor;
  private final Executor blocking;

  public Containers(
      ActorSystem<?> system, ActorRef<ContainerSupervisor.Command> supervisor, Executor blocking) {
    this.system = system;
    this.supervisor = supervisor;
    this.blocking = blocking;
  }

  public CompletionStage<ContainerView> create(Create r) {
    RestartPolicy restart;
    try {
      restart = RestartPolicy.of(r.restartPolicy(), r.restartMaxRetries());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    String requestId = r.requestId() == null ? "" : r.requestId();
    String badKey = ContainerSpecs.checkRequestId(requestId);
    if (badKey != null)
      return CompletableFuture.failedFuture(BerthException.invalidField("request_id", badKey));
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
            r.failpoints() == null ? Map.of() : r.failpoints(),
            r.securityOpts(),
            requestId,
            r.network(),
            r.shimGroup() == null || r.shimGroup().isEmpty() ? null : r.shimGroup());
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

  /**
   * One page of containers (see {@link ListRequest}); a bad page size or token fails with {@link
   * BerthException#invalidField} ({@code page_size}, {@code page_token}).
   */
  public CompletionStage<Page<ContainerView>> list(ListRequest r) {
    int size;
    ContainerListing.Key after;
    try {
      size = ContainerListing.pageSize(r.pageSize());
      after = ContainerListing.parseToken(r.pageToken());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return AskPattern.ask(
            supervisor,
            (ActorRef<List<ContainerView>> to) -> new ContainerSupervisor.ListContainers(true, to),
            ASK,
            system.scheduler())
        .thenApply(views -> ContainerListing.page(views, r, size, after));
  }

  /**
   * The token of the page that follows {@code v} (for an adapter that ends a page early, e.g. to
   * keep its reply small: the next page starts after the last item it kept).
   */
  public static String pageTokenAfter(ContainerView v) {
    return ContainerListing.token(v);
  }

  public CompletionStage<ContainerView> inspect(String ref) {
    return ask(ref, ContainerActor.Inspect::new, ASK);
  }

  /**
   * The next exit (or the last, for a stopped container; for one just removed, the newest removal
   * of that id or name). It has no timeout: cancelling the returned stage ({@code
   * toCompletableFuture().cancel(...)}, what an adapter does when its call is cancelled or its
   * deadline passes) removes the wait from the daemon — its waiter actor stops, and the container
   * actor, which watches it, forgets it.
   */
  public CompletionStage<ExitInfo> waitExit(String ref) {
    return ExitWaiter.start(system, supervisor, ref);
  }

  /** The container's log from the start; followed, it lasts until the container's run ends. */
  public Source<LogLine, NotUsed> logs(Logs r) {
    return Source.completionStageSource(
            this.<LogHandle>ask(r.ref(), ContainerActor.OpenLogs::new, ASK)
                .thenApply(
                    handle ->
                        LogFollower.source(
                            handle,
                            new LogFollower.Window(r.follow(), r.tail(), r.since(), r.until()),
                            blocking)))
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
