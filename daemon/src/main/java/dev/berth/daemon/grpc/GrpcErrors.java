package dev.berth.daemon.grpc;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.Code;
import com.google.rpc.ErrorInfo;
import dev.berth.core.BerthException;
import dev.berth.core.BerthException.Reason;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeoutException;

/**
 * Maps failures to berth.v1's error model: a gRPC status whose message is one line (never longer
 * than {@value #MESSAGE_LIMIT} characters, so it always fits a client's header limit) and whose
 * details carry a {@code google.rpc.ErrorInfo} (domain {@value #DOMAIN}, the stable reason) and,
 * for a bad field, a {@code google.rpc.BadRequest}.
 */
public final class GrpcErrors {
  public static final String DOMAIN = "berth.dev";
  static final int MESSAGE_LIMIT = 300;

  private GrpcErrors() {}

  public static StatusRuntimeException toStatus(Throwable t) {
    Throwable c = BerthException.unwrap(t);
    if (c instanceof StatusRuntimeException s) return s;
    if (c instanceof TimeoutException) {
      return build(
          new BerthException(
              BerthException.Code.UNAVAILABLE,
              Reason.TIMEOUT,
              null,
              "berthd did not answer in time"));
    }
    if (c instanceof CancellationException) {
      return Status.CANCELLED.withDescription("cancelled").asRuntimeException();
    }
    return build(BerthException.from(c));
  }

  /** A status for {@code e}, with its details. */
  public static StatusRuntimeException build(BerthException e) {
    Code code =
        switch (e.code()) {
          case NOT_FOUND -> Code.NOT_FOUND;
          case ALREADY_EXISTS -> Code.ALREADY_EXISTS;
          case FAILED_PRECONDITION -> Code.FAILED_PRECONDITION;
          case INVALID_ARGUMENT -> Code.INVALID_ARGUMENT;
          case UNAVAILABLE -> Code.UNAVAILABLE;
          case PERMISSION_DENIED -> Code.PERMISSION_DENIED;
          case RESOURCE_EXHAUSTED -> Code.RESOURCE_EXHAUSTED;
          case UNIMPLEMENTED -> Code.UNIMPLEMENTED;
          case DEADLINE_EXCEEDED -> Code.DEADLINE_EXCEEDED;
          case INTERNAL -> Code.INTERNAL;
        };
    String message = message(e.getMessage());
    com.google.rpc.Status.Builder status =
        com.google.rpc.Status.newBuilder()
            .setCode(code.getNumber())
            .setMessage(message)
            .addDetails(
                Any.pack(
                    ErrorInfo.newBuilder().setReason(e.reason().name()).setDomain(DOMAIN).build()));
    if (e.field() != null) {
      status.addDetails(
          Any.pack(
              BadRequest.newBuilder()
                  .addFieldViolations(
                      BadRequest.FieldViolation.newBuilder()
                          .setField(e.field())
                          .setDescription(message))
                  .build()));
    }
    return StatusProto.toStatusRuntimeException(status.build());
  }

  /** One line, bounded. */
  static String message(String m) {
    String line = BerthException.oneLine(m == null || m.isBlank() ? "failed" : m);
    return line.length() <= MESSAGE_LIMIT ? line : line.substring(0, MESSAGE_LIMIT - 1) + "…";
  }
}
