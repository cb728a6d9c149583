package dev.berth.daemon;

import dev.berth.actors.ContainerSupervisor;
import dev.berth.api.v1.ImagesGrpc;
import dev.berth.api.v1.ImportReply;
import dev.berth.api.v1.ImportRequest;
import dev.berth.api.v1.ListImagesReply;
import dev.berth.api.v1.ListImagesRequest;
import dev.berth.api.v1.RemoveImageReply;
import dev.berth.api.v1.RemoveImageRequest;
import dev.berth.core.BerthException;
import dev.berth.images.ImageException;
import dev.berth.images.ImageRecord;
import dev.berth.images.ImageStore;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/** berth.v1.Images: translates calls to the image store (blocking work off the gRPC threads). */
final class ImagesService extends ImagesGrpc.ImagesImplBase {
  private final ActorSystem<?> system;
  private final ActorRef<ContainerSupervisor.Command> supervisor;
  private final ImageStore images;
  private final Executor blocking;

  ImagesService(ActorSystem<?> system, ActorRef<ContainerSupervisor.Command> supervisor, ImageStore images, Executor blocking) {
    this.system = system;
    this.supervisor = supervisor;
    this.images = images;
    this.blocking = blocking;
  }

  @Override
  public void importImage(ImportRequest r, StreamObserver<ImportReply> out) {
    CompletableFuture.supplyAsync(() -> {
      if (r.getPath().isBlank()) throw BerthException.invalid("a path to an OCI layout or docker archive is required");
      try {
        List<ImageRecord> got = images.importImage(Path.of(r.getPath()), r.getName().isBlank() ? null : r.getName());
        ImportReply.Builder b = ImportReply.newBuilder();
        got.forEach(i -> b.addImages(Protos.image(i)));
        return b.build();
      } catch (ImageException e) {
        throw BerthException.invalid(e.getMessage());
      }
    }, blocking).whenComplete((v, err) -> finish(v, err, out));
  }

  @Override
  public void list(ListImagesRequest r, StreamObserver<ListImagesReply> out) {
    ListImagesReply.Builder b = ListImagesReply.newBuilder();
    images.list().forEach(i -> b.addImages(Protos.image(i)));
    out.onNext(b.build());
    out.onCompleted();
  }

  @Override
  public void remove(RemoveImageRequest r, StreamObserver<RemoveImageReply> out) {
    AskPattern.ask(supervisor, (ActorRef<Set<String>> to) -> new ContainerSupervisor.ImagesInUse(to),
            Duration.ofSeconds(30), system.scheduler())
        .thenApplyAsync(inUse -> {
          try {
            return RemoveImageReply.newBuilder().addAllRemoved(images.remove(r.getRef(), r.getForce(), inUse::contains)).build();
          } catch (ImageException e) {
            throw images.resolve(r.getRef()).isEmpty() ? BerthException.notFound(e.getMessage()) : BerthException.precondition(e.getMessage());
          }
        }, blocking)
        .whenComplete((v, err) -> finish(v, err, out));
  }

  private static <T> void finish(T v, Throwable err, StreamObserver<T> out) {
    if (err != null) {
      out.onError(GrpcErrors.toStatus(err));
    } else {
      out.onNext(v);
      out.onCompleted();
    }
  }
}
