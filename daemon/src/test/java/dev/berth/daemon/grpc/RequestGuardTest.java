package dev.berth.daemon.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.rpc.ErrorInfo;
import dev.berth.api.v1.ContainersServiceGrpc;
import dev.berth.api.v1.InspectContainerRequest;
import dev.berth.api.v1.InspectContainerResponse;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.protobuf.StatusProto;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The request guard on a real grpc server over a unix socket. */
class RequestGuardTest {
  @TempDir Path dir;
  EpollEventLoopGroup loops;
  Server server;
  ManagedChannel channel;
  final AtomicInteger calls = new AtomicInteger();

  @BeforeEach
  void start() throws Exception {
    loops = new EpollEventLoopGroup(2);
    Path socket = dir.resolve("s.sock");
    server =
        NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollServerDomainSocketChannel.class)
            .bossEventLoopGroup(loops)
            .workerEventLoopGroup(loops)
            .addService(
                RequestGuard.guard(
                    new ContainersServiceGrpc.ContainersServiceImplBase() {
                      @Override
                      public void inspectContainer(
                          InspectContainerRequest r, StreamObserver<InspectContainerResponse> out) {
                        calls.incrementAndGet();
                        out.onNext(InspectContainerResponse.getDefaultInstance());
                        out.onCompleted();
                      }
                    }.bindService()))
            .addService(ProtoReflectionServiceV1.newInstance())
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
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
  }

  /** Sends raw bytes as the request body of InspectContainer. */
  private Status sendRaw(byte[] body) throws Exception {
    MethodDescriptor.Marshaller<byte[]> raw =
        new MethodDescriptor.Marshaller<>() {
          @Override
          public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
          }

          @Override
          public byte[] parse(InputStream stream) {
            try {
              return stream.readAllBytes();
            } catch (java.io.IOException e) {
              throw new RuntimeException(e);
            }
          }
        };
    MethodDescriptor<byte[], byte[]> method =
        ContainersServiceGrpc.getInspectContainerMethod().toBuilder(raw, raw).build();
    CompletableFuture<Status> closed = new CompletableFuture<>();
    CompletableFuture<Metadata> trailers = new CompletableFuture<>();
    ClientCall<byte[], byte[]> call = channel.newCall(method, CallOptions.DEFAULT);
    call.start(
        new ClientCall.Listener<>() {
          @Override
          public void onClose(Status status, Metadata t) {
            trailers.complete(t);
            closed.complete(status);
          }
        },
        new Metadata());
    call.request(1);
    call.sendMessage(body);
    call.halfClose();
    Status status = closed.get(10, TimeUnit.SECONDS);
    lastTrailers = trailers.get();
    return status;
  }

  Metadata lastTrailers;

  @Test
  void a_garbage_request_body_is_an_invalid_argument_with_a_reason_and_reaches_no_service()
      throws Exception {
    Status status = sendRaw("\u00ff\u00ff\u00ff garbage".getBytes(StandardCharsets.ISO_8859_1));
    assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode(), status.toString());
    assertTrue(
        status.getDescription().contains("berth.v1.InspectContainerRequest"),
        status.getDescription());
    com.google.rpc.Status details = StatusProto.fromStatusAndTrailers(status, lastTrailers);
    ErrorInfo info = details.getDetails(0).unpack(ErrorInfo.class);
    assertEquals("INVALID_ARGUMENT", info.getReason());
    assertEquals(GrpcErrors.DOMAIN, info.getDomain());
    assertEquals(0, calls.get());

    // and the server goes on serving well-formed requests
    ContainersServiceGrpc.newBlockingStub(channel)
        .inspectContainer(InspectContainerRequest.newBuilder().setRef("x").build());
    assertEquals(1, calls.get());
  }

  @Test
  void a_request_whose_deadline_passed_before_it_was_read_does_nothing() throws Exception {
    for (int i = 0; i < 20; i++) {
      try {
        ClientCalls.blockingUnaryCall(
            channel,
            ContainersServiceGrpc.getInspectContainerMethod(),
            CallOptions.DEFAULT.withDeadlineAfter(1, TimeUnit.NANOSECONDS),
            InspectContainerRequest.newBuilder().setRef("x").build());
      } catch (StatusRuntimeException e) {
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
      }
    }
    Thread.sleep(200);
    assertEquals(0, calls.get(), "calls past their deadline reached the service");
  }

  @Test
  void a_guarded_service_keeps_its_schema_for_reflection() {
    var guarded =
        RequestGuard.guard(new ContainersServiceGrpc.ContainersServiceImplBase() {}.bindService());
    assertTrue(
        guarded.getServiceDescriptor().getSchemaDescriptor() != null,
        "the schema descriptor was lost");
    assertEquals(
        ContainersServiceGrpc.getServiceDescriptor().getMethods().size(),
        guarded.getMethods().size());
  }
}
