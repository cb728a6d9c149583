package dev.berth.daemon;

import dev.berth.core.BerthException;
import dev.berth.daemon.grpc.GrpcErrors;
import dev.berth.host.DiskSpace;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.StatusRuntimeException;

/**
 * Refuses the operations that make something new while the disk is full (see {@link DiskSpace}),
 * before they reach the domain: one RESOURCE_EXHAUSTED line (reason DISK_FULL), nothing changed.
 */
final class DiskSpaceInterceptor implements ServerInterceptor {
  private final DiskSpace disk;

  DiskSpaceInterceptor(DiskSpace disk) {
    this.disk = disk;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (DiskSpace.isWrite(call.getMethodDescriptor().getBareMethodName())) {
      String shortage = disk.shortage();
      if (shortage != null) {
        StatusRuntimeException s =
            GrpcErrors.build(
                new BerthException(
                    BerthException.Code.RESOURCE_EXHAUSTED,
                    BerthException.Reason.DISK_FULL,
                    null,
                    shortage));
        call.close(s.getStatus(), s.getTrailers());
        return new ServerCall.Listener<>() {};
      }
    }
    return next.startCall(call, headers);
  }
}
