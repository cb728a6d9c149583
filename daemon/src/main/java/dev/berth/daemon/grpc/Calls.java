package dev.berth.daemon.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.stream.javadsl.Source;

/**
 * How an adapter answers a unary call from the facade's {@link CompletionStage}: translation
 * failures (a request past its limits) and the stage's failure both become the call's status.
 */
public final class Calls {
  private Calls() {}

  /** Answers {@code out} with the stage's value, translated; any failure as its status. */
  public static <T, R> void unary(
      Supplier<? extends CompletionStage<T>> call,
      Function<? super T, ? extends R> translate,
      StreamObserver<R> out) {
    start(call, translate, out, false);
  }

  /**
   * As {@link #unary}, and the client's cancel (or passed deadline) cancels the stage, which ends
   * the work behind it (a wait is removed from the daemon).
   */
  public static <T, R> void cancellable(
      Supplier<? extends CompletionStage<T>> call,
      Function<? super T, ? extends R> translate,
      StreamObserver<R> out) {
    start(call, translate, out, true);
  }

  private static <T, R> void start(
      Supplier<? extends CompletionStage<T>> call,
      Function<? super T, ? extends R> translate,
      StreamObserver<R> out,
      boolean cancellable) {
    CompletionStage<T> stage;
    try {
      stage = call.get();
    } catch (RuntimeException e) {
      out.onError(GrpcErrors.toStatus(e));
      return;
    }
    if (cancellable && out instanceof ServerCallStreamObserver<R> server) {
      server.setOnCancelHandler(() -> stage.toCompletableFuture().cancel(false));
    }
    stage.whenComplete(
        (v, err) -> {
          if (cancellable
              && out instanceof ServerCallStreamObserver<R> server
              && server.isCancelled()) {
            return; // nobody to answer
          }
          if (err != null) {
            out.onError(GrpcErrors.toStatus(err));
            return;
          }
          R reply;
          try {
            reply = translate.apply(v);
          } catch (RuntimeException e) {
            out.onError(GrpcErrors.toStatus(e));
            return;
          }
          out.onNext(reply);
          out.onCompleted();
        });
  }

  /** The Source {@code make} builds, or a failed one when building it fails. */
  public static <T> Source<T, ?> source(Supplier<? extends Source<T, ?>> make) {
    try {
      return make.get();
    } catch (RuntimeException e) {
      return Source.failed(e);
    }
  }
}
