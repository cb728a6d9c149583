package dev.berth.daemon;

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
import dev.berth.daemon.grpc.GrpcErrors;
import dev.berth.daemon.grpc.SourceToStream;
import dev.berth.engine.Containers;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * berth.v1.Containers: each call is translated into a request to the {@link Containers} facade and
 * its answer back ({@link Protos}); nothing else happens here. The server streams are the facade's
 * Sources, served by {@link SourceToStream}.
 */
final class ContainersService extends ContainersGrpc.ContainersImplBase {
  private final Containers containers;
  private final SourceToStream streams;

  /** Built per call: the journal's health can change during start-up (the supervisor's scan). */
  private final Supplier<VersionReply> version;

  ContainersService(Containers containers, SourceToStream streams, Supplier<VersionReply> version) {
    this.containers = containers;
    this.streams = streams;
    this.version = version;
  }

  @Override
  public void version(VersionRequest request, StreamObserver<VersionReply> out) {
    out.onNext(version.get());
    out.onCompleted();
  }

  @Override
  public void create(CreateRequest r, StreamObserver<CreateReply> out) {
    complete(containers.create(Protos.create(r)), Protos::createReply, out);
  }

  @Override
  public void start(StartRequest r, StreamObserver<ContainerReply> out) {
    complete(containers.start(r.getRef()), Protos::containerReply, out);
  }

  @Override
  public void kill(KillRequest r, StreamObserver<ContainerReply> out) {
    complete(containers.kill(Protos.kill(r)), Protos::containerReply, out);
  }

  @Override
  public void stop(StopRequest r, StreamObserver<ContainerReply> out) {
    complete(containers.stop(Protos.stop(r)), Protos::containerReply, out);
  }

  @Override
  public void delete(DeleteRequest r, StreamObserver<DeleteReply> out) {
    complete(containers.remove(r.getRef(), r.getForce()), Protos::deleteReply, out);
  }

  @Override
  public void list(ListRequest r, StreamObserver<ListReply> out) {
    complete(containers.list(r.getAll()), Protos::listReply, out);
  }

  @Override
  public void inspect(InspectRequest r, StreamObserver<ContainerReply> out) {
    complete(containers.inspect(r.getRef()), Protos::containerReply, out);
  }

  @Override
  public void waitExit(WaitRequest r, StreamObserver<WaitReply> out) {
    complete(containers.waitExit(r.getRef()), Protos::waitReply, out);
  }

  @Override
  public void logs(LogsRequest r, StreamObserver<LogEntry> out) {
    streams.serve(containers.logs(Protos.logs(r)).map(Protos::logEntry), out);
  }

  @Override
  public void exec(ExecRequest r, StreamObserver<ExecOutput> out) {
    streams.serve(containers.exec(Protos.exec(r)).map(Protos::execOutput), out);
  }

  @Override
  public void subscribe(SubscribeRequest r, StreamObserver<Event> out) {
    streams.serve(containers.events(Protos.subscribe(r)).map(Protos::event), out);
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
