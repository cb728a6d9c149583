package dev.berth.shim;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
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
 * Applies each container's failpoints ({@link Failpoints}) to the Task RPCs. They are loaded from
 * the bundle when a Create arrives, so a Create failpoint already applies to that Create (a delay
 * there is "the daemon dies between shim start and create"). The fault happens once the request
 * message is in, on the call's executor thread (the shim's I/O pool, never a Netty event loop),
 * before the service sees the call. In a group shim each container has its own: a request is
 * matched by its {@code container_id} (an empty one, as from a one-container daemon, means the only
 * container that has failpoints).
 */
final class FailpointInterceptor implements ServerInterceptor {
  private static final int SIGKILL = 9;

  /**
   * Container id → RPC name → the failpoint and how many triggers it has left (-1: unlimited). Only
   * containers that have failpoints are here.
   */
  private final Map<String, Map<String, Armed>> armed = new ConcurrentHashMap<>();

  private record Armed(Failpoint failpoint, AtomicInteger left) {
    /** Counts the call; true if it triggers. */
    boolean trigger() {
      if (failpoint.times() == 0) return true;
      return left.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0;
    }
  }

  void load(String containerId, Path bundle) {
    Map<String, Failpoint> read;
    try {
      read = Failpoints.read(bundle.resolve(Failpoints.FILE_NAME));
    } catch (IOException | IllegalArgumentException e) {
      // The daemon validated them; an unreadable file is reported, not fatal to the container.
      ShimLog.warn("failpoints not loaded: " + e.getMessage());
      return;
    }
    if (read.isEmpty()) {
      armed.remove(containerId);
      return;
    }
    Map<String, Armed> forContainer = new ConcurrentHashMap<>();
    read.forEach((rpc, f) -> forContainer.put(rpc, new Armed(f, new AtomicInteger(f.times()))));
    armed.put(containerId, forContainer);
    ShimLog.info("failpoints armed for " + containerId + ": " + read.values());
  }

  /** The container a request names: {@code id} on Create, {@code container_id} elsewhere. */
  static String containerId(Object message) {
    if (message instanceof CreateTaskRequest create) return create.getId();
    if (message instanceof Message m) {
      FieldDescriptor field = m.getDescriptorForType().findFieldByName("container_id");
      if (field != null) return (String) m.getField(field);
    }
    return "";
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
        String containerId = containerId(message);
        if (message instanceof CreateTaskRequest create && !create.getBundle().isEmpty())
          load(containerId, Path.of(create.getBundle()));
        if (!inject(containerId, rpc, call)) {
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
  private boolean inject(String containerId, String rpc, ServerCall<?, ?> call) {
    Map<String, Armed> forContainer = armed.get(containerId);
    if (forContainer == null && containerId.isEmpty() && armed.size() == 1) {
      forContainer = armed.values().iterator().next();
    }
    Armed a = forContainer == null ? null : forContainer.get(rpc);
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
