package dev.berth.daemon;

import dev.berth.api.v1.ContainerLogsRequest;
import dev.berth.api.v1.ContainerLogsResponse;
import dev.berth.api.v1.ContainersServiceGrpc;
import dev.berth.api.v1.CreateContainerRequest;
import dev.berth.api.v1.CreateContainerResponse;
import dev.berth.api.v1.DeleteContainerRequest;
import dev.berth.api.v1.DeleteContainerResponse;
import dev.berth.api.v1.InspectContainerRequest;
import dev.berth.api.v1.InspectContainerResponse;
import dev.berth.api.v1.KillContainerRequest;
import dev.berth.api.v1.KillContainerResponse;
import dev.berth.api.v1.ListContainersRequest;
import dev.berth.api.v1.ListContainersResponse;
import dev.berth.api.v1.StartContainerRequest;
import dev.berth.api.v1.StartContainerResponse;
import dev.berth.api.v1.StopContainerRequest;
import dev.berth.api.v1.StopContainerResponse;
import dev.berth.api.v1.WaitContainerRequest;
import dev.berth.api.v1.WaitContainerResponse;
import dev.berth.core.NetworkSettings;
import dev.berth.daemon.grpc.Calls;
import dev.berth.daemon.grpc.SourceToStream;
import dev.berth.engine.Containers;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * berth.v1.ContainersService: each call is translated into a request to the {@link Containers}
 * facade and its answer back ({@link Protos}); nothing else happens here. The log stream is the
 * facade's Source, served by {@link SourceToStream}.
 */
final class ContainersService extends ContainersServiceGrpc.ContainersServiceImplBase {
  private final Containers containers;
  private final SourceToStream streams;

  private final Function<String, Optional<NetworkSettings>> networks;

  ContainersService(Containers containers, SourceToStream streams) {
    this(containers, streams, id -> Optional.empty());
  }

  /** {@code networks}: a container's network as set up, for inspect. */
  ContainersService(
      Containers containers,
      SourceToStream streams,
      Function<String, Optional<NetworkSettings>> networks) {
    this.containers = containers;
    this.streams = streams;
    this.networks = networks;
  }

  @Override
  public void createContainer(
      CreateContainerRequest r, StreamObserver<CreateContainerResponse> out) {
    Calls.unary(
        () -> containers.create(Protos.create(r, Map.of())),
        v -> CreateContainerResponse.newBuilder().setContainer(Protos.container(v)).build(),
        out);
  }

  @Override
  public void startContainer(StartContainerRequest r, StreamObserver<StartContainerResponse> out) {
    Calls.unary(
        () -> containers.start(RequestLimits.ref("ref", r.getRef())),
        v -> StartContainerResponse.newBuilder().setContainer(Protos.container(v)).build(),
        out);
  }

  @Override
  public void killContainer(KillContainerRequest r, StreamObserver<KillContainerResponse> out) {
    Calls.unary(
        () -> containers.kill(Protos.kill(r)),
        v -> KillContainerResponse.newBuilder().setContainer(Protos.container(v)).build(),
        out);
  }

  @Override
  public void stopContainer(StopContainerRequest r, StreamObserver<StopContainerResponse> out) {
    Calls.unary(
        () -> containers.stop(Protos.stop(r)),
        v -> StopContainerResponse.newBuilder().setContainer(Protos.container(v)).build(),
        out);
  }

  @Override
  public void deleteContainer(
      DeleteContainerRequest r, StreamObserver<DeleteContainerResponse> out) {
    Calls.unary(
        () -> containers.remove(RequestLimits.ref("ref", r.getRef()), r.getForce()),
        v -> DeleteContainerResponse.newBuilder().setContainer(Protos.container(v)).build(),
        out);
  }

  @Override
  public void listContainers(ListContainersRequest r, StreamObserver<ListContainersResponse> out) {
    Calls.unary(() -> containers.list(Protos.list(r)), Protos::listResponse, out);
  }

  @Override
  public void inspectContainer(
      InspectContainerRequest r, StreamObserver<InspectContainerResponse> out) {
    Calls.unary(
        () -> containers.inspect(RequestLimits.ref("ref", r.getRef())),
        v ->
            InspectContainerResponse.newBuilder()
                .setContainer(Protos.container(v, networks.apply(v.id())))
                .build(),
        out);
  }

  @Override
  public void waitContainer(WaitContainerRequest r, StreamObserver<WaitContainerResponse> out) {
    Calls.cancellable(
        () -> containers.waitExit(RequestLimits.ref("ref", r.getRef())), Protos::waitResponse, out);
  }

  @Override
  public void containerLogs(ContainerLogsRequest r, StreamObserver<ContainerLogsResponse> out) {
    streams.serve(Calls.source(() -> containers.logs(Protos.logs(r)).map(Protos::logEntry)), out);
  }
}
