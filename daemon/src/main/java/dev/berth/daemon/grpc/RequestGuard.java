package dev.berth.daemon.grpc;

import com.google.protobuf.Message;
import com.google.protobuf.UnknownFieldSet;
import dev.berth.core.BerthException;
import io.grpc.Context;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.StatusRuntimeException;
import java.io.InputStream;

/**
 * Two guards every berth.v1 call passes before it reaches an adapter:
 *
 * <ul>
 *   <li>A request body that is not the method's message (garbage bytes, a truncated message) gets
 *       INVALID_ARGUMENT with one line. grpc-java would answer UNKNOWN ("Application error
 *       processing RPC"): its parse failure is thrown inside the call's listener. So the request
 *       marshaller here never throws; a failed parse yields a marker message that the listener
 *       recognises (by identity) and answers.
 *   <li>A request whose deadline has already passed (or whose client has gone) when it is read does
 *       nothing: the daemon never starts work nobody waits for.
 * </ul>
 */
public final class RequestGuard {
  /** An unknown field number no berth.v1 message uses (the largest proto field number). */
  private static final int MARKER_FIELD = 536_870_911;

  private RequestGuard() {}

  /** {@code service} with both guards on every method (reflection still sees its schema). */
  public static ServerServiceDefinition guard(ServerServiceDefinition service) {
    ServiceDescriptor old = service.getServiceDescriptor();
    ServiceDescriptor.Builder descriptor =
        ServiceDescriptor.newBuilder(old.getName()).setSchemaDescriptor(old.getSchemaDescriptor());
    java.util.List<ServerMethodDefinition<?, ?>> methods = new java.util.ArrayList<>();
    for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
      ServerMethodDefinition<?, ?> guarded = guardMethod(m);
      methods.add(guarded);
      descriptor.addMethod(guarded.getMethodDescriptor());
    }
    ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(b::addMethod);
    return b.build();
  }

  private static <Q, R> ServerMethodDefinition<Q, R> guardMethod(ServerMethodDefinition<Q, R> m) {
    MethodDescriptor<Q, R> md = m.getMethodDescriptor();
    if (!(md.getRequestMarshaller()
        instanceof MethodDescriptor.PrototypeMarshaller<Q> prototypes)) {
      return m;
    }
    Q prototype = prototypes.getMessagePrototype();
    if (!(prototype instanceof Message proto)) return m;
    @SuppressWarnings("unchecked")
    Q marker =
        (Q)
            proto.toBuilder()
                .setUnknownFields(
                    UnknownFieldSet.newBuilder()
                        .addField(
                            MARKER_FIELD, UnknownFieldSet.Field.newBuilder().addVarint(1).build())
                        .build())
                .build();
    MethodDescriptor.Marshaller<Q> safe =
        new MethodDescriptor.PrototypeMarshaller<>() {
          @Override
          public Q getMessagePrototype() {
            return prototype;
          }

          @Override
          public Class<Q> getMessageClass() {
            return prototypes.getMessageClass();
          }

          @Override
          public InputStream stream(Q value) {
            return prototypes.stream(value);
          }

          @Override
          public Q parse(InputStream stream) {
            try {
              return prototypes.parse(stream);
            } catch (RuntimeException e) {
              return marker;
            }
          }
        };
    MethodDescriptor<Q, R> guardedDescriptor =
        md.toBuilder(safe, md.getResponseMarshaller()).build();
    ServerCallHandler<Q, R> next = m.getServerCallHandler();
    String messageName = ((Message) prototype).getDescriptorForType().getFullName();
    ServerCallHandler<Q, R> handler =
        (call, headers) -> guardedCall(call, headers, next, marker, messageName);
    return ServerMethodDefinition.create(guardedDescriptor, handler);
  }

  private static <Q, R> ServerCall.Listener<Q> guardedCall(
      ServerCall<Q, R> call,
      Metadata headers,
      ServerCallHandler<Q, R> next,
      Q marker,
      String messageName) {
    ServerCall.Listener<Q> delegate = next.startCall(call, headers);
    return new SimpleForwardingServerCallListener<>(delegate) {
      private boolean refused;

      @Override
      public void onMessage(Q message) {
        if (refused) return;
        if (message == marker) {
          refused = true;
          StatusRuntimeException s =
              GrpcErrors.build(BerthException.invalid("the request is not a valid " + messageName));
          call.close(s.getStatus(), s.getTrailers());
          return;
        }
        if (Context.current().isCancelled()) {
          refused = true; // the client's deadline passed or it went away: no work for nobody
          return;
        }
        super.onMessage(message);
      }

      @Override
      public void onHalfClose() {
        if (!refused) super.onHalfClose();
      }
    };
  }
}
