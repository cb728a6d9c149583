package dev.berth.daemon;

import dev.berth.api.test.v1.CreateContainerWithFailpointsRequest;
import dev.berth.api.test.v1.CreateContainerWithFailpointsResponse;
import dev.berth.api.test.v1.FailpointsServiceGrpc;
import dev.berth.daemon.grpc.Calls;
import dev.berth.engine.Containers;
import io.grpc.stub.StreamObserver;

/**
 * berth.test.v1.FailpointsService: served only by a daemon started with {@code --enable-failpoints}
 * (test daemons); a production daemon does not register it.
 */
final class FailpointsService extends FailpointsServiceGrpc.FailpointsServiceImplBase {
  private final Containers containers;

  FailpointsService(Containers containers) {
    this.containers = containers;
  }

  @Override
  public void createContainerWithFailpoints(
      CreateContainerWithFailpointsRequest r,
      StreamObserver<CreateContainerWithFailpointsResponse> out) {
    Calls.unary(
        () -> {
          RequestLimits.labels("failpoints", r.getFailpointsMap());
          return containers.create(Protos.create(r.getContainer(), r.getFailpointsMap()));
        },
        v ->
            CreateContainerWithFailpointsResponse.newBuilder()
                .setContainer(Protos.container(v))
                .build(),
        out);
  }
}
