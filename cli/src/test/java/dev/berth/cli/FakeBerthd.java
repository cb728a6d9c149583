package dev.berth.cli;

import dev.berth.api.v1.Container;
import dev.berth.api.v1.ContainerReply;
import dev.berth.api.v1.ContainersGrpc;
import dev.berth.api.v1.CreateReply;
import dev.berth.api.v1.CreateRequest;
import dev.berth.api.v1.DeleteReply;
import dev.berth.api.v1.DeleteRequest;
import dev.berth.api.v1.Event;
import dev.berth.api.v1.ExecOutput;
import dev.berth.api.v1.ExecRequest;
import dev.berth.api.v1.Image;
import dev.berth.api.v1.ImagesGrpc;
import dev.berth.api.v1.ImportReply;
import dev.berth.api.v1.ImportRequest;
import dev.berth.api.v1.InspectRequest;
import dev.berth.api.v1.KillRequest;
import dev.berth.api.v1.ListImagesReply;
import dev.berth.api.v1.ListImagesRequest;
import dev.berth.api.v1.ListReply;
import dev.berth.api.v1.ListRequest;
import dev.berth.api.v1.LogEntry;
import dev.berth.api.v1.LogsRequest;
import dev.berth.api.v1.RemoveImageReply;
import dev.berth.api.v1.RemoveImageRequest;
import dev.berth.api.v1.StartRequest;
import dev.berth.api.v1.StopRequest;
import dev.berth.api.v1.SubscribeRequest;
import dev.berth.api.v1.VersionReply;
import dev.berth.api.v1.VersionRequest;
import dev.berth.api.v1.WaitReply;
import dev.berth.api.v1.WaitRequest;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A real grpc-java server on a unix socket with scripted Containers and Images services: it records
 * every request and answers with canned replies, or with a status set per method.
 */
final class FakeBerthd implements AutoCloseable {
  static final String ID = "4f3c2b1a00112233445566778899aabbccddeeff00112233445566778899aabb";

  final List<Object> requests = new CopyOnWriteArrayList<>();

  /** Method name (e.g. "Start") → the error it answers with. */
  final Map<String, Status> failures = new ConcurrentHashMap<>();

  volatile List<Container> containers = List.of();
  volatile List<LogEntry> logs = List.of();

  /** Status the Logs stream ends with instead of completing (e.g. NOT_FOUND after --rm). */
  volatile Status logsEnd;

  volatile int exitCode;
  volatile List<ExecOutput> execOutput = List.of();
  volatile List<Image> images = List.of();
  volatile List<String> removed = List.of();

  /** WaitExit answers only once the container was started, as berthd does. */
  final CountDownLatch started = new CountDownLatch(1);

  private final EventLoopGroup boss = new EpollEventLoopGroup(1);
  private final EventLoopGroup workers = new EpollEventLoopGroup(2);
  private final Server server;
  final Path socket;

  FakeBerthd(Path socket) throws IOException {
    this.socket = socket;
    this.server =
        NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollServerDomainSocketChannel.class)
            .bossEventLoopGroup(boss)
            .workerEventLoopGroup(workers)
            .addService(new Containers())
            .addService(new Images())
            .build()
            .start();
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
    Status st = failures.get(method);
    if (st == null) return false;
    obs.onError(st.asRuntimeException());
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

  volatile List<Event> events = List.of();

  private final class Containers extends ContainersGrpc.ContainersImplBase {
    @Override
    public void subscribe(SubscribeRequest req, StreamObserver<Event> obs) {
      requests.add(req);
      if (failed("Subscribe", obs)) return;
      for (Event e : events) if (e.getSeq() > req.getSince()) obs.onNext(e);
      obs.onCompleted();
    }

    @Override
    public void version(VersionRequest req, StreamObserver<VersionReply> obs) {
      requests.add(req);
      if (failed("Version", obs)) return;
      reply(
          obs,
          VersionReply.newBuilder()
              .setVersion("0.1.0")
              .setApiVersion("v1")
              .setRuntime("runc")
              .setRuntimeVersion("1.1.12")
              .setRoot("/var/lib/berth")
              .setState("/run/berth")
              .build());
    }

    @Override
    public void create(CreateRequest req, StreamObserver<CreateReply> obs) {
      requests.add(req);
      if (failed("Create", obs)) return;
      reply(
          obs,
          CreateReply.newBuilder()
              .setContainer(
                  Container.newBuilder()
                      .setId(ID)
                      .setName(req.getName().isEmpty() ? "brave_turing" : req.getName())
                      .setImage(req.getImage())
                      .setState("created"))
              .build());
    }

    @Override
    public void start(StartRequest req, StreamObserver<ContainerReply> obs) {
      requests.add(req);
      if (failed("Start", obs)) return;
      started.countDown();
      reply(
          obs,
          ContainerReply.newBuilder()
              .setContainer(Container.newBuilder().setId(ID).setState("running"))
              .build());
    }

    @Override
    public void kill(KillRequest req, StreamObserver<ContainerReply> obs) {
      requests.add(req);
      if (failed("Kill", obs)) return;
      reply(obs, ContainerReply.getDefaultInstance());
    }

    @Override
    public void stop(StopRequest req, StreamObserver<ContainerReply> obs) {
      requests.add(req);
      if (failed("Stop", obs)) return;
      reply(obs, ContainerReply.getDefaultInstance());
    }

    @Override
    public void delete(DeleteRequest req, StreamObserver<DeleteReply> obs) {
      requests.add(req);
      if (failed("Delete", obs)) return;
      reply(obs, DeleteReply.newBuilder().setId(ID).build());
    }

    @Override
    public void list(ListRequest req, StreamObserver<ListReply> obs) {
      requests.add(req);
      if (failed("List", obs)) return;
      List<Container> shown = new ArrayList<>();
      for (Container c : containers)
        if (req.getAll() || c.getState().equals("running")) shown.add(c);
      reply(obs, ListReply.newBuilder().addAllContainers(shown).build());
    }

    @Override
    public void inspect(InspectRequest req, StreamObserver<ContainerReply> obs) {
      requests.add(req);
      if (failed("Inspect", obs)) return;
      Container c = find(req.getRef());
      if (c == null)
        obs.onError(
            Status.NOT_FOUND
                .withDescription("no such container: " + req.getRef())
                .asRuntimeException());
      else reply(obs, ContainerReply.newBuilder().setContainer(c).build());
    }

    @Override
    public void waitExit(WaitRequest req, StreamObserver<WaitReply> obs) {
      requests.add(req);
      if (failed("WaitExit", obs)) return;
      try {
        started.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      reply(
          obs,
          WaitReply.newBuilder()
              .setId(ID)
              .setExitCode(exitCode)
              .setFinishedAt("2024-01-01T00:00:00Z")
              .build());
    }

    @Override
    public void logs(LogsRequest req, StreamObserver<LogEntry> obs) {
      requests.add(req);
      if (failed("Logs", obs)) return;
      for (LogEntry e : logs) obs.onNext(e);
      if (logsEnd != null) obs.onError(logsEnd.asRuntimeException());
      else obs.onCompleted();
    }

    @Override
    public void exec(ExecRequest req, StreamObserver<ExecOutput> obs) {
      requests.add(req);
      if (failed("Exec", obs)) return;
      for (ExecOutput o : execOutput) obs.onNext(o);
      obs.onCompleted();
    }
  }

  private final class Images extends ImagesGrpc.ImagesImplBase {
    @Override
    public void importImage(ImportRequest req, StreamObserver<ImportReply> obs) {
      requests.add(req);
      if (failed("ImportImage", obs)) return;
      reply(obs, ImportReply.newBuilder().addAllImages(images).build());
    }

    @Override
    public void list(ListImagesRequest req, StreamObserver<ListImagesReply> obs) {
      requests.add(req);
      if (failed("ListImages", obs)) return;
      reply(obs, ListImagesReply.newBuilder().addAllImages(images).build());
    }

    @Override
    public void remove(RemoveImageRequest req, StreamObserver<RemoveImageReply> obs) {
      requests.add(req);
      if (failed("RemoveImage", obs)) return;
      reply(obs, RemoveImageReply.newBuilder().addAllRemoved(removed).build());
    }
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    boss.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
  }
}
