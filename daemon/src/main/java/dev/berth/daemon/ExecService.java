package dev.berth.daemon;

import dev.berth.api.v1.CreateExecRequest;
import dev.berth.api.v1.CreateExecResponse;
import dev.berth.api.v1.ExecServiceGrpc;
import dev.berth.api.v1.InspectExecRequest;
import dev.berth.api.v1.InspectExecResponse;
import dev.berth.api.v1.KillExecRequest;
import dev.berth.api.v1.KillExecResponse;
import dev.berth.api.v1.ListExecsRequest;
import dev.berth.api.v1.ListExecsResponse;
import dev.berth.api.v1.StartExecRequest;
import dev.berth.api.v1.StartExecResponse;
import dev.berth.core.BerthException;
import dev.berth.daemon.grpc.GrpcErrors;
import dev.berth.daemon.grpc.SourceToStream;
import dev.berth.engine.Execs;
import dev.berth.task.ExecChunk;
import dev.berth.task.ExecInput;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

/**
 * berth.v1.ExecService: each call is translated into a request to the {@link Execs} facade and its
 * answer back ({@link ExecProtos}). StartExec's output is the facade's Source served by {@link
 * SourceToStream} (grpc's flow control as its back-pressure, a client that goes away cancels it,
 * which kills an attached process); its stdin side is flow controlled too: the next request is
 * asked for only when the previous one's bytes were taken by the stream to the shim, and a chunk
 * over 1 MiB ends the call (INVALID_ARGUMENT, field {@code stdin}).
 */
public final class ExecService extends ExecServiceGrpc.ExecServiceImplBase {
  private final Execs execs;
  private final SourceToStream streams;

  public ExecService(Execs execs, SourceToStream streams) {
    this.execs = execs;
    this.streams = streams;
  }

  @Override
  public void createExec(CreateExecRequest r, StreamObserver<CreateExecResponse> out) {
    complete(execs.create(ExecProtos.create(r)), ExecProtos::created, out);
  }

  @Override
  public StreamObserver<StartExecRequest> startExec(StreamObserver<StartExecResponse> out) {
    Inbound in = new Inbound((ServerCallStreamObserver<StartExecResponse>) out);
    streams.serve(in.output(execs).map(ExecProtos::response), out);
    return in;
  }

  @Override
  public void killExec(KillExecRequest r, StreamObserver<KillExecResponse> out) {
    complete(execs.kill(r.getExecId(), r.getSignal()), ExecProtos::killed, out);
  }

  @Override
  public void inspectExec(InspectExecRequest r, StreamObserver<InspectExecResponse> out) {
    complete(execs.inspect(r.getExecId()), ExecProtos::inspected, out);
  }

  @Override
  public void listExecs(ListExecsRequest r, StreamObserver<ListExecsResponse> out) {
    complete(execs.list(r.getContainer()), ExecProtos::listed, out);
  }

  private static <T, R> void complete(
      CompletionStage<T> stage, Function<T, R> translate, StreamObserver<R> out) {
    stage.whenComplete(
        (v, err) -> {
          try {
            if (err != null) {
              out.onError(GrpcErrors.toStatus(err));
            } else {
              out.onNext(translate.apply(v));
              out.onCompleted();
            }
          } catch (RuntimeException closed) {
            // the call was cancelled meanwhile: nobody to tell
          }
        });
  }

  /**
   * StartExec's requests. The first names the exec (and detach); the following ones go to the
   * process's stdin through a one-element queue: a request is asked for from grpc only after the
   * previous one was enqueued, so a client that writes faster than the process reads waits in
   * HTTP/2 flow control, not in this heap. grpc calls these methods one at a time.
   */
  static final class Inbound implements StreamObserver<StartExecRequest> {
    private final ServerCallStreamObserver<?> call;
    private final CompletableFuture<StartExecRequest> first = new CompletableFuture<>();
    private final CompletableFuture<SourceQueueWithComplete<ExecInput>> queue =
        new CompletableFuture<>();
    private final SharedKillSwitch abort = KillSwitches.shared("exec-stdin");
    private boolean firstSeen;
    private boolean ended;
    private CompletableFuture<?> lastOffer = CompletableFuture.completedFuture(null);

    Inbound(ServerCallStreamObserver<?> call) {
      this.call = call;
      call.disableAutoRequest();
      call.request(1);
    }

    /** The exec's output, once the first request named it. */
    Source<ExecChunk, NotUsed> output(Execs execs) {
      Source<ExecInput, NotUsed> stdin =
          Source.<ExecInput>queue(1, OverflowStrategy.backpressure())
              .mapMaterializedValue(
                  q -> {
                    queue.complete(q);
                    return NotUsed.getInstance();
                  });
      return Source.completionStageSource(
              first.thenApply(f -> execs.start(f.getExecId(), f.getDetach(), stdin)))
          .via(abort.flow())
          .mapMaterializedValue(m -> NotUsed.getInstance());
    }

    @Override
    public void onNext(StartExecRequest r) {
      if (ended) return;
      if (!firstSeen) {
        firstSeen = true;
        if (r.getExecId().isEmpty()) {
          ended = true;
          first.completeExceptionally(
              BerthException.invalidField(
                  "exec_id", "the first StartExec request must name the exec"));
          return;
        }
        first.complete(r);
        queue.thenAccept(q -> request()); // stdin is read once the stream to the shim takes it
        return;
      }
      if (r.getStdin().size() > Execs.MAX_STDIN_CHUNK) {
        ended = true;
        abort.abort(
            BerthException.invalidField(
                "stdin", "a stdin chunk is at most 1 MiB, got " + r.getStdin().size() + " bytes"));
        return;
      }
      SourceQueueWithComplete<ExecInput> q = queue.getNow(null);
      if (q == null) return; // not requested before the queue exists; cannot happen
      boolean close = r.getCloseStdin();
      CompletableFuture<QueueOfferResult> offered =
          q.offer(new ExecInput(r.getStdin().toByteArray(), close)).toCompletableFuture();
      lastOffer = offered;
      offered.whenComplete(
          (result, e) -> {
            if (close) {
              q.complete();
            } else if (e == null && result == QueueOfferResult.enqueued()) {
              request();
            }
          });
      if (close) ended = true;
    }

    @Override
    public void onError(Throwable t) {
      // the client cancelled or broke the call: SourceToStream cancels the output (which kills an
      // attached process); a start still waiting for its first request ends here
      ended = true;
      first.completeExceptionally(new CancellationException("the client cancelled the call"));
      queue.thenAccept(q -> q.fail(new CancellationException("the client cancelled the call")));
    }

    @Override
    public void onCompleted() {
      // the client sends nothing more: no more stdin (the exec itself goes on)
      if (!firstSeen) {
        first.completeExceptionally(
            BerthException.invalidField(
                "exec_id", "the first StartExec request must name the exec"));
        return;
      }
      if (ended) return;
      ended = true;
      CompletableFuture<?> pending = lastOffer;
      queue.thenAccept(q -> pending.whenComplete((v, e) -> q.complete()));
    }

    private void request() {
      try {
        call.request(1);
      } catch (RuntimeException closed) {
        // the call is over
      }
    }
  }
}
