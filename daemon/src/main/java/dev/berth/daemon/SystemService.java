package dev.berth.daemon;

import dev.berth.api.v1.GetVersionRequest;
import dev.berth.api.v1.GetVersionResponse;
import dev.berth.api.v1.SystemServiceGrpc;
import io.grpc.stub.StreamObserver;
import java.util.function.Supplier;

/** berth.v1.SystemService: the daemon's identity. */
final class SystemService extends SystemServiceGrpc.SystemServiceImplBase {
  /** Built per call: the journal's health can change during start-up (the supervisor's scan). */
  private final Supplier<GetVersionResponse> version;

  SystemService(Supplier<GetVersionResponse> version) {
    this.version = version;
  }

  @Override
  public void getVersion(GetVersionRequest r, StreamObserver<GetVersionResponse> out) {
    out.onNext(version.get());
    out.onCompleted();
  }
}
