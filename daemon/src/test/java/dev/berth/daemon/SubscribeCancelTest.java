package dev.berth.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.berth.actors.ContainerActor;
import dev.berth.actors.ContainerSupervisor;
import dev.berth.actors.EventFeed;
import dev.berth.api.v1.EventFilter;
import dev.berth.api.v1.EventsServiceGrpc;
import dev.berth.api.v1.SubscribeEventsRequest;
import dev.berth.api.v1.SubscribeEventsResponse;
import dev.berth.daemon.grpc.SourceToStream;
import dev.berth.engine.Containers;
import dev.berth.engine.Events;
import dev.berth.persistence.JournalConfig;
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
import java.nio.file.Path;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Subscribe through the real ContainersService and EventFeed (LevelDB journal in a temp dir): a
 * subscription filtered by container resolves its references with an ask before it streams, and its
 * client's cancel must still stop it on the server. (It used to register the cancel handler in that
 * ask's callback, which grpc refuses once the method has returned, so the journal query ran on
 * after the client left.)
 */
@Timeout(60)
class SubscribeCancelTest {
  private static final String ID =
      "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

  /** grpc-netty reports the client's reset of a stream it is writing to as a warning. */
  private static final Logger NETTY_LOG = Logger.getLogger("io.grpc.netty.shaded");

  @TempDir Path dir;
  ActorSystem<Object> system;
  ExecutorService executor;
  EventLoopGroup loops;
  SourceToStream streams;
  Server server;
  ManagedChannel channel;

  /**
   * Answers an Inspect the way the real supervisor does for a removed container, a little later.
   */
  static Behavior<ContainerSupervisor.Command> slowSupervisor() {
    return Behaviors.receiveMessage(
        command -> {
          if (command instanceof ContainerSupervisor.Forward f
              && f.request() instanceof ContainerActor.Inspect inspect) {
            CompletableFuture.delayedExecutor(300, TimeUnit.MILLISECONDS)
                .execute(
                    () ->
                        inspect.replyTo().tell(StatusReply.error("no such container: " + f.ref())));
          }
          return Behaviors.same();
        });
  }

  /** Journals the events it is sent, tagged as a container actor tags its public events. */
  static Behavior<ContainerActor.Event> journalOf(String id) {
    return new EventSourcedBehavior<ContainerActor.Event, ContainerActor.Event, String>(
        PersistenceId.ofUniqueId(ContainerActor.persistenceIdFor(id))) {
      @Override
      public String emptyState() {
        return "";
      }

      @Override
      public CommandHandler<ContainerActor.Event, ContainerActor.Event, String> commandHandler() {
        return (state, event) -> Effect().persist(event);
      }

      @Override
      public EventHandler<String, ContainerActor.Event> eventHandler() {
        return (state, event) -> state;
      }

      @Override
      public Set<String> tagsFor(ContainerActor.Event event) {
        return Set.of(ContainerActor.EVENTS_TAG);
      }
    };
  }

  @BeforeEach
  void start() throws Exception {
    NETTY_LOG.setLevel(Level.SEVERE);
    java.nio.file.Files.createDirectories(
        dir.resolve("root/journal")); // berthd makes it before the journal opens
    system =
        ActorSystem.create(
            Behaviors.empty(),
            "SubscribeCancelTest",
            JournalConfig.forRoot(dir.resolve("root")).withFallback(ConfigFactory.load()));
    executor = Executors.newCachedThreadPool();
    loops = new EpollEventLoopGroup(2);
    streams = new SourceToStream(system);
    ActorRef<ContainerSupervisor.Command> supervisor =
        system.systemActorOf(
            slowSupervisor(), "containers", org.apache.pekko.actor.typed.Props.empty());
    Path socket = dir.resolve("berth.sock");
    server =
        NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollServerDomainSocketChannel.class)
            .bossEventLoopGroup(loops)
            .workerEventLoopGroup(loops)
            .executor(executor)
            .addService(
                new EventsService(
                    new Events(
                        system,
                        new EventFeed(system),
                        new Containers(system, supervisor, executor)),
                    streams))
            .build()
            .start();
    channel =
        NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollDomainSocketChannel.class)
            .eventLoopGroup(loops)
            .usePlaintext()
            .build();
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    if (server != null) server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    if (loops != null) loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    if (executor != null) executor.shutdownNow();
    if (system != null) {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void a_filtered_subscription_streams_and_stops_on_the_server_when_its_client_cancels()
      throws Exception {
    LinkedBlockingQueue<SubscribeEventsResponse> received = new LinkedBlockingQueue<>();
    CompletableFuture<Status> closed = new CompletableFuture<>();
    ClientCall<SubscribeEventsRequest, SubscribeEventsResponse> call =
        channel.newCall(EventsServiceGrpc.getSubscribeEventsMethod(), CallOptions.DEFAULT);
    call.start(
        new ClientCall.Listener<>() {
          @Override
          public void onMessage(SubscribeEventsResponse message) {
            received.add(message);
            call.request(1);
          }

          @Override
          public void onClose(Status status, Metadata trailers) {
            closed.complete(status);
          }
        },
        new Metadata());
    call.sendMessage(
        SubscribeEventsRequest.newBuilder()
            .setFilter(EventFilter.newBuilder().addContainers(ID.substring(0, 12)))
            .build());
    call.halfClose();
    call.request(1);
    assertTrue(
        eventually(() -> streams.running() == 1), "the subscription never started on the server");

    // once the reference is resolved, the live query delivers this container's events
    Thread.sleep(600);
    ActorRef<ContainerActor.Event> journal =
        system.systemActorOf(
            journalOf(ID),
            "journal-" + ID.substring(0, 8),
            org.apache.pekko.actor.typed.Props.empty());
    ActorRef<ContainerActor.Event> otherJournal =
        system.systemActorOf(
            journalOf("ff" + ID.substring(2)),
            "journal-other",
            org.apache.pekko.actor.typed.Props.empty());
    otherJournal.tell(new ContainerActor.ContainerRemoved(Instant.now()));
    journal.tell(new ContainerActor.ContainerRemoved(Instant.now()));
    SubscribeEventsResponse removed = received.poll(10, TimeUnit.SECONDS);
    assertNotNull(removed, "the filtered subscription delivered nothing");
    assertEquals(ID, removed.getEvent().getContainerId());
    assertEquals(dev.berth.api.v1.EventType.EVENT_TYPE_DELETE, removed.getEvent().getType());

    call.cancel("the subscriber went away", null);
    assertEquals(Status.Code.CANCELLED, closed.get(5, TimeUnit.SECONDS).getCode());
    assertTrue(
        eventually(() -> streams.running() == 0),
        "the subscription still runs on the server after the cancel");
    assertTrue(received.isEmpty(), "events of another container passed the filter: " + received);
  }

  static boolean eventually(java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) return false;
      Thread.sleep(20);
    }
    return true;
  }
}
