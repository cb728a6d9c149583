package dev.berth.tools.shim;

import dev.berth.api.shim.v1.TaskGrpc;
import dev.berth.api.transport.UnixSockets;
import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** A grpc-java client of one shim's unix socket (for tests, the training run and benchmarks). */
public final class ShimClient implements AutoCloseable {
  private final ManagedChannel channel;

  public ShimClient(Path socket) {
    // As the CLI: a call cut by a dying shim fails; grpc never sends it again.
    channel = UnixSockets.channel(socket);
  }

  public TaskGrpc.TaskBlockingStub blocking() {
    return TaskGrpc.newBlockingStub(channel);
  }

  public TaskGrpc.TaskBlockingStub blocking(long timeout, TimeUnit unit) {
    return TaskGrpc.newBlockingStub(channel).withDeadlineAfter(timeout, unit);
  }

  public TaskGrpc.TaskStub async() {
    return TaskGrpc.newStub(channel);
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
