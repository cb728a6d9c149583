package dev.berth.daemon.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.SinkQueueWithCancel;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves a Pekko {@link Source} as a grpc-java server stream, with grpc's flow control as the
 * Source's back-pressure: the next element is pulled only while the call {@code isReady()} (the
 * transport holds less than grpc's on-ready threshold, 32 KiB, unsent), so a slow or stalled client
 * holds at most {@link #PREFETCH} elements plus what the HTTP/2 windows let through, and the
 * producer behind the Source waits (a file is not read further, a shim call is not asked for more).
 * A client that cancels, hangs up or passes its deadline cancels the Source (the log file is
 * closed, the shim's exec call cancelled, the journal query stopped); a Source that fails ends the
 * call with the failure's status and its one-line message ({@link GrpcErrors}); one that completes
 * completes the call.
 *
 * <p>Call {@link #serve} from the service method itself, never from a callback: grpc accepts the
 * cancel and ready handlers only before the method returns. Work that must happen first (an ask to
 * an actor) goes into the Source, e.g. {@code Source.completionStageSource(ask…)}.
 */
public final class SourceToStream {
  /** Elements pulled ahead of the transport: enough to keep it busy, few enough to stay small. */
  static final int PREFETCH = 2;

  private static final Logger log = LoggerFactory.getLogger(SourceToStream.class);

  private final Materializer materializer;
  private final AtomicInteger running = new AtomicInteger();

  public SourceToStream(ClassicActorSystemProvider system) {
    this.materializer = Materializer.matFromSystem(system);
  }

  /**
   * Sources materialized by this bridge that have not terminated yet (for tests and diagnostics).
   */
  public int running() {
    return running.get();
  }

  /** Streams {@code source} into the server call {@code out}; returns at once. */
  public <T> void serve(Source<T, ?> source, StreamObserver<T> out) {
    ServerCallStreamObserver<T> call = (ServerCallStreamObserver<T>) out;
    Pump<T> pump = new Pump<>(call);
    call.setOnCancelHandler(pump::cancelled);
    call.setOnReadyHandler(pump::pull);
    Pair<UniqueKillSwitch, SinkQueueWithCancel<T>> handles;
    try {
      handles =
          source
              .watchTermination(
                  (mat, terminated) -> {
                    running.incrementAndGet();
                    terminated.whenComplete((done, failure) -> running.decrementAndGet());
                    return NotUsed.getInstance();
                  })
              .viaMat(KillSwitches.single(), Keep.right())
              .toMat(
                  Sink.<T>queue().withAttributes(Attributes.inputBuffer(PREFETCH, PREFETCH)),
                  Keep.both())
              .run(materializer);
    } catch (RuntimeException e) { // the materializer is shut down: the daemon is stopping
      pump.fail(e);
      return;
    }
    pump.start(handles.first(), handles.second());
  }

  /**
   * One call's state. grpc's ready and cancel handlers run on the server's executor, the queue's
   * pulls complete on a stream thread: the monitor serializes them, and grpc's observer (which is
   * not thread-safe) is only touched while holding it.
   */
  private static final class Pump<T> {
    private final ServerCallStreamObserver<T> call;
    private UniqueKillSwitch killSwitch;
    private SinkQueueWithCancel<T> queue;

    /**
     * A pull is outstanding: the next one waits for its element (the queue allows one at a time).
     */
    private boolean pulling;

    /** The call is over (completed, failed or cancelled): nothing more is sent. */
    private boolean finished;

    Pump(ServerCallStreamObserver<T> call) {
      this.call = call;
    }

    void start(UniqueKillSwitch killSwitch, SinkQueueWithCancel<T> queue) {
      boolean cancelledMeanwhile;
      synchronized (this) {
        this.killSwitch = killSwitch;
        this.queue = queue;
        cancelledMeanwhile = finished;
      }
      if (cancelledMeanwhile) {
        killSwitch.abort(new CancellationException("the client cancelled the call"));
      } else {
        pull(); // grpc may have reported the call ready before the queue existed
      }
    }

    /** grpc's on-ready handler, and the step after each element sent. */
    void pull() {
      SinkQueueWithCancel<T> from;
      synchronized (this) {
        if (finished || pulling || queue == null || !call.isReady()) return;
        pulling = true;
        from = queue;
      }
      // The queue completes pulls from its own stage, never on this stack: no recursion.
      from.pull().whenComplete(this::deliver);
    }

    private void deliver(Optional<T> element, Throwable failure) {
      synchronized (this) {
        pulling = false;
        if (finished) return;
        try {
          if (failure != null) {
            finished = true;
            call.onError(GrpcErrors.toStatus(failure));
          } else if (element.isEmpty()) {
            finished = true;
            call.onCompleted();
          } else {
            call.onNext(element.get());
          }
        } catch (RuntimeException e) {
          // grpc refused the message (the call was closed under us, e.g. a message it could not
          // serialize): nobody can be told any more, so the Source is stopped and the cause logged.
          finished = true;
          killSwitch.abort(e);
          log.warn("a server stream ended early: grpc refused a message: {}", e.toString());
          return;
        }
        if (finished) return;
      }
      pull();
    }

    /** grpc's on-cancel handler: the client cancelled, disconnected or passed its deadline. */
    void cancelled() {
      UniqueKillSwitch stop;
      synchronized (this) {
        if (finished) return;
        finished = true;
        stop = killSwitch;
      }
      // Before start() the Source is not running yet; start() sees `finished` and aborts it.
      if (stop != null) stop.abort(new CancellationException("the client cancelled the call"));
    }

    void fail(RuntimeException e) {
      synchronized (this) {
        if (finished) return;
        finished = true;
        try {
          call.onError(GrpcErrors.toStatus(e));
        } catch (RuntimeException closed) {
          log.warn("a server stream could not report {}: {}", e, closed.toString());
        }
      }
    }
  }
}
