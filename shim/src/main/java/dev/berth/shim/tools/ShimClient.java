package dev.berth.shim.tools;

import dev.berth.api.shim.v1.TaskGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** A grpc-java client of one shim's unix socket (for tests, the training run and benchmarks). */
public final class ShimClient implements AutoCloseable {
    /** Netty warns that unix sockets have no SO_KEEPALIVE on every connect; held: JUL keeps loggers weakly. */
    private static final java.util.logging.Logger NETTY_BOOTSTRAP_LOG =
            java.util.logging.Logger.getLogger("io.grpc.netty.shaded.io.netty.bootstrap");

    static {
        NETTY_BOOTSTRAP_LOG.setLevel(java.util.logging.Level.SEVERE);
    }

    private final EpollEventLoopGroup group = new EpollEventLoopGroup(1);
    private final ManagedChannel channel;

    public ShimClient(Path socket) {
        channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollDomainSocketChannel.class)
                .eventLoopGroup(group)
                .usePlaintext()
                // The default authority would be the socket path, which is not a valid host.
                .overrideAuthority("localhost")
                .build();
    }

    public TaskGrpc.TaskBlockingStub blocking() {
        return TaskGrpc.newBlockingStub(channel);
    }

    public TaskGrpc.TaskBlockingStub blocking(long timeout, TimeUnit unit) {
        return TaskGrpc.newBlockingStub(channel).withDeadlineAfter(timeout, unit);
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
