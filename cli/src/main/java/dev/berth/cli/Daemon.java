package dev.berth.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import dev.berth.api.test.v1.FailpointsServiceGrpc;
import dev.berth.api.transport.UnixSockets;
import dev.berth.api.v1.ContainersServiceGrpc;
import dev.berth.api.v1.EventsServiceGrpc;
import dev.berth.api.v1.ExecServiceGrpc;
import dev.berth.api.v1.ImagesServiceGrpc;
import dev.berth.api.v1.SystemServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
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
  ContainersServiceGrpc.ContainersServiceBlockingStub containers() {
    return containers(UNARY_DEADLINE_SECONDS);
  }

  ContainersServiceGrpc.ContainersServiceBlockingStub containers(long deadlineSeconds) {
    return ContainersServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
  }

  /** No deadline: for streams (logs) and waits, which legitimately last as long as a container. */
  ContainersServiceGrpc.ContainersServiceBlockingStub containersUnbounded() {
    return ContainersServiceGrpc.newBlockingStub(channel);
  }

  ContainersServiceGrpc.ContainersServiceStub containersAsync() {
    return ContainersServiceGrpc.newStub(channel);
  }

  ContainersServiceGrpc.ContainersServiceFutureStub containersFuture() {
    return ContainersServiceGrpc.newFutureStub(channel);
  }

  SystemServiceGrpc.SystemServiceBlockingStub system() {
    return SystemServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(UNARY_DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  ExecServiceGrpc.ExecServiceBlockingStub exec() {
    return ExecServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(UNARY_DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  /** For StartExec (bidi, as long as the process runs: no deadline). */
  ExecServiceGrpc.ExecServiceStub execAsync() {
    return ExecServiceGrpc.newStub(channel);
  }

  EventsServiceGrpc.EventsServiceBlockingStub events() {
    return EventsServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(UNARY_DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  /** SubscribeEvents never ends on its own: no deadline. */
  EventsServiceGrpc.EventsServiceBlockingStub eventsUnbounded() {
    return EventsServiceGrpc.newBlockingStub(channel);
  }

  ImagesServiceGrpc.ImagesServiceBlockingStub images(long deadlineSeconds) {
    return ImagesServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
  }

  ImagesServiceGrpc.ImagesServiceBlockingStub images() {
    return images(UNARY_DEADLINE_SECONDS);
  }

  /** The test-only service; a production daemon answers UNIMPLEMENTED. */
  FailpointsServiceGrpc.FailpointsServiceBlockingStub failpoints() {
    return FailpointsServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(UNARY_DEADLINE_SECONDS, TimeUnit.SECONDS);
  }

  private static final Metadata.Key<byte[]> STATUS_DETAILS =
      Metadata.Key.of("grpc-status-details-bin", Metadata.BINARY_BYTE_MARSHALLER);

  private static final String ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo";

  /**
   * The stable reason of a daemon's error ({@code google.rpc.ErrorInfo.reason}, e.g.
   * "IMAGE_NOT_FOUND"), or "" when it sent none. Read from the status details by field number
   * (google.rpc.Status.details = 3, Any.type_url = 1, Any.value = 2, ErrorInfo.reason = 1), so the
   * CLI does not ship the google.rpc classes for one string.
   */
  static String reason(StatusRuntimeException e) {
    Metadata trailers = e.getTrailers();
    byte[] details = trailers == null ? null : trailers.get(STATUS_DETAILS);
    if (details == null) return "";
    try {
      UnknownFieldSet status = UnknownFieldSet.parseFrom(details);
      UnknownFieldSet.Field anys = status.getField(3);
      if (anys == null) return "";
      for (ByteString any : anys.getLengthDelimitedList()) {
        UnknownFieldSet a = UnknownFieldSet.parseFrom(any);
        if (!ERROR_INFO.equals(string(a, 1))) continue;
        UnknownFieldSet.Field value = a.getField(2);
        if (value == null || value.getLengthDelimitedList().isEmpty()) continue;
        return string(UnknownFieldSet.parseFrom(value.getLengthDelimitedList().get(0)), 1);
      }
    } catch (InvalidProtocolBufferException bad) {
      // not what the contract says: no reason
    }
    return "";
  }

  private static String string(UnknownFieldSet set, int number) {
    UnknownFieldSet.Field f = set.getField(number);
    return f == null || f.getLengthDelimitedList().isEmpty()
        ? ""
        : f.getLengthDelimitedList().get(0).toStringUtf8();
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
