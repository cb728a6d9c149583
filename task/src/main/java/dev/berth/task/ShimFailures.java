package dev.berth.task;

import dev.berth.core.BerthException;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The edge where a shim's gRPC failures become domain failures: above the task module nobody sees a
 * gRPC status, only a {@link BerthException} with the shim's one-line description.
 */
final class ShimFailures {
  private ShimFailures() {}

  static Throwable translate(Throwable t) {
    Throwable c = BerthException.unwrap(t);
    if (!(c instanceof StatusRuntimeException s)) return c;
    String d = s.getStatus().getDescription();
    String line = BerthException.oneLine(d != null ? d : s.getStatus().getCode().toString());
    BerthException.Code code =
        switch (s.getStatus().getCode()) {
          case NOT_FOUND -> BerthException.Code.NOT_FOUND;
          case ALREADY_EXISTS -> BerthException.Code.ALREADY_EXISTS;
          case FAILED_PRECONDITION -> BerthException.Code.FAILED_PRECONDITION;
          case INVALID_ARGUMENT -> BerthException.Code.INVALID_ARGUMENT;
          case UNAVAILABLE -> BerthException.Code.UNAVAILABLE;
          case PERMISSION_DENIED -> BerthException.Code.PERMISSION_DENIED;
          case RESOURCE_EXHAUSTED -> BerthException.Code.RESOURCE_EXHAUSTED;
          default -> BerthException.Code.INTERNAL;
        };
    return new BerthException(code, line);
  }

  /** As {@link #translate}, a NOT_FOUND being an exec's. */
  static Throwable translateExec(Throwable t) {
    Throwable c = translate(t);
    if (c instanceof BerthException b && b.code() == BerthException.Code.NOT_FOUND) {
      return b.withReason(BerthException.Reason.EXEC_NOT_FOUND);
    }
    return c;
  }

  static <T> CompletionStage<T> translatedExec(CompletionStage<T> stage) {
    CompletableFuture<T> out = new CompletableFuture<>();
    stage.whenComplete(
        (v, e) -> {
          if (e != null) out.completeExceptionally(translateExec(e));
          else out.complete(v);
        });
    return out;
  }

  static <T> CompletionStage<T> translated(CompletionStage<T> stage) {
    CompletableFuture<T> out = new CompletableFuture<>();
    stage.whenComplete(
        (v, e) -> {
          if (e != null) out.completeExceptionally(translate(e));
          else out.complete(v);
        });
    return out;
  }
}
