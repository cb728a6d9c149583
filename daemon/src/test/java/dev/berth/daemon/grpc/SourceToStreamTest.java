package dev.berth.daemon.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import dev.berth.api.v1.ContainerLogsRequest;
import dev.berth.api.v1.ContainerLogsResponse;
import dev.berth.api.v1.ContainersServiceGrpc;
import dev.berth.core.BerthException;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.apache.pekko.Done;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bridge behind a real grpc-java server on a unix socket (as berthd serves), read by a client
 * that asks for messages one batch at a time ({@code ClientCall.request(n)}).
 */
@Timeout(60)
class SourceToStreamTest {
  /** Each message is 16 KiB: the client's 64 KiB window holds four, grpc's ready threshold two. */
  private static final int MESSAGE_BYTES = 16 * 1024;

  private static final int CLIENT_WINDOW = 64 * 1024;

  /**
   * Elements the Source may be ahead of what the client asked for: the client's window (4 + a
   * partial one), grpc's unsent bytes below its 32 KiB ready threshold (2 + 1), the bridge's
   * prefetch (2), one in hand — and slack, since the point is "a few", not "everything".
   */
  private static final int AHEAD_BOUND = 16;

  /** grpc-netty reports the client's reset of a stream it is writing to as a warning. */
  private static final java.util.logging.Logger NETTY_LOG =
      java.util.logging.Logger.getLogger("io.grpc.netty.shaded");

  static ActorSystem system;
  static EventLoopGroup loops;
  static ExecutorService executor;

  @TempDir Path dir;
  SourceToStream bridge;
  Server server;
  ManagedChannel channel;

  /** What the Logs method of the test server serves. */
  volatile Source<ContainerLogsResponse, ?> served;

  @BeforeAll
  static void startSystem() {
    NETTY_LOG.setLevel(java.util.logging.Level.SEVERE);
    system = ActorSystem.create("SourceToStreamTest");
    loops = new EpollEventLoopGroup(2);
    executor = Executors.newCachedThreadPool();
  }

  @AfterAll
  static void stopSystem() throws Exception {
    loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    executor.shutdownNow();
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void startServer() throws Exception {
    bridge = new SourceToStream(system);
    Path socket = dir.resolve("s.sock");
    server =
        NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollServerDomainSocketChannel.class)
            .bossEventLoopGroup(loops)
            .workerEventLoopGroup(loops)
            .executor(executor)
            .addService(
                new ContainersServiceGrpc.ContainersServiceImplBase() {
                  @Override
                  public void containerLogs(
                      ContainerLogsRequest request, StreamObserver<ContainerLogsResponse> out) {
                    bridge.serve(served, out);
                  }
                })
            .build()
            .start();
    channel =
        NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollDomainSocketChannel.class)
            .eventLoopGroup(loops)
            .usePlaintext()
            .flowControlWindow(CLIENT_WINDOW) // also turns off grpc's window auto-tuning
            .build();
  }

  @AfterEach
  void stopServer() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  /** A client call that receives only what it requests. */
  final class SlowClient extends ClientCall.Listener<ContainerLogsResponse> {
    final LinkedBlockingQueue<ContainerLogsResponse> received = new LinkedBlockingQueue<>();
    final CompletableFuture<Status> closed = new CompletableFuture<>();
    final ClientCall<ContainerLogsRequest, ContainerLogsResponse> call =
        channel.newCall(ContainersServiceGrpc.getContainerLogsMethod(), CallOptions.DEFAULT);

    SlowClient() {
      call.start(this, new Metadata());
      call.sendMessage(ContainerLogsRequest.newBuilder().setRef("x").build());
      call.halfClose();
    }

    @Override
    public void onMessage(ContainerLogsResponse message) {
      received.add(message);
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      closed.complete(status);
    }

    /** Asks for {@code n} more messages and waits for them. */
    void take(int n) throws InterruptedException {
      call.request(n);
      for (int i = 0; i < n; i++) {
        if (received.poll(10, TimeUnit.SECONDS) == null)
          fail("message " + (i + 1) + " of " + n + " did not arrive");
      }
    }
  }

  /**
   * An endless Source of 16 KiB messages that counts what was pulled from it and reports its end.
   */
  static Source<ContainerLogsResponse, ?> endless(
      AtomicInteger produced, CompletableFuture<Done> terminated) {
    ByteString data = ByteString.copyFrom(new byte[MESSAGE_BYTES]);
    return Source.fromIterator(() -> Stream.iterate(0, i -> i + 1).iterator())
        .map(
            i -> {
              produced.incrementAndGet();
              return ContainerLogsResponse.newBuilder()
                  .setStream(dev.berth.api.v1.LogStream.LOG_STREAM_STDOUT)
                  .setData(data)
                  .build();
            })
        .watchTermination(
            (mat, done) -> {
              done.whenComplete(
                  (d, e) -> {
                    if (e != null) terminated.completeExceptionally(e);
                    else terminated.complete(d);
                  });
              return mat;
            });
  }

  @Test
  void
      a_slow_client_gets_the_source_pulled_only_as_far_as_it_reads_and_its_cancel_cancels_the_source()
          throws Exception {
    AtomicInteger produced = new AtomicInteger();
    CompletableFuture<Done> terminated = new CompletableFuture<>();
    served = endless(produced, terminated);
    SlowClient client = new SlowClient();

    int requested = 0;
    for (int batch : new int[] {1, 5, 20, 100}) {
      client.take(batch);
      requested += batch;
      Thread.sleep(300); // room for a runaway producer to show itself
      int ahead = produced.get() - requested;
      assertTrue(
          ahead <= AHEAD_BOUND,
          "the source ran " + ahead + " elements ahead of a client that asked for " + requested);
      assertTrue(client.received.isEmpty(), "the client got messages it did not ask for");
    }
    assertEquals(1, bridge.running());

    client.call.cancel("the reader went away", null);
    assertCancelled(terminated);
    assertTrue(
        eventually(() -> bridge.running() == 0), "the bridge still counts the source as running");
  }

  @Test
  void a_source_that_is_ready_only_after_the_method_returned_is_cancelled_too() throws Exception {
    // The shape of a filtered Subscribe (container references resolved by an ask first): the
    // handlers must be set before the method returns, not when the Source becomes available.
    AtomicInteger produced = new AtomicInteger();
    CompletableFuture<Done> terminated = new CompletableFuture<>();
    CompletableFuture<Source<ContainerLogsResponse, ?>> later = new CompletableFuture<>();
    CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS)
        .execute(() -> later.complete(endless(produced, terminated)));
    served =
        Source.completionStageSource(
            later.thenApply(s -> s.mapMaterializedValue(m -> Done.getInstance())));
    SlowClient client = new SlowClient();
    client.take(2);

    client.call.cancel("the reader went away", null);
    assertCancelled(terminated);
    assertTrue(
        eventually(() -> bridge.running() == 0), "the bridge still counts the source as running");
  }

  @Test
  void a_cancel_before_the_source_is_available_never_runs_it() throws Exception {
    AtomicInteger produced = new AtomicInteger();
    CompletableFuture<Done> terminated = new CompletableFuture<>();
    CompletableFuture<Source<ContainerLogsResponse, ?>> later = new CompletableFuture<>();
    served =
        Source.completionStageSource(
            later.thenApply(s -> s.mapMaterializedValue(m -> Done.getInstance())));
    SlowClient client = new SlowClient();
    client.call.request(1);
    assertTrue(eventually(() -> bridge.running() == 1), "the call never reached the bridge");
    client.call.cancel("changed my mind", null);
    assertTrue(
        eventually(() -> bridge.running() == 0), "the bridge still counts the source as running");
    later.complete(endless(produced, terminated)); // the ask answers after the client left
    Thread.sleep(200);
    assertEquals(0, produced.get(), "a source that became available after the cancel was run");
  }

  @Test
  void a_completed_source_completes_the_call() throws Exception {
    served =
        Source.range(1, 5)
            .map(
                i ->
                    ContainerLogsResponse.newBuilder()
                        .setStream(dev.berth.api.v1.LogStream.LOG_STREAM_STDOUT)
                        .setData(ByteString.copyFromUtf8("line " + i + "\n"))
                        .build());
    SlowClient client = new SlowClient();
    client.take(5);
    client.call.request(1); // the end of the stream needs no request, but one more changes nothing
    assertEquals(Status.Code.OK, client.closed.get(5, TimeUnit.SECONDS).getCode());
    assertTrue(eventually(() -> bridge.running() == 0));
  }

  @Test
  void a_failed_source_ends_the_call_with_its_status_and_a_one_line_message() throws Exception {
    served =
        Source.range(1, 2)
            .map(
                i -> {
                  if (i == 2) throw BerthException.containerNotFound("x");
                  return ContainerLogsResponse.newBuilder()
                      .setStream(dev.berth.api.v1.LogStream.LOG_STREAM_STDOUT)
                      .build();
                });
    SlowClient client = new SlowClient();
    client.take(1);
    Status status = client.closed.get(5, TimeUnit.SECONDS);
    assertEquals(Status.Code.NOT_FOUND, status.getCode());
    assertEquals("no such container: x", status.getDescription());

    served =
        Source.failed(
            new java.io.IOException("cannot read container.log\n\tat some.Frame(Frame.java:1)"));
    SlowClient another = new SlowClient();
    another.call.request(1);
    Status internal = another.closed.get(5, TimeUnit.SECONDS);
    assertEquals(Status.Code.INTERNAL, internal.getCode());
    assertEquals("cannot read container.log", internal.getDescription());
  }

  /** The source ended by a cancel, within a few seconds: not completed, not still running. */
  static void assertCancelled(CompletableFuture<Done> terminated) throws Exception {
    Throwable cause = terminated.handle((done, failure) -> failure).get(5, TimeUnit.SECONDS);
    assertNotNull(cause, "the source completed instead of being cancelled");
    assertInstanceOf(CancellationException.class, cause);
  }

  static boolean eventually(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) return false;
      Thread.sleep(20);
    }
    return true;
  }
}
