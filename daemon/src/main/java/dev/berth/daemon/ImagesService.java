package dev.berth.daemon;

import dev.berth.api.v1.ImagesServiceGrpc;
import dev.berth.api.v1.ImportImageRequest;
import dev.berth.api.v1.ImportImageResponse;
import dev.berth.api.v1.ListImagesRequest;
import dev.berth.api.v1.ListImagesResponse;
import dev.berth.api.v1.LoginRequest;
import dev.berth.api.v1.LoginResponse;
import dev.berth.api.v1.LogoutRequest;
import dev.berth.api.v1.LogoutResponse;
import dev.berth.api.v1.PruneImagesRequest;
import dev.berth.api.v1.PruneImagesResponse;
import dev.berth.api.v1.PullImageRequest;
import dev.berth.api.v1.PullImageResponse;
import dev.berth.api.v1.RemoveImageRequest;
import dev.berth.api.v1.RemoveImageResponse;
import dev.berth.api.v1.SaveImageRequest;
import dev.berth.api.v1.SaveImageResponse;
import dev.berth.daemon.grpc.Calls;
import dev.berth.daemon.grpc.SourceToStream;
import dev.berth.engine.Images;
import dev.berth.images.Puller;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * berth.v1.ImagesService: each call is translated into a call of the {@link Images} facade and its
 * answer back ({@link Protos}). The pull stream is a Source ({@link PullProgressSource}) served by
 * {@link SourceToStream}.
 */
final class ImagesService extends ImagesServiceGrpc.ImagesServiceImplBase {
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
  public void pullImage(PullImageRequest r, StreamObserver<PullImageResponse> out) {
    streams.serve(
        Calls.source(
            () -> {
              RequestLimits.required("ref", r.getRef(), RequestLimits.IMAGE);
              RequestLimits.text("platform", r.getPlatform(), RequestLimits.PLATFORM);
              RequestLimits.text(
                  "auth.username", r.getAuth().getUsername(), RequestLimits.USERNAME);
              RequestLimits.text(
                  "auth.password", r.getAuth().getPassword(), RequestLimits.PASSWORD);
              return PullProgressSource.of(puller, r, blocking);
            }),
        out);
  }

  @Override
  public void login(LoginRequest r, StreamObserver<LoginResponse> out) {
    Calls.unary(
        () -> {
          RequestLimits.text("server", r.getServer(), RequestLimits.SERVER);
          RequestLimits.text("username", r.getUsername(), RequestLimits.USERNAME);
          RequestLimits.text("password", r.getPassword(), RequestLimits.PASSWORD);
          return images.login(r.getServer(), r.getUsername(), r.getPassword());
        },
        registry -> LoginResponse.newBuilder().setRegistry(registry).build(),
        out);
  }

  @Override
  public void logout(LogoutRequest r, StreamObserver<LogoutResponse> out) {
    Calls.unary(
        () -> images.logout(RequestLimits.text("server", r.getServer(), RequestLimits.SERVER)),
        removed -> LogoutResponse.newBuilder().setRemoved(removed).build(),
        out);
  }

  @Override
  public void pruneImages(PruneImagesRequest r, StreamObserver<PruneImagesResponse> out) {
    Calls.unary(() -> images.prune(r.getAll()), Protos::pruneResponse, out);
  }

  @Override
  public void importImage(ImportImageRequest r, StreamObserver<ImportImageResponse> out) {
    Calls.unary(
        () ->
            images.importImage(
                RequestLimits.absolutePath("path", r.getPath()),
                RequestLimits.text("name", r.getName(), RequestLimits.IMAGE)),
        list -> {
          ImportImageResponse.Builder b = ImportImageResponse.newBuilder();
          list.forEach(i -> b.addImages(Protos.image(i)));
          return b.build();
        },
        out);
  }

  @Override
  public void saveImage(SaveImageRequest r, StreamObserver<SaveImageResponse> out) {
    Calls.unary(
        () ->
            images.save(
                RequestLimits.required("ref", r.getRef(), RequestLimits.IMAGE),
                RequestLimits.absolutePath("path", r.getPath())),
        i -> SaveImageResponse.newBuilder().setImage(Protos.image(i)).build(),
        out);
  }

  @Override
  public void listImages(ListImagesRequest r, StreamObserver<ListImagesResponse> out) {
    Calls.unary(
        () -> CompletableFuture.completedFuture(images.list(Protos.listImages(r))),
        Protos::listImagesResponse,
        out);
  }

  @Override
  public void removeImage(RemoveImageRequest r, StreamObserver<RemoveImageResponse> out) {
    Calls.unary(
        () ->
            images.remove(
                RequestLimits.required("ref", r.getRef(), RequestLimits.IMAGE), r.getForce()),
        removed -> RemoveImageResponse.newBuilder().addAllRemoved(removed).build(),
        out);
  }
}
