package dev.berth.daemon;

import dev.berth.actors.ContainerActor;
import dev.berth.actors.ContainerSupervisor;
import dev.berth.actors.EventFeed;
import dev.berth.actors.EventFilter;
import dev.berth.api.v1.ContainerReply;
import dev.berth.api.v1.ContainersGrpc;
import dev.berth.api.v1.CreateReply;
import dev.berth.api.v1.CreateRequest;
import dev.berth.api.v1.DeleteReply;
import dev.berth.api.v1.DeleteRequest;
import dev.berth.api.v1.Event;
import dev.berth.api.v1.ExecOutput;
import dev.berth.api.v1.ExecRequest;
import dev.berth.api.v1.InspectRequest;
import dev.berth.api.v1.KillRequest;
import dev.berth.api.v1.ListReply;
import dev.berth.api.v1.ListRequest;
import dev.berth.api.v1.LogEntry;
import dev.berth.api.v1.LogsRequest;
import dev.berth.api.v1.StartRequest;
import dev.berth.api.v1.StopRequest;
import dev.berth.api.v1.SubscribeRequest;
import dev.berth.api.v1.VersionReply;
import dev.berth.api.v1.VersionRequest;
import dev.berth.api.v1.WaitReply;
import dev.berth.api.v1.WaitRequest;
import dev.berth.core.ContainerView;
import dev.berth.core.RestartPolicy;
import dev.berth.core.Signals;
import dev.berth.daemon.grpc.GrpcErrors;
import dev.berth.daemon.grpc.SourceToStream;
import dev.berth.task.ContainerSpecs.CreateParams;
import dev.berth.task.ExecChunk;
import dev.berth.task.LogFollower;
import dev.berth.task.LogHandle;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
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
 * berth.v1.Containers: translates each call into a message to the container supervisor. No logic
 * here; the server streams are Sources served by {@link SourceToStream}.
 */
final class ContainersService extends ContainersGrpc.ContainersImplBase {
  private static final Duration ASK = Duration.ofSeconds(60);

  /** Waits and stops can legitimately take long; the actor answers when they are done. */
  private static final Duration LONG_ASK =
      Duration.ofDays(180); // the scheduler's limit is ~248 days

  private final ActorSystem<?> system;
  private final ActorRef<ContainerSupervisor.Command> supervisor;
  private final Executor blocking;

  /** Built per call: the journal's health can change during start-up (the supervisor's scan). */
  private final java.util.function.Supplier<VersionReply> version;

  private final EventFeed events;
  private final SourceToStream streams;

  ContainersService(
      ActorSystem<?> system,
      ActorRef<ContainerSupervisor.Command> supervisor,
      EventFeed events,
      SourceToStream streams,
      Executor blocking,
      java.util.function.Supplier<VersionReply> version) {
    this.system = system;
    this.events = events;
    this.streams = streams;
    this.supervisor = supervisor;
    this.blocking = blocking;
    this.version = version;
  }

  @Override
  public void version(VersionRequest request, StreamObserver<VersionReply> out) {
    out.onNext(version.get());
    out.onCompleted();
  }

  @Override
  public void create(CreateRequest r, StreamObserver<CreateReply> out) {
    var p = r.getProcess();
    RestartPolicy restart;
    try {
      restart = RestartPolicy.of(r.getRestart().getName(), r.getRestart().getMaxRetries());
    } catch (RuntimeException e) {
      out.onError(GrpcErrors.toStatus(e));
      return;
    }
    CreateParams params =
        new CreateParams(
            r.getImage(),
            r.getName(),
            p.getEntrypointList(),
            p.getCmdList(),
            p.getEnvList(),
            p.getWorkingDir(),
            p.getUser(),
            r.getAutoRemove(),
            r.getHostname(),
            r.getLabelsMap(),
            restart,
            r.getFailpointsMap(),
            r.getSecurityOptsList());
    CompletionStage<ContainerView> reply =
        AskPattern.askWithStatus(
            supervisor,
            (ActorRef<StatusReply<ContainerView>> to) -> new ContainerSupervisor.Create(params, to),
            ASK,
            system.scheduler());
    complete(reply, v -> CreateReply.newBuilder().setContainer(Protos.container(v)).build(), out);
  }

  @Override
  public void start(StartRequest r, StreamObserver<ContainerReply> out) {
    complete(ask(r.getRef(), ContainerActor.Start::new, ASK), ContainersService::reply, out);
  }

  @Override
  public void kill(KillRequest r, StreamObserver<ContainerReply> out) {
    int signal;
    try {
      signal = Signals.parse(r.getSignal(), 9);
    } catch (RuntimeException e) {
      out.onError(GrpcErrors.toStatus(e));
      return;
    }
    complete(
        ask(r.getRef(), to -> new ContainerActor.Kill(signal, to), ASK),
        ContainersService::reply,
        out);
  }

  @Override
  public void stop(StopRequest r, StreamObserver<ContainerReply> out) {
    int signal;
    try {
      signal = Signals.parse(r.getSignal(), 15);
    } catch (RuntimeException e) {
      out.onError(GrpcErrors.toStatus(e));
      return;
    }
    Duration timeout = Duration.ofSeconds(r.getTimeoutSeconds() < 0 ? 10 : r.getTimeoutSeconds());
    complete(
        ask(r.getRef(), to -> new ContainerActor.Stop(signal, timeout, to), LONG_ASK),
        ContainersService::reply,
        out);
  }

  @Override
  public void delete(DeleteRequest r, StreamObserver<DeleteReply> out) {
    complete(
        this.<ContainerView>ask(r.getRef(), to -> new ContainerActor.Delete(r.getForce(), to), ASK),
        v -> DeleteReply.newBuilder().setId(v.id()).build(),
        out);
  }

  @Override
  public void list(ListRequest r, StreamObserver<ListReply> out) {
    CompletionStage<List<ContainerView>> views =
        AskPattern.ask(
            supervisor,
            (ActorRef<List<ContainerView>> to) ->
                new ContainerSupervisor.ListContainers(r.getAll(), to),
            ASK,
            system.scheduler());
    complete(
        views,
        l -> {
          ListReply.Builder b = ListReply.newBuilder();
          l.forEach(v -> b.addContainers(Protos.container(v)));
          return b.build();
        },
        out);
  }

  @Override
  public void inspect(InspectRequest r, StreamObserver<ContainerReply> out) {
    complete(ask(r.getRef(), ContainerActor.Inspect::new, ASK), ContainersService::reply, out);
  }

  @Override
  public void waitExit(WaitRequest r, StreamObserver<WaitReply> out) {
    complete(
        ask(r.getRef(), ContainerActor.WaitExit::new, LONG_ASK),
        x ->
            WaitReply.newBuilder()
                .setId(x.id())
                .setExitCode(x.exitCode())
                .setFinishedAt(Protos.time(x.finishedAt()))
                .build(),
        out);
  }

  @Override
  public void logs(LogsRequest r, StreamObserver<LogEntry> out) {
    Source<LogEntry, ?> entries =
        Source.completionStageSource(
                this.<LogHandle>ask(r.getRef(), ContainerActor.OpenLogs::new, ASK)
                    .thenApply(handle -> LogFollower.source(handle, r.getFollow(), blocking)))
            .map(Protos::logEntry);
    streams.serve(entries, out);
  }

  @Override
  public void exec(ExecRequest r, StreamObserver<ExecOutput> out) {
    dev.berth.task.ExecRequest task =
        new dev.berth.task.ExecRequest(
            java.util.UUID.randomUUID().toString(),
            r.getArgsList(),
            r.getEnvList(),
            r.getWorkingDir(),
            r.getUser());
    // The shim's call starts when the bridge runs the Source, and a cancel of this call cancels it.
    Source<ExecOutput, ?> output =
        Source.completionStageSource(
                this.<Source<ExecChunk, NotUsed>>ask(
                    r.getRef(), to -> new ContainerActor.Exec(task, to), ASK))
            .map(Protos::execOutput);
    streams.serve(output, out);
  }

  @Override
  public void subscribe(SubscribeRequest r, StreamObserver<Event> out) {
    streams.serve(events(r).map(Protos::event), out);
  }

  /** The events a subscription asked for; its container references are resolved to ids first. */
  private Source<EventFeed.LifecycleEvent, ?> events(SubscribeRequest r) {
    EventFilter filter;
    try {
      filter = EventFilter.parse(r.getFiltersList());
    } catch (RuntimeException e) {
      return Source.failed(e);
    }
    return Source.completionStageSource(
        resolveContainers(filter.containerRefs())
            .thenApply(
                ids -> {
                  EventFilter resolved = filter.withContainerIds(ids);
                  return events.events(r.getSince(), !r.getHistoryOnly()).filter(resolved::matches);
                }));
  }

  /**
   * Container references to ids, once; one that does not resolve (removed already) stays a prefix.
   */
  private CompletionStage<Set<String>> resolveContainers(List<String> refs) {
    CompletableFuture<Set<String>> all = CompletableFuture.completedFuture(new HashSet<>());
    for (String ref : refs) {
      CompletionStage<ContainerView> one = ask(ref, ContainerActor.Inspect::new, ASK);
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

  private static ContainerReply reply(ContainerView v) {
    return ContainerReply.newBuilder().setContainer(Protos.container(v)).build();
  }

  private static <T, R> void complete(
      CompletionStage<T> stage, Function<T, R> translate, StreamObserver<R> out) {
    stage.whenComplete(
        (v, err) -> {
          if (err != null) {
            out.onError(GrpcErrors.toStatus(err));
          } else {
            out.onNext(translate.apply(v));
            out.onCompleted();
          }
        });
  }
}
