package dev.berth.cli;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import dev.berth.api.test.v1.CreateContainerWithFailpointsRequest;
import dev.berth.api.test.v1.CreateContainerWithFailpointsResponse;
import dev.berth.api.test.v1.FailpointsServiceGrpc;
import dev.berth.api.v1.Container;
import dev.berth.api.v1.ContainerLogsRequest;
import dev.berth.api.v1.ContainerLogsResponse;
import dev.berth.api.v1.ContainerState;
import dev.berth.api.v1.ContainersServiceGrpc;
import dev.berth.api.v1.CreateContainerRequest;
import dev.berth.api.v1.CreateContainerResponse;
import dev.berth.api.v1.CreateExecRequest;
import dev.berth.api.v1.CreateExecResponse;
import dev.berth.api.v1.DeleteContainerRequest;
import dev.berth.api.v1.DeleteContainerResponse;
import dev.berth.api.v1.Event;
import dev.berth.api.v1.EventsServiceGrpc;
import dev.berth.api.v1.Exec;
import dev.berth.api.v1.ExecExited;
import dev.berth.api.v1.ExecServiceGrpc;
import dev.berth.api.v1.ExecStarted;
import dev.berth.api.v1.ExecState;
import dev.berth.api.v1.GetVersionRequest;
import dev.berth.api.v1.GetVersionResponse;
import dev.berth.api.v1.Image;
import dev.berth.api.v1.ImagesServiceGrpc;
import dev.berth.api.v1.ImportImageRequest;
import dev.berth.api.v1.ImportImageResponse;
import dev.berth.api.v1.InspectContainerRequest;
import dev.berth.api.v1.InspectContainerResponse;
import dev.berth.api.v1.InspectExecRequest;
import dev.berth.api.v1.InspectExecResponse;
import dev.berth.api.v1.KillContainerRequest;
import dev.berth.api.v1.KillContainerResponse;
import dev.berth.api.v1.KillExecRequest;
import dev.berth.api.v1.KillExecResponse;
import dev.berth.api.v1.ListContainersRequest;
import dev.berth.api.v1.ListContainersResponse;
import dev.berth.api.v1.ListEventsRequest;
import dev.berth.api.v1.ListEventsResponse;
import dev.berth.api.v1.ListExecsRequest;
import dev.berth.api.v1.ListExecsResponse;
import dev.berth.api.v1.ListImagesRequest;
import dev.berth.api.v1.ListImagesResponse;
import dev.berth.api.v1.PullImageRequest;
import dev.berth.api.v1.PullImageResponse;
import dev.berth.api.v1.RemoveImageRequest;
import dev.berth.api.v1.RemoveImageResponse;
import dev.berth.api.v1.SaveImageRequest;
import dev.berth.api.v1.SaveImageResponse;
import dev.berth.api.v1.StartContainerRequest;
import dev.berth.api.v1.StartContainerResponse;
import dev.berth.api.v1.StartExecRequest;
import dev.berth.api.v1.StartExecResponse;
import dev.berth.api.v1.StopContainerRequest;
import dev.berth.api.v1.StopContainerResponse;
import dev.berth.api.v1.SubscribeEventsRequest;
import dev.berth.api.v1.SubscribeEventsResponse;
import dev.berth.api.v1.SystemServiceGrpc;
import dev.berth.api.v1.WaitContainerRequest;
import dev.berth.api.v1.WaitContainerResponse;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A real grpc-java server on a unix socket with scripted berth.v1 services (and the test-only
 * FailpointsService): it records every request and answers with canned replies, or with a status
 * set per method.
 */
final class FakeBerthd implements AutoCloseable {
  static final String ID = "4f3c2b1a00112233445566778899aabbccddeeff00112233445566778899aabb";
  static final String EXEC_ID = ID + ".e1";

  final List<Object> requests = new CopyOnWriteArrayList<>();

  /** Method name (e.g. "StartContainer") → the error it answers with. */
  final Map<String, StatusRuntimeException> failures = new ConcurrentHashMap<>();

  volatile List<Container> containers = List.of();
  volatile List<ContainerLogsResponse> logs = List.of();

  /** Status the ContainerLogs stream ends with instead of completing (e.g. NOT_FOUND). */
  volatile Status logsEnd;

  volatile int exitCode;
  volatile List<Image> images = List.of();
  volatile List<String> removed = List.of();

  /** Largest page ListContainers, ListImages and ListEvents answer (to test paging). */
  volatile int pageSize = 100;

  /** Whether the daemon was "started with --enable-failpoints". */
  volatile boolean failpointsServed = true;

  /** Execs ListExecs answers. */
  volatile List<Exec> execs = List.of();

  /**
   * What an attached StartExec answers after `started` (stdout/stderr/exited messages); with stdin
   * attached, the collected stdin is echoed as stdout first, once close_stdin came.
   */
  volatile List<StartExecResponse> execOutput = List.of();

  /** An attached StartExec that ends after its output without an `exited` message. */
  volatile boolean execEndsWithoutExit;

  /** With stdin attached: read the first request only, then answer exited after this delay. */
  volatile long execStallMillis;

  /** The stdin requests an attached exec received after its first request. */
  final List<StartExecRequest> stdinRequests = new CopyOnWriteArrayList<>();

  /** WaitContainer answers only once the container was started, as berthd does. */
  final CountDownLatch started = new CountDownLatch(1);

  private final EventLoopGroup boss = new EpollEventLoopGroup(1);
  private final EventLoopGroup workers = new EpollEventLoopGroup(2);
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final Server server;
  final Path socket;

  FakeBerthd(Path socket) throws IOException {
    this.socket = socket;
    this.server =
        NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollServerDomainSocketChannel.class)
            .bossEventLoopGroup(boss)
            .workerEventLoopGroup(workers)
            .addService(new SystemService())
            .addService(new Containers())
            .addService(new Execs())
            .addService(new Events())
            .addService(new Images())
            .addService(new Failpoints())
            .build()
            .start();
  }

  /** The status a berthd answers with: a message and an ErrorInfo with the reason. */
  static StatusRuntimeException error(Status.Code code, String reason, String message) {
    return StatusProto.toStatusRuntimeException(
        com.google.rpc.Status.newBuilder()
            .setCode(code.value())
            .setMessage(message)
            .addDetails(
                Any.pack(ErrorInfo.newBuilder().setReason(reason).setDomain("berth.dev").build()))
            .build());
  }

  <T> List<T> requests(Class<T> type) {
    List<T> out = new ArrayList<>();
    for (Object r : requests) if (type.isInstance(r)) out.add(type.cast(r));
    return out;
  }

  List<String> methods() {
    List<String> out = new ArrayList<>();
    for (Object r : requests) out.add(r.getClass().getSimpleName().replace("Request", ""));
    return out;
  }

  private boolean failed(String method, StreamObserver<?> obs) {
    StatusRuntimeException st = failures.get(method);
    if (st == null) return false;
    obs.onError(st);
    return true;
  }

  private <T> void reply(StreamObserver<T> obs, T value) {
    obs.onNext(value);
    obs.onCompleted();
  }

  private Container find(String ref) {
    for (Container c : containers) {
      if (c.getId().equals(ref) || c.getName().equals(ref) || c.getId().startsWith(ref)) return c;
    }
    return null;
  }

  private static int offset(String token) {
    return token.isEmpty() ? 0 : Integer.parseInt(token);
  }

  private <T> List<T> page(List<T> all, String token) {
    int from = offset(token);
    return all.subList(from, Math.min(all.size(), from + pageSize));
  }

  private String next(List<?> all, String token) {
    int to = offset(token) + pageSize;
    return to >= all.size() ? "" : Integer.toString(to);
  }

  volatile List<Event> events = List.of();

  private final class SystemService extends SystemServiceGrpc.SystemServiceImplBase {
    @Override
    public void getVersion(GetVersionRequest req, StreamObserver<GetVersionResponse> obs) {
      requests.add(req);
      if (failed("GetVersion", obs)) return;
      reply(
          obs,
          GetVersionResponse.newBuilder()
              .setVersion("0.1.0")
              .setApiVersion("berth.v1")
              .setRuntime("runc")
              .setRuntimeVersion("1.1.12")
              .setRoot("/var/lib/berth")
              .setState("/run/berth")
              .build());
    }
  }

  private final class Events extends EventsServiceGrpc.EventsServiceImplBase {
    @Override
    public void subscribeEvents(
        SubscribeEventsRequest req, StreamObserver<SubscribeEventsResponse> obs) {
      requests.add(req);
      if (failed("SubscribeEvents", obs)) return;
      for (Event e : events) {
        if (e.getSeq() > req.getSinceSeq())
          obs.onNext(SubscribeEventsResponse.newBuilder().setEvent(e).build());
      }
      obs.onCompleted();
    }

    @Override
    public void listEvents(ListEventsRequest req, StreamObserver<ListEventsResponse> obs) {
      requests.add(req);
      if (failed("ListEvents", obs)) return;
      ListEventsResponse.Builder page = ListEventsResponse.newBuilder();
      long last = req.getSinceSeq();
      for (Event e : events) {
        if (e.getSeq() <= req.getSinceSeq()) continue;
        if (page.getEventsCount() == Math.min(pageSize, req.getPageSize())) {
          page.setMore(true);
          break;
        }
        page.addEvents(e);
        last = e.getSeq();
      }
      reply(obs, page.setNextSinceSeq(last).build());
    }
  }

  private Container created(CreateContainerRequest req) {
    return Container.newBuilder()
        .setId(ID)
        .setName(req.getName().isEmpty() ? "brave_turing" : req.getName())
        .setImage(req.getImage())
        .setState(ContainerState.CONTAINER_STATE_CREATED)
        .build();
  }

  private final class Containers extends ContainersServiceGrpc.ContainersServiceImplBase {
    @Override
    public void createContainer(
        CreateContainerRequest req, StreamObserver<CreateContainerResponse> obs) {
      requests.add(req);
      if (failures.containsKey("CreateContainer")) {
        obs.onError(failures.remove("CreateContainer")); // once: a retry succeeds
        return;
      }
      reply(obs, CreateContainerResponse.newBuilder().setContainer(created(req)).build());
    }

    @Override
    public void startContainer(
        StartContainerRequest req, StreamObserver<StartContainerResponse> obs) {
      requests.add(req);
      if (failed("StartContainer", obs)) return;
      started.countDown();
      reply(
          obs,
          StartContainerResponse.newBuilder()
              .setContainer(
                  Container.newBuilder().setId(ID).setState(ContainerState.CONTAINER_STATE_RUNNING))
              .build());
    }

    @Override
    public void killContainer(KillContainerRequest req, StreamObserver<KillContainerResponse> obs) {
      requests.add(req);
      if (failed("KillContainer", obs)) return;
      reply(obs, KillContainerResponse.getDefaultInstance());
    }

    @Override
    public void stopContainer(StopContainerRequest req, StreamObserver<StopContainerResponse> obs) {
      requests.add(req);
      if (failed("StopContainer", obs)) return;
      reply(obs, StopContainerResponse.getDefaultInstance());
    }

    @Override
    public void deleteContainer(
        DeleteContainerRequest req, StreamObserver<DeleteContainerResponse> obs) {
      requests.add(req);
      if (failed("DeleteContainer", obs)) return;
      reply(
          obs,
          DeleteContainerResponse.newBuilder()
              .setContainer(Container.newBuilder().setId(ID))
              .build());
    }

    @Override
    public void listContainers(
        ListContainersRequest req, StreamObserver<ListContainersResponse> obs) {
      requests.add(req);
      if (failed("ListContainers", obs)) return;
      List<Container> shown = new ArrayList<>();
      for (Container c : containers) {
        if (req.getAll() || c.getState() == ContainerState.CONTAINER_STATE_RUNNING) shown.add(c);
      }
      reply(
          obs,
          ListContainersResponse.newBuilder()
              .addAllContainers(page(shown, req.getPageToken()))
              .setNextPageToken(next(shown, req.getPageToken()))
              .build());
    }

    @Override
    public void inspectContainer(
        InspectContainerRequest req, StreamObserver<InspectContainerResponse> obs) {
      requests.add(req);
      if (failed("InspectContainer", obs)) return;
      Container c = find(req.getRef());
      if (c == null)
        obs.onError(
            error(
                Status.Code.NOT_FOUND,
                "CONTAINER_NOT_FOUND",
                "no such container: " + req.getRef()));
      else reply(obs, InspectContainerResponse.newBuilder().setContainer(c).build());
    }

    @Override
    public void waitContainer(WaitContainerRequest req, StreamObserver<WaitContainerResponse> obs) {
      requests.add(req);
      if (failed("WaitContainer", obs)) return;
      try {
        started.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      reply(
          obs,
          WaitContainerResponse.newBuilder()
              .setId(ID)
              .setExitCode(exitCode)
              .setFinishedAt(com.google.protobuf.Timestamp.newBuilder().setSeconds(1704067200))
              .build());
    }

    @Override
    public void containerLogs(ContainerLogsRequest req, StreamObserver<ContainerLogsResponse> obs) {
      requests.add(req);
      if (failed("ContainerLogs", obs)) return;
      for (ContainerLogsResponse e : logs) obs.onNext(e);
      if (logsEnd != null) obs.onError(logsEnd.asRuntimeException());
      else obs.onCompleted();
    }
  }

  private final class Execs extends ExecServiceGrpc.ExecServiceImplBase {
    private volatile CreateExecRequest created;

    @Override
    public void createExec(CreateExecRequest req, StreamObserver<CreateExecResponse> obs) {
      requests.add(req);
      if (failed("CreateExec", obs)) return;
      created = req;
      reply(
          obs,
          CreateExecResponse.newBuilder()
              .setExec(
                  Exec.newBuilder()
                      .setId(EXEC_ID)
                      .setContainerId(ID)
                      .setState(ExecState.EXEC_STATE_CREATED)
                      .addAllArgs(req.getArgsList())
                      .setAttachStdin(req.getAttachStdin()))
              .build());
    }

    @Override
    public StreamObserver<StartExecRequest> startExec(StreamObserver<StartExecResponse> obs) {
      ServerCallStreamObserver<StartExecResponse> call =
          (ServerCallStreamObserver<StartExecResponse>) obs;
      boolean stall = execStallMillis > 0;
      if (stall) {
        call.disableAutoRequest();
        call.request(1); // the first request only: stdin then waits in the transport
      }
      ByteArrayOutputStream stdin = new ByteArrayOutputStream();
      return new StreamObserver<>() {
        private boolean first = true;
        private boolean done;

        @Override
        public void onNext(StartExecRequest req) {
          if (done) return;
          if (first) {
            first = false;
            requests.add(req);
            if (failed("StartExec", obs)) {
              done = true;
              return;
            }
            obs.onNext(
                StartExecResponse.newBuilder()
                    .setStarted(ExecStarted.newBuilder().setPid(4242))
                    .build());
            if (req.getDetach()) {
              done = true;
              obs.onCompleted();
            } else if (stall) {
              timer.schedule(
                  () -> {
                    synchronized (this) {
                      exited();
                    }
                  },
                  execStallMillis,
                  TimeUnit.MILLISECONDS);
            } else if (!created.getAttachStdin()) {
              finish(ByteString.EMPTY);
            }
            return;
          }
          stdinRequests.add(req);
          stdin.writeBytes(req.getStdin().toByteArray());
          if (req.getCloseStdin()) finish(ByteString.copyFrom(stdin.toByteArray()));
        }

        private void finish(ByteString echo) {
          done = true;
          if (!echo.isEmpty()) obs.onNext(StartExecResponse.newBuilder().setStdout(echo).build());
          for (StartExecResponse r : execOutput) obs.onNext(r);
          if (execEndsWithoutExit) obs.onCompleted();
          else exited();
        }

        private void exited() {
          done = true;
          obs.onNext(
              StartExecResponse.newBuilder()
                  .setExited(ExecExited.newBuilder().setExitCode(exitCode))
                  .build());
          obs.onCompleted();
        }

        @Override
        public void onError(Throwable t) {
          requests.add(Status.fromThrowable(t).getCode());
        }

        @Override
        public void onCompleted() {}
      };
    }

    @Override
    public void killExec(KillExecRequest req, StreamObserver<KillExecResponse> obs) {
      requests.add(req);
      if (failed("KillExec", obs)) return;
      reply(obs, KillExecResponse.getDefaultInstance());
    }

    @Override
    public void inspectExec(InspectExecRequest req, StreamObserver<InspectExecResponse> obs) {
      requests.add(req);
      if (failed("InspectExec", obs)) return;
      for (Exec e : execs) {
        if (e.getId().equals(req.getExecId())) {
          reply(obs, InspectExecResponse.newBuilder().setExec(e).build());
          return;
        }
      }
      obs.onError(
          error(Status.Code.NOT_FOUND, "EXEC_NOT_FOUND", "no such exec: " + req.getExecId()));
    }

    @Override
    public void listExecs(ListExecsRequest req, StreamObserver<ListExecsResponse> obs) {
      requests.add(req);
      if (failed("ListExecs", obs)) return;
      reply(obs, ListExecsResponse.newBuilder().addAllExecs(execs).build());
    }
  }

  private final class Images extends ImagesServiceGrpc.ImagesServiceImplBase {
    @Override
    public void importImage(ImportImageRequest req, StreamObserver<ImportImageResponse> obs) {
      requests.add(req);
      if (failed("ImportImage", obs)) return;
      reply(obs, ImportImageResponse.newBuilder().addAllImages(images).build());
    }

    @Override
    public void saveImage(SaveImageRequest req, StreamObserver<SaveImageResponse> obs) {
      requests.add(req);
      if (failed("SaveImage", obs)) return;
      reply(obs, SaveImageResponse.getDefaultInstance());
    }

    @Override
    public void listImages(ListImagesRequest req, StreamObserver<ListImagesResponse> obs) {
      requests.add(req);
      if (failed("ListImages", obs)) return;
      reply(
          obs,
          ListImagesResponse.newBuilder()
              .addAllImages(page(images, req.getPageToken()))
              .setNextPageToken(next(images, req.getPageToken()))
              .build());
    }

    @Override
    public void removeImage(RemoveImageRequest req, StreamObserver<RemoveImageResponse> obs) {
      requests.add(req);
      if (failed("RemoveImage", obs)) return;
      reply(obs, RemoveImageResponse.newBuilder().addAllRemoved(removed).build());
    }

    @Override
    public void pullImage(PullImageRequest req, StreamObserver<PullImageResponse> obs) {
      requests.add(req);
      if (failed("PullImage", obs)) return;
      obs.onNext(
          PullImageResponse.newBuilder().setStatus("latest: Pulling from library/busybox").build());
      obs.onNext(
          PullImageResponse.newBuilder()
              .setImage(Image.newBuilder().setId("sha256:" + "1".repeat(64)))
              .build());
      obs.onCompleted();
    }
  }

  private final class Failpoints extends FailpointsServiceGrpc.FailpointsServiceImplBase {
    @Override
    public void createContainerWithFailpoints(
        CreateContainerWithFailpointsRequest req,
        StreamObserver<CreateContainerWithFailpointsResponse> obs) {
      if (!failpointsServed) {
        // What grpc answers for a service the server does not have.
        obs.onError(
            Status.UNIMPLEMENTED
                .withDescription(
                    "Method not found: berth.test.v1.FailpointsService/CreateContainerWithFailpoints")
                .asRuntimeException());
        return;
      }
      requests.add(req);
      reply(
          obs,
          CreateContainerWithFailpointsResponse.newBuilder()
              .setContainer(created(req.getContainer()))
              .build());
    }
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    timer.shutdownNow();
    boss.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
  }
}
