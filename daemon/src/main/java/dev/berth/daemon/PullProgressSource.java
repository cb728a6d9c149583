package dev.berth.daemon;

import dev.berth.api.v1.PullImageRequest;
import dev.berth.api.v1.PullImageResponse;
import dev.berth.engine.Images;
import dev.berth.images.ImageException;
import dev.berth.images.ImageRecord;
import dev.berth.images.Puller;
import dev.berth.images.RegistryCredentials;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A registry pull as a Source of its progress messages, ending with the image (or failing with the
 * pull's error). Running the Source starts the pull on {@code blocking}; cancelling it does not
 * stop the pull (whatever it fetches serves the next one), it only stops the reporting.
 */
final class PullProgressSource {
  private PullProgressSource() {}

  static Source<PullImageResponse, ?> of(Puller puller, PullImageRequest r, Executor blocking) {
    return Source.fromMaterializer(
        (materializer, attributes) -> {
          Backlog backlog = new Backlog();
          CompletableFuture.runAsync(() -> pull(puller, r, backlog), blocking)
              .whenComplete(
                  (done, error) -> {
                    if (error != null) backlog.end(error); // an Error pull() does not catch
                  });
          return Source.unfoldResourceAsync(
              () -> CompletableFuture.completedFuture(backlog), Backlog::next, Backlog::close);
        });
  }

  private static void pull(Puller puller, PullImageRequest r, Backlog backlog) {
    try {
      RegistryCredentials.Credentials creds =
          r.hasAuth() && !r.getAuth().getUsername().isEmpty()
              ? new RegistryCredentials.Credentials(
                  r.getAuth().getUsername(), r.getAuth().getPassword())
              : null;
      ImageRecord img =
          puller.pull(
              r.getRef(),
              Puller.Platform.parse(r.getPlatform()),
              creds,
              (id, status, current, total) ->
                  backlog.add(
                      PullImageResponse.newBuilder()
                          .setId(id)
                          .setStatus(status)
                          .setCurrent(current)
                          .setTotal(total)
                          .build()));
      backlog.add(PullImageResponse.newBuilder().setImage(Protos.image(img)).build());
      backlog.end(null);
    } catch (ImageException e) {
      backlog.end(Images.error(e));
    } catch (RuntimeException e) {
      backlog.end(e);
    }
  }

  /**
   * Progress the client has not taken yet. The puller's threads never wait for the client: a client
   * that reads slower than the pull reports gets the latest count of a phase rather than every
   * count (a layer's message replaces its waiting one of the same status), so the backlog holds at
   * most a few messages per layer.
   */
  static final class Backlog {
    private final List<PullImageResponse> waiting = new ArrayList<>();

    /** The Source's pull that found the backlog empty, completed by the next message. */
    private CompletableFuture<Optional<PullImageResponse>> taker;

    private boolean ended;
    private Throwable failure;

    /** The Source was cancelled or ended: nobody takes messages any more. */
    private boolean closed;

    void add(PullImageResponse p) {
      CompletableFuture<Optional<PullImageResponse>> handOver;
      synchronized (this) {
        if (closed || ended) return;
        handOver = taker;
        taker = null;
        if (handOver == null) {
          queue(p);
          return;
        }
      }
      handOver.complete(Optional.of(p)); // outside the monitor: it runs the stream's callback
    }

    private void queue(PullImageResponse p) {
      if (!p.getId().isEmpty()) {
        for (int i = waiting.size() - 1; i >= 0; i--) {
          PullImageResponse older = waiting.get(i);
          if (older.getId().equals(p.getId())) {
            if (older.getStatus().equals(p.getStatus())) {
              waiting.set(i, p);
              return;
            }
            break; // the layer moved on to another status: keep both
          }
        }
      }
      waiting.add(p);
    }

    /** The end of the pull: {@code error} null when it succeeded. */
    void end(Throwable error) {
      CompletableFuture<Optional<PullImageResponse>> handOver;
      synchronized (this) {
        if (ended) return;
        ended = true;
        failure = error;
        handOver = taker;
        taker = null;
      }
      if (handOver == null) return;
      if (error != null) handOver.completeExceptionally(error);
      else handOver.complete(Optional.empty());
    }

    synchronized CompletionStage<Optional<PullImageResponse>> next() {
      if (!waiting.isEmpty())
        return CompletableFuture.completedFuture(Optional.of(waiting.remove(0)));
      if (ended) {
        return failure != null
            ? CompletableFuture.failedFuture(failure)
            : CompletableFuture.completedFuture(Optional.empty());
      }
      taker = new CompletableFuture<>();
      return taker;
    }

    CompletionStage<Done> close() {
      CompletableFuture<Optional<PullImageResponse>> handOver;
      synchronized (this) {
        closed = true;
        waiting.clear();
        handOver = taker;
        taker = null;
      }
      if (handOver != null) handOver.complete(Optional.empty()); // a take the cancel overtook
      return CompletableFuture.completedFuture(Done.getInstance());
    }
  }
}
