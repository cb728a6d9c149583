package dev.berth.cli;

import dev.berth.api.transport.UnixSockets;
import dev.berth.api.v1.ContainersGrpc;
import dev.berth.api.v1.ImagesGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.ConnectException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC connection to berthd over its unix socket: grpc-java's OkHttp transport on a JDK
 * unix-domain channel ({@link UnixSockets}), the lightest client transport to start in a fresh JVM.
 * Created only by commands that talk to the daemon, so `--help` and usage errors never pay for
 * loading gRPC.
 */
final class Daemon implements AutoCloseable {
  /** Unary calls are expected to answer quickly; a hung daemon must not hang scripts forever. */
  static final long UNARY_DEADLINE_SECONDS = 60;

  /** Stop replies only once the container is down: allow the kill timeout plus this margin. */
  static final long STOP_DEADLINE_MARGIN_SECONDS = 30;

  /**
   * Importing unpacks every layer of an archive; 60 s is too short for large images, so the one
   * unary call that does bulk I/O gets a longer bound.
   */
  static final long IMPORT_DEADLINE_SECONDS = 30 * 60;

  private final String socket;
  private final ManagedChannel channel;

  Daemon(String socket) {
    this.socket = socket;
    // Without grpc's retries (see UnixSockets.channel): a call cut by a dying berthd fails with
    // "lost the connection"; it is never sent again to a daemon restarted meanwhile.
    this.channel = UnixSockets.channel(Path.of(socket));
  }

  String socket() {
    return socket;
  }

  ManagedChannel channel() {
    return channel;
  }

  /** Blocking container stub with the standard unary deadline (a fresh deadline per call). */
  ContainersGrpc.ContainersBlockingStub containers() {
    return containers(UNARY_DEADLINE_SECONDS);
  }

  ContainersGrpc.ContainersBlockingStub containers(long deadlineSeconds) {
    return ContainersGrpc.newBlockingStub(channel)
        .withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
  }

  /**
   * No deadline: for streams (logs, exec) and waits, which legitimately last as long as a
   * container.
   */
  ContainersGrpc.ContainersBlockingStub containersUnbounded() {
    return ContainersGrpc.newBlockingStub(channel);
  }

  ContainersGrpc.ContainersStub containersAsync() {
    return ContainersGrpc.newStub(channel);
  }

  ContainersGrpc.ContainersFutureStub containersFuture() {
    return ContainersGrpc.newFutureStub(channel);
  }

  ImagesGrpc.ImagesBlockingStub images(long deadlineSeconds) {
    return ImagesGrpc.newBlockingStub(channel).withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
  }

  ImagesGrpc.ImagesBlockingStub images() {
    return images(UNARY_DEADLINE_SECONDS);
  }

  /**
   * True when the call failed because no daemon listens on the socket (missing socket file or
   * connection refused), as opposed to an UNAVAILABLE status the daemon itself returned.
   */
  static boolean isConnectFailure(StatusRuntimeException e) {
    if (e.getStatus().getCode() != Status.Code.UNAVAILABLE) return false;
    for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
      // The JDK reports ECONNREFUSED as a ConnectException and other connect errors with the
      // errno's text (a SocketException): the message checks cover those.
      if (t instanceof ConnectException) return true;
      String m = t.getMessage();
      if (m != null
          && (m.contains("No such file or directory")
              || m.contains("Connection refused")
              || m.contains("Permission denied"))) return true;
    }
    return false;
  }

  /**
   * True when an established connection broke mid-call (berthd killed or stopped), as opposed to an
   * UNAVAILABLE status the daemon itself answered: those carry no cause, and the daemon never uses
   * the OkHttp transport's own text for a connection that ended.
   */
  static boolean isConnectionLost(StatusRuntimeException e) {
    if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || isConnectFailure(e)) return false;
    String d = e.getStatus().getDescription();
    return e.getCause() instanceof java.io.IOException || "End of stream or IOException".equals(d);
  }

  /**
   * The socket exists but this user may not connect (wrong group): worth saying instead of "is it
   * running?".
   */
  static boolean isPermissionDenied(StatusRuntimeException e) {
    for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
      String m = t.getMessage();
      if (m != null && m.contains("Permission denied")) return true;
    }
    return false;
  }

  @Override
  public void close() {
    channel.shutdownNow();
    // Wait for the transport to close its socket: its reader thread is blocked in read(2) until
    // then, and a JVM that exits with a thread in native code waits ~300 ms for it (seen in
    // about one command in four).
    try {
      channel.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
