package dev.berth.tools.cli;

import com.google.protobuf.ByteString;
import dev.berth.api.transport.UnixSockets;
import dev.berth.api.v1.Container;
import dev.berth.api.v1.ContainerReply;
import dev.berth.api.v1.ContainersGrpc;
import dev.berth.api.v1.CreateReply;
import dev.berth.api.v1.CreateRequest;
import dev.berth.api.v1.Image;
import dev.berth.api.v1.ImagesGrpc;
import dev.berth.api.v1.InspectRequest;
import dev.berth.api.v1.ListImagesReply;
import dev.berth.api.v1.ListImagesRequest;
import dev.berth.api.v1.ListReply;
import dev.berth.api.v1.ListRequest;
import dev.berth.api.v1.LogEntry;
import dev.berth.api.v1.LogsRequest;
import dev.berth.api.v1.StartRequest;
import dev.berth.api.v1.VersionReply;
import dev.berth.api.v1.VersionRequest;
import dev.berth.api.v1.WaitReply;
import dev.berth.api.v1.WaitRequest;
import dev.berth.cli.BerthCli;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

/**
 * A stand-in berthd for the AppCDS training run only (never used otherwise): answers the calls the
 * common commands make, so the archive holds the client's successful-call code paths.
 */
final class TrainingDaemon {
  private static final String ID =
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

  private TrainingDaemon() {}

  static void exercise(PrintStream sink, Map<String, String> env) throws Exception {
    Path dir = Files.createTempDirectory("berth-cds");
    Path socket = dir.resolve("t.sock");
    // OkHttp's server on the CLI's own unix-socket adapter: the client side is the real path.
    Server server =
        UnixSockets.server(socket)
            .addService(new Containers())
            .addService(new Images())
            .build()
            .start();
    try {
      String s = socket.toString();
      BerthCli.run(new String[] {"--socket", s, "version"}, sink, sink, env, true);
      BerthCli.run(new String[] {"--socket", s, "ps", "-a"}, sink, sink, env, true);
      BerthCli.run(new String[] {"--socket", s, "ps", "--format", "json"}, sink, sink, env, true);
      BerthCli.run(new String[] {"--socket", s, "inspect", "training"}, sink, sink, env, true);
      BerthCli.run(new String[] {"--socket", s, "images"}, sink, sink, env, true);
      BerthCli.run(
          new String[] {"--socket", s, "images", "--format", "json"}, sink, sink, env, true);
      BerthCli.run(
          new String[] {"--socket", s, "run", "-d", "busybox", "true"}, sink, sink, env, true);
      BerthCli.run(
          new String[] {"--socket", s, "run", "--rm", "busybox", "echo", "hi"},
          sink,
          sink,
          env,
          true);
    } finally {
      server.shutdownNow();
      Files.deleteIfExists(socket);
      Files.deleteIfExists(dir);
    }
  }

  private static Container container() {
    String now = Instant.now().toString();
    return Container.newBuilder()
        .setId(ID)
        .setName("training")
        .setImage("busybox")
        .setState("running")
        .setPid(1)
        .setCreatedAt(now)
        .setStartedAt(now)
        .addCommand("true")
        .build();
  }

  private static final class Containers extends ContainersGrpc.ContainersImplBase {
    @Override
    public void version(VersionRequest r, StreamObserver<VersionReply> o) {
      o.onNext(
          VersionReply.newBuilder().setVersion("0").setApiVersion("v1").setRuntime("runc").build());
      o.onCompleted();
    }

    @Override
    public void list(ListRequest r, StreamObserver<ListReply> o) {
      o.onNext(ListReply.newBuilder().addContainers(container()).build());
      o.onCompleted();
    }

    @Override
    public void inspect(InspectRequest r, StreamObserver<ContainerReply> o) {
      o.onNext(ContainerReply.newBuilder().setContainer(container()).build());
      o.onCompleted();
    }

    @Override
    public void create(CreateRequest r, StreamObserver<CreateReply> o) {
      o.onNext(CreateReply.newBuilder().setContainer(container()).build());
      o.onCompleted();
    }

    @Override
    public void start(StartRequest r, StreamObserver<ContainerReply> o) {
      o.onNext(ContainerReply.newBuilder().setContainer(container()).build());
      o.onCompleted();
    }

    @Override
    public void waitExit(WaitRequest r, StreamObserver<WaitReply> o) {
      o.onNext(
          WaitReply.newBuilder()
              .setId(ID)
              .setExitCode(0)
              .setFinishedAt(Instant.now().toString())
              .build());
      o.onCompleted();
    }

    @Override
    public void logs(LogsRequest r, StreamObserver<LogEntry> o) {
      o.onNext(
          LogEntry.newBuilder()
              .setStream("stdout")
              .setTime(Instant.now().toString())
              .setData(ByteString.copyFromUtf8("hi\n"))
              .build());
      o.onCompleted();
    }
  }

  private static final class Images extends ImagesGrpc.ImagesImplBase {
    @Override
    public void list(ListImagesRequest r, StreamObserver<ListImagesReply> o) {
      o.onNext(
          ListImagesReply.newBuilder()
              .addImages(
                  Image.newBuilder()
                      .setId("sha256:" + ID)
                      .addNames("busybox:latest")
                      .setSize(4_261_000)
                      .setCreatedAt(Instant.now().toString()))
              .build());
      o.onCompleted();
    }
  }
}
