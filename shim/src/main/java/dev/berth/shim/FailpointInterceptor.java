package dev.berth.shim;

import dev.berth.api.failpoint.Failpoints;
import dev.berth.api.failpoint.Failpoints.Failpoint;
import dev.berth.api.shim.v1.CreateTaskRequest;
import dev.berth.runtime.nativ.Posix;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Applies the container's failpoints ({@link Failpoints}) to the Task RPCs. They are loaded from
 * the bundle when a Create arrives, so a Create failpoint already applies to that Create (a delay
 * there is "the daemon dies between shim start and create"). The fault happens once the request
 * message is in, on the call's executor thread (the shim's I/O pool, never a Netty event loop),
 * before the service sees the call.
 */
final class FailpointInterceptor implements ServerInterceptor {
  private static final int SIGKILL = 9;

  /** RPC name → the failpoint and how many triggers it has left (-1: unlimited). */
  private final Map<String, Armed> armed = new ConcurrentHashMap<>();

  private record Armed(Failpoint failpoint, AtomicInteger left) {
    /** Counts the call; true if it triggers. */
    boolean trigger() {
      if (failpoint.times() == 0) return true;
      return left.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0;
    }
  }

  void load(Path bundle) {
    Map<String, Failpoint> read;
    try {
      read = Failpoints.read(bundle.resolve(Failpoints.FILE_NAME));
    } catch (IOException | IllegalArgumentException e) {
      // The daemon validated them; an unreadable file is reported, not fatal to the container.
      ShimLog.warn("failpoints not loaded: " + e.getMessage());
      return;
    }
    armed.clear();
    read.forEach((rpc, f) -> armed.put(rpc, new Armed(f, new AtomicInteger(f.times()))));
    if (!read.isEmpty()) ShimLog.info("failpoints armed: " + read.values());
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String rpc = call.getMethodDescriptor().getBareMethodName();
    ServerCall.Listener<Q> delegate = next.startCall(call, headers);
    return new SimpleForwardingServerCallListener<>(delegate) {
      private boolean failed;

      @Override
      public void onMessage(Q message) {
        if (message instanceof CreateTaskRequest create && !create.getBundle().isEmpty())
          load(Path.of(create.getBundle()));
        if (!inject(rpc, call)) {
          failed = true;
          return;
        }
        super.onMessage(message);
      }

      @Override
      public void onHalfClose() {
        if (!failed) super.onHalfClose();
      }
    };
  }

  /**
   * Applies a triggered failpoint; false when the call was failed (the service must not see it).
   */
  private boolean inject(String rpc, ServerCall<?, ?> call) {
    Armed a = armed.get(rpc);
    if (a == null || !a.trigger()) return true;
    Failpoint f = a.failpoint();
    ShimLog.info("failpoint triggered: " + f);
    switch (f.kind()) {
      case DELAY -> {
        try {
          Thread.sleep(f.millis());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return true;
      }
      case ERROR -> {
        call.close(Status.UNAVAILABLE.withDescription(f.errorText()), new Metadata());
        return false;
      }
      default -> {
        // A real shim death: no cleanup, no reply; the container stays as the kernel leaves it.
        Posix.kill(Posix.getpid(), SIGKILL);
        return false;
      }
    }
  }
}
