package dev.berth.task;

import com.google.protobuf.ByteString;
import dev.berth.api.shim.v1.CreateExecRequest;
import dev.berth.api.shim.v1.CreateTaskReply;
import dev.berth.api.shim.v1.CreateTaskRequest;
import dev.berth.api.shim.v1.DeleteTaskRequest;
import dev.berth.api.shim.v1.ExecEvent;
import dev.berth.api.shim.v1.ExitStatus;
import dev.berth.api.shim.v1.InspectExecRequest;
import dev.berth.api.shim.v1.KillExecRequest;
import dev.berth.api.shim.v1.KillTaskRequest;
import dev.berth.api.shim.v1.ListExecsRequest;
import dev.berth.api.shim.v1.StartTaskRequest;
import dev.berth.api.shim.v1.StateTaskRequest;
import dev.berth.api.shim.v1.TaskClient;
import dev.berth.api.shim.v1.TaskStateReply;
import dev.berth.api.shim.v1.WaitTaskRequest;
import dev.berth.core.BerthException;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The daemon's connection to one berth-shim: the Pekko gRPC client (netty backend) pointed at the
 * shim's unix socket, so replies and streams arrive as CompletionStage/Source in the actors.
 */
public final class ShimClient implements TaskHandle {
  private final TaskClient client;
  private final Path socket;

  /** The container every request names (empty: a one-container shim's only one). */
  private final String containerId;

  /** What close() does: close the channel, or (a view on a group's channel) release it. */
  private final Runnable onClose;

  private ShimClient(TaskClient client, Path socket, String containerId, Runnable onClose) {
    this.client = client;
    this.socket = socket;
    this.containerId = containerId;
    this.onClose = onClose != null ? onClose : client::close;
  }

  /**
   * A view of this connection for one container of a group shim: every request names {@code
   * containerId}, and close() runs {@code release} instead of closing the shared channel.
   */
  public ShimClient forContainer(String containerId, Runnable release) {
    return new ShimClient(client, socket, containerId, release);
  }

  public String containerId() {
    return containerId;
  }

  /** Connects lazily; the first RPC fails fast if nothing listens on the socket. */
  public static ShimClient connect(ActorSystem<?> system, Path socket, EventLoopGroup group) {
    GrpcClientSettings settings =
        GrpcClientSettings.connectToServiceAt("localhost", 0, system)
            .withBackend("netty")
            .withTls(false)
            // A shim that is gone must surface as an error, not as endless reconnects.
            .withConnectionAttempts(2)
            .withChannelBuilderOverrides(b -> overrides(b, socket, group));
    return new ShimClient(TaskClient.create(settings, system), socket, "", null);
  }

  @SuppressWarnings(
      "deprecation") // nameResolverFactory is the only way to aim this builder at a unix socket
  private static NettyChannelBuilder overrides(
      NettyChannelBuilder b, Path socket, EventLoopGroup group) {
    return b.nameResolverFactory(new UdsResolverFactory(socket))
        .channelType(EpollDomainSocketChannel.class)
        .eventLoopGroup(group)
        .overrideAuthority("localhost")
        .usePlaintext();
  }

  public Path socket() {
    return socket;
  }

  public CompletionStage<CreateTaskReply> create(CreateTaskRequest r) {
    return ShimFailures.translated(client.create(r));
  }

  public CompletionStage<TaskStateReply> start() {
    return ShimFailures.translated(
        client.start(StartTaskRequest.newBuilder().setContainerId(containerId).build()));
  }

  public CompletionStage<TaskStateReply> state(Duration timeout) {
    return ShimFailures.translated(
            client.state(StateTaskRequest.newBuilder().setContainerId(containerId).build()))
        .toCompletableFuture()
        .orTimeout(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  @Override
  public CompletionStage<Void> kill(int signal, boolean all) {
    return ShimFailures.translated(
            client.kill(
                KillTaskRequest.newBuilder()
                    .setContainerId(containerId)
                    .setSignal(signal)
                    .setAll(all)
                    .build()))
        .thenApply(reply -> null);
  }

  @Override
  public CompletionStage<TaskExit> waitExit() {
    return ShimFailures.translated(
            client.waitExit(WaitTaskRequest.newBuilder().setContainerId(containerId).build()))
        .thenApply(this::exit);
  }

  @Override
  public CompletionStage<Void> delete() {
    return ShimFailures.translated(
            client.delete(DeleteTaskRequest.newBuilder().setContainerId(containerId).build()))
        .thenApply(reply -> null);
  }

  @Override
  public CompletionStage<ExecInfo> createExec(ExecRequest r) {
    return ShimFailures.translatedExec(
            client.createExec(
                CreateExecRequest.newBuilder()
                    .setContainerId(containerId)
                    .setExecId(r.execId())
                    .addAllArgs(r.args())
                    .addAllEnv(r.env())
                    .setCwd(r.cwd())
                    .setUser(r.user())
                    .setAttachStdin(r.attachStdin())
                    .build()))
        .thenApply(ShimClient::execInfo);
  }

  @Override
  public Source<ExecChunk, NotUsed> startExec(
      String execId, boolean detach, Source<ExecInput, NotUsed> stdin) {
    Source<dev.berth.api.shim.v1.ExecInput, NotUsed> requests =
        Source.single(
                dev.berth.api.shim.v1.ExecInput.newBuilder()
                    .setContainerId(containerId)
                    .setExecId(execId)
                    .setDetach(detach)
                    .build())
            .concat(
                stdin.map(
                    in ->
                        dev.berth.api.shim.v1.ExecInput.newBuilder()
                            .setStdin(ByteString.copyFrom(in.stdin()))
                            .setCloseStdin(in.close())
                            .build()));
    return client
        .startExec(requests)
        .map(this::chunk)
        .mapError(Throwable.class, ShimFailures::translateExec);
  }

  @Override
  public CompletionStage<ExecInfo> killExec(String execId, int signal) {
    return ShimFailures.translatedExec(
            client.killExec(
                KillExecRequest.newBuilder()
                    .setContainerId(containerId)
                    .setExecId(execId)
                    .setSignal(signal)
                    .build()))
        .thenApply(ShimClient::execInfo);
  }

  @Override
  public CompletionStage<ExecInfo> inspectExec(String execId) {
    return ShimFailures.translatedExec(
            client.inspectExec(
                InspectExecRequest.newBuilder()
                    .setContainerId(containerId)
                    .setExecId(execId)
                    .build()))
        .thenApply(ShimClient::execInfo);
  }

  @Override
  public CompletionStage<List<ExecInfo>> listExecs() {
    return ShimFailures.translatedExec(
            client.listExecs(ListExecsRequest.newBuilder().setContainerId(containerId).build()))
        .thenApply(reply -> reply.getExecsList().stream().map(ShimClient::execInfo).toList());
  }

  static ExecInfo execInfo(dev.berth.api.shim.v1.ExecInfo i) {
    ExecInfo.State state =
        switch (i.getStatus()) {
          case EXEC_STATUS_RUNNING -> ExecInfo.State.RUNNING;
          case EXEC_STATUS_EXITED -> ExecInfo.State.EXITED;
          default -> ExecInfo.State.CREATED;
        };
    return new ExecInfo(
        i.getExecId(),
        i.getContainerId(),
        state,
        i.getPid(),
        state == ExecInfo.State.EXITED ? i.getExitCode() : null,
        List.copyOf(i.getArgsList()),
        i.getAttachStdin(),
        instantOrNull(i.getStartedAt()),
        instantOrNull(i.getFinishedAt()));
  }

  private static Instant instantOrNull(String rfc3339) {
    if (rfc3339.isEmpty()) return null;
    try {
      return Instant.parse(rfc3339);
    } catch (java.time.format.DateTimeParseException e) {
      return null;
    }
  }

  ExecChunk chunk(ExecEvent e) {
    return switch (e.getPayloadCase()) {
      case STARTED -> new ExecChunk.Started(e.getStarted().getPid());
      case STDOUT -> new ExecChunk.Stdout(e.getStdout().toByteArray());
      case STDERR -> new ExecChunk.Stderr(e.getStderr().toByteArray());
      case EXITED ->
          new ExecChunk.Exited(
              e.getExited().getExitCode(),
              ExitTimes.parse(
                  e.getExited().getFinishedAt(),
                  "exec exit from the shim at " + socket,
                  Instant.now(),
                  "the time of the reply"));
      default ->
          throw BerthException.internal("the shim at " + socket + " sent an empty exec event");
    };
  }

  /** The shim answers WaitExit when init exited: its reply's arrival is the best time known. */
  private TaskExit exit(ExitStatus st) {
    return new TaskExit(
        st.getExitCode(),
        ExitTimes.parse(
            st.getExitedAt(),
            "WaitExit reply of the shim at " + socket,
            Instant.now(),
            "the time of the reply"));
  }

  /** Every container of the shim's group (a group shim). */
  public CompletionStage<List<TaskStateReply>> listTasks(Duration timeout) {
    return ShimFailures.translated(
            client.listTasks(dev.berth.api.shim.v1.ListTasksRequest.getDefaultInstance()))
        .toCompletableFuture()
        .orTimeout(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
        .thenApply(reply -> reply.getTasksList());
  }

  /** Asks the shim to end: a group shim does only once it has no containers. */
  public CompletionStage<Void> shutdown(boolean now) {
    return ShimFailures.translated(
            client.shutdown(dev.berth.api.shim.v1.ShutdownRequest.newBuilder().setNow(now).build()))
        .thenApply(reply -> null);
  }

  public CompletionStage<Done> closeAsync() {
    return client.close();
  }

  /** Closes the connection (a group view releases its share of it instead). */
  @Override
  public void close() {
    onClose.run();
  }

  /** Resolves every target to the one unix socket address. */
  private static final class UdsResolverFactory extends NameResolver.Factory {
    private final Path socket;

    UdsResolverFactory(Path socket) {
      this.socket = socket;
    }

    @Override
    public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
      return new NameResolver() {
        @Override
        public String getServiceAuthority() {
          return "localhost";
        }

        @Override
        public void start(Listener2 listener) {
          listener.onResult(
              ResolutionResult.newBuilder()
                  .setAddresses(
                      List.of(
                          new EquivalentAddressGroup(new DomainSocketAddress(socket.toString()))))
                  .build());
        }

        @Override
        public void shutdown() {}
      };
    }

    @Override
    public String getDefaultScheme() {
      return "unix";
    }
  }
}
