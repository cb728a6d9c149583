package dev.berth.tools.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import dev.berth.api.transport.UnixSockets;
import dev.berth.api.v1.Container;
import dev.berth.api.v1.ContainerLogsRequest;
import dev.berth.api.v1.ContainerLogsResponse;
import dev.berth.api.v1.ContainerState;
import dev.berth.api.v1.ContainersServiceGrpc;
import dev.berth.api.v1.CreateContainerRequest;
import dev.berth.api.v1.CreateContainerResponse;
import dev.berth.api.v1.CreateExecRequest;
import dev.berth.api.v1.CreateExecResponse;
import dev.berth.api.v1.Exec;
import dev.berth.api.v1.ExecExited;
import dev.berth.api.v1.ExecServiceGrpc;
import dev.berth.api.v1.ExecStarted;
import dev.berth.api.v1.ExecState;
import dev.berth.api.v1.GetVersionRequest;
import dev.berth.api.v1.GetVersionResponse;
import dev.berth.api.v1.Image;
import dev.berth.api.v1.ImagesServiceGrpc;
import dev.berth.api.v1.InspectContainerRequest;
import dev.berth.api.v1.InspectContainerResponse;
import dev.berth.api.v1.ListContainersRequest;
import dev.berth.api.v1.ListContainersResponse;
import dev.berth.api.v1.ListImagesRequest;
import dev.berth.api.v1.ListImagesResponse;
import dev.berth.api.v1.LogStream;
import dev.berth.api.v1.StartContainerRequest;
import dev.berth.api.v1.StartContainerResponse;
import dev.berth.api.v1.StartExecRequest;
import dev.berth.api.v1.StartExecResponse;
import dev.berth.api.v1.SystemServiceGrpc;
import dev.berth.api.v1.WaitContainerRequest;
import dev.berth.api.v1.WaitContainerResponse;
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
            .addService(new SystemService())
            .addService(new Containers())
            .addService(new Execs())
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
      BerthCli.run(
          new String[] {"--socket", s, "exec", "training", "echo", "x"}, sink, sink, env, true);
    } finally {
      server.shutdownNow();
      Files.deleteIfExists(socket);
      Files.deleteIfExists(dir);
    }
  }

  private static Timestamp now() {
    Instant i = Instant.now();
    return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
  }

  private static Container container() {
    return Container.newBuilder()
        .setId(ID)
        .setName("training")
        .setImage("busybox")
        .setState(ContainerState.CONTAINER_STATE_RUNNING)
        .setPid(1)
        .setCreatedAt(now())
        .setStartedAt(now())
        .addCommand("true")
        .build();
  }

  private static final class SystemService extends SystemServiceGrpc.SystemServiceImplBase {
    @Override
    public void getVersion(GetVersionRequest r, StreamObserver<GetVersionResponse> o) {
      o.onNext(
          GetVersionResponse.newBuilder()
              .setVersion("0")
              .setApiVersion("berth.v1")
              .setRuntime("runc")
              .build());
      o.onCompleted();
    }
  }

  private static final class Containers extends ContainersServiceGrpc.ContainersServiceImplBase {
    @Override
    public void listContainers(ListContainersRequest r, StreamObserver<ListContainersResponse> o) {
      o.onNext(ListContainersResponse.newBuilder().addContainers(container()).build());
      o.onCompleted();
    }

    @Override
    public void inspectContainer(
        InspectContainerRequest r, StreamObserver<InspectContainerResponse> o) {
      o.onNext(InspectContainerResponse.newBuilder().setContainer(container()).build());
      o.onCompleted();
    }

    @Override
    public void createContainer(
        CreateContainerRequest r, StreamObserver<CreateContainerResponse> o) {
      o.onNext(CreateContainerResponse.newBuilder().setContainer(container()).build());
      o.onCompleted();
    }

    @Override
    public void startContainer(StartContainerRequest r, StreamObserver<StartContainerResponse> o) {
      o.onNext(StartContainerResponse.newBuilder().setContainer(container()).build());
      o.onCompleted();
    }

    @Override
    public void waitContainer(WaitContainerRequest r, StreamObserver<WaitContainerResponse> o) {
      o.onNext(
          WaitContainerResponse.newBuilder().setId(ID).setExitCode(0).setFinishedAt(now()).build());
      o.onCompleted();
    }

    @Override
    public void containerLogs(ContainerLogsRequest r, StreamObserver<ContainerLogsResponse> o) {
      o.onNext(
          ContainerLogsResponse.newBuilder()
              .setStream(LogStream.LOG_STREAM_STDOUT)
              .setTime(now())
              .setData(ByteString.copyFromUtf8("hi\n"))
              .build());
      o.onCompleted();
    }
  }

  /** exec: CreateExec, then an attached StartExec (started, output, exited). */
  private static final class Execs extends ExecServiceGrpc.ExecServiceImplBase {
    @Override
    public void createExec(CreateExecRequest r, StreamObserver<CreateExecResponse> o) {
      o.onNext(
          CreateExecResponse.newBuilder()
              .setExec(
                  Exec.newBuilder()
                      .setId(ID + ".e1")
                      .setContainerId(ID)
                      .setState(ExecState.EXEC_STATE_CREATED)
                      .addAllArgs(r.getArgsList()))
              .build());
      o.onCompleted();
    }

    @Override
    public StreamObserver<StartExecRequest> startExec(StreamObserver<StartExecResponse> o) {
      return new StreamObserver<>() {
        private boolean first = true;

        @Override
        public void onNext(StartExecRequest r) {
          if (!first) return;
          first = false;
          o.onNext(
              StartExecResponse.newBuilder()
                  .setStarted(ExecStarted.newBuilder().setPid(2))
                  .build());
          o.onNext(
              StartExecResponse.newBuilder().setStdout(ByteString.copyFromUtf8("x\n")).build());
          o.onNext(
              StartExecResponse.newBuilder()
                  .setExited(ExecExited.newBuilder().setExitCode(0).setFinishedAt(now()))
                  .build());
          o.onCompleted();
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }
  }

  private static final class Images extends ImagesServiceGrpc.ImagesServiceImplBase {
    @Override
    public void listImages(ListImagesRequest r, StreamObserver<ListImagesResponse> o) {
      o.onNext(
          ListImagesResponse.newBuilder()
              .addImages(
                  Image.newBuilder()
                      .setId("sha256:" + ID)
                      .addNames("busybox:latest")
                      .setSize(4_261_000)
                      .setCreatedAt(now()))
              .build());
      o.onCompleted();
    }
  }
}
