package dev.berth.daemon;

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
import dev.berth.daemon.grpc.GrpcErrors;
import dev.berth.daemon.grpc.SourceToStream;
import dev.berth.engine.Images;
import dev.berth.images.Puller;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * berth.v1.Images: each call is translated into a call of the {@link Images} facade and its answer
 * back ({@link Protos}). The Pull stream is a Source ({@link PullProgressSource}) served by {@link
 * SourceToStream}.
 */
final class ImagesService extends ImagesGrpc.ImagesImplBase {
  private final Images images;
  private final Puller puller;
  private final SourceToStream streams;
  private final Executor blocking;

  ImagesService(Images images, Puller puller, SourceToStream streams, Executor blocking) {
    this.images = images;
    this.puller = puller;
    this.streams = streams;
    this.blocking = blocking;
  }

  @Override
  public void pull(PullRequest r, StreamObserver<PullProgress> out) {
    streams.serve(PullProgressSource.of(puller, r, blocking), out);
  }

  @Override
  public void login(LoginRequest r, StreamObserver<LoginReply> out) {
    complete(
        images.login(r.getServer(), r.getUsername(), r.getPassword()),
        registry -> LoginReply.newBuilder().setRegistry(registry).build(),
        out);
  }

  @Override
  public void logout(LogoutRequest r, StreamObserver<LogoutReply> out) {
    complete(
        images.logout(r.getServer()),
        removed -> LogoutReply.newBuilder().setRemoved(removed).build(),
        out);
  }

  @Override
  public void prune(PruneImagesRequest r, StreamObserver<PruneImagesReply> out) {
    complete(images.prune(r.getAll()), Protos::pruneReply, out);
  }

  @Override
  public void importImage(ImportRequest r, StreamObserver<ImportReply> out) {
    complete(images.importImage(r.getPath(), r.getName()), Protos::importReply, out);
  }

  @Override
  public void saveImage(SaveRequest r, StreamObserver<SaveReply> out) {
    complete(
        images.save(r.getRef(), r.getPath()),
        i -> SaveReply.newBuilder().setImage(Protos.image(i)).build(),
        out);
  }

  @Override
  public void list(ListImagesRequest r, StreamObserver<ListImagesReply> out) {
    out.onNext(Protos.listImagesReply(images.list()));
    out.onCompleted();
  }

  @Override
  public void remove(RemoveImageRequest r, StreamObserver<RemoveImageReply> out) {
    complete(
        images.remove(r.getRef(), r.getForce()),
        removed -> RemoveImageReply.newBuilder().addAllRemoved(removed).build(),
        out);
  }

  private static <T, R> void complete(
      CompletionStage<T> stage, Function<T, R> translate, StreamObserver<R> out) {
    stage.whenComplete(
        (v, err) -> {
          if (err != null) {
            out.onError(GrpcErrors.toStatus(err));
          } else {
            out.onNext(translate.apply(v));
            out.onCompleted();
          }
        });
  }
}
