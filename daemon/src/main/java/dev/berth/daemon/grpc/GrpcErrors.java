package dev.berth.daemon.grpc;

import dev.berth.core.BerthException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.TimeoutException;

/** Maps failures to gRPC statuses whose description is one line for the user. */
public final class GrpcErrors {
  private GrpcErrors() {}

  public static StatusRuntimeException toStatus(Throwable t) {
    Throwable c = BerthException.unwrap(t);
    if (c instanceof StatusRuntimeException s) return s;
    if (c instanceof TimeoutException) {
      return Status.UNAVAILABLE
          .withDescription("berthd did not answer in time")
          .asRuntimeException();
    }
    BerthException e = BerthException.from(c);
    Status status =
        switch (e.code()) {
          case NOT_FOUND -> Status.NOT_FOUND;
          case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
          case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
          case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
          case UNAVAILABLE -> Status.UNAVAILABLE;
          case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
          case INTERNAL -> Status.INTERNAL;
        };
    return status.withDescription(e.getMessage()).asRuntimeException();
  }
}
