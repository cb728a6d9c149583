package dev.berth.daemon;

import dev.berth.actors.ContainerSupervisor;
import dev.berth.api.v1.ImagesGrpc;
import dev.berth.api.v1.ImportReply;
import dev.berth.api.v1.ImportRequest;
import dev.berth.api.v1.ListImagesReply;
import dev.berth.api.v1.ListImagesRequest;
import dev.berth.api.v1.LoginReply;
import dev.berth.api.v1.LoginRequest;
import dev.berth.api.v1.LogoutReply;
import dev.berth.api.v1.LogoutRequest;
import dev.berth.api.v1.PruneImagesReply;
import dev.berth.api.v1.PruneImagesRequest;
import dev.berth.api.v1.PullProgress;
import dev.berth.api.v1.PullRequest;
import dev.berth.api.v1.RemoveImageReply;
import dev.berth.api.v1.RemoveImageRequest;
import dev.berth.api.v1.SaveReply;
import dev.berth.api.v1.SaveRequest;
import dev.berth.core.BerthException;
import dev.berth.daemon.grpc.GrpcErrors;
import dev.berth.daemon.grpc.SourceToStream;
import dev.berth.images.ImageException;
import dev.berth.images.ImageRecord;
import dev.berth.images.ImageStore;
import dev.berth.images.Puller;
import dev.berth.images.RegistryCredentials;
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

/**
 * berth.v1.Images: translates calls to the image store (blocking work off the gRPC threads); the
 * Pull stream is a Source served by {@link SourceToStream}.
 */
final class ImagesService extends ImagesGrpc.ImagesImplBase {
  private final ActorSystem<?> system;
  private final ActorRef<ContainerSupervisor.Command> supervisor;
  private final ImageStore images;
  private final Puller puller;
  private final SourceToStream streams;
  private final Executor blocking;

  ImagesService(
      ActorSystem<?> system,
      ActorRef<ContainerSupervisor.Command> supervisor,
      ImageStore images,
      Puller puller,
      SourceToStream streams,
      Executor blocking) {
    this.system = system;
    this.supervisor = supervisor;
    this.images = images;
    this.puller = puller;
    this.streams = streams;
    this.blocking = blocking;
  }

  /** The status a failed image operation maps to. */
  static BerthException error(ImageException e) {
    return switch (e.reason()) {
      case INVALID -> BerthException.invalid(e.getMessage());
      case NOT_FOUND -> BerthException.notFound(e.getMessage());
      case UNAUTHORIZED -> BerthException.denied(e.getMessage());
      case UNAVAILABLE -> BerthException.unavailable(e.getMessage());
      case REFUSED -> BerthException.precondition(e.getMessage());
    };
  }

  @Override
  public void pull(PullRequest r, StreamObserver<PullProgress> out) {
    streams.serve(PullProgressSource.of(puller, r, blocking), out);
  }

  @Override
  public void login(LoginRequest r, StreamObserver<LoginReply> out) {
    CompletableFuture.supplyAsync(
            () -> {
              try {
                String registry =
                    puller.login(
                        r.getServer(),
                        new RegistryCredentials.Credentials(r.getUsername(), r.getPassword()));
                return LoginReply.newBuilder().setRegistry(registry).build();
              } catch (ImageException e) {
                throw error(e);
              }
            },
            blocking)
        .whenComplete((v, err) -> finish(v, err, out));
  }

  @Override
  public void logout(LogoutRequest r, StreamObserver<LogoutReply> out) {
    CompletableFuture.supplyAsync(
            () -> {
              try {
                boolean removed = puller.logout(r.getServer());
                return LogoutReply.newBuilder().setRemoved(removed).build();
              } catch (ImageException e) {
                throw error(e);
              }
            },
            blocking)
        .whenComplete((v, err) -> finish(v, err, out));
  }

  @Override
  public void prune(PruneImagesRequest r, StreamObserver<PruneImagesReply> out) {
    // Before the in-use check: a container recorded after the check is still seen (its create's
    // lease on the image was held until it was recorded; ImageStore#usageMark).
    long mark = images.usageMark();
    AskPattern.ask(
            supervisor,
            (ActorRef<Set<String>> to) -> new ContainerSupervisor.ImagesInUse(to),
            Duration.ofSeconds(30),
            system.scheduler())
        .thenApplyAsync(
            inUse -> {
              try {
                ImageStore.Pruned p = images.prune(r.getAll(), inUse::contains, mark);
                return PruneImagesReply.newBuilder()
                    .addAllUntagged(p.untagged())
                    .addAllDeleted(p.deleted())
                    .setReclaimedBytes(p.reclaimedBytes())
                    .build();
              } catch (ImageException e) {
                throw error(e);
              }
            },
            blocking)
        .whenComplete((v, err) -> finish(v, err, out));
  }

  @Override
  public void importImage(ImportRequest r, StreamObserver<ImportReply> out) {
    CompletableFuture.supplyAsync(
            () -> {
              if (r.getPath().isBlank())
                throw BerthException.invalid(
                    "a path to an OCI layout or docker archive is required");
              try {
                List<ImageRecord> got =
                    images.importImage(
                        Path.of(r.getPath()), r.getName().isBlank() ? null : r.getName());
                ImportReply.Builder b = ImportReply.newBuilder();
                got.forEach(i -> b.addImages(Protos.image(i)));
                return b.build();
              } catch (ImageException e) {
                throw BerthException.invalid(e.getMessage());
              }
            },
            blocking)
        .whenComplete((v, err) -> finish(v, err, out));
  }

  @Override
  public void saveImage(SaveRequest r, StreamObserver<SaveReply> out) {
    CompletableFuture.supplyAsync(
            () -> {
              if (r.getPath().isBlank() || !Path.of(r.getPath()).isAbsolute())
                throw BerthException.invalid("an absolute path to write to is required");
              try {
                return SaveReply.newBuilder()
                    .setImage(Protos.image(images.save(r.getRef(), Path.of(r.getPath()))))
                    .build();
              } catch (ImageException e) {
                throw error(e);
              }
            },
            blocking)
        .whenComplete((v, err) -> finish(v, err, out));
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
    long mark = images.usageMark(); // before the in-use check, as for prune
    AskPattern.ask(
            supervisor,
            (ActorRef<Set<String>> to) -> new ContainerSupervisor.ImagesInUse(to),
            Duration.ofSeconds(30),
            system.scheduler())
        .thenApplyAsync(
            inUse -> {
              try {
                return RemoveImageReply.newBuilder()
                    .addAllRemoved(images.remove(r.getRef(), r.getForce(), inUse::contains, mark))
                    .build();
              } catch (ImageException e) {
                throw images.resolve(r.getRef()).isEmpty()
                    ? BerthException.notFound(e.getMessage())
                    : BerthException.precondition(e.getMessage());
              }
            },
            blocking)
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
