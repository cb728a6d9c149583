package dev.berth.daemon.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import dev.berth.core.BerthException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class GrpcErrorsTest {
  @Test
  void a_not_found_carries_its_reason_and_a_short_message() throws Exception {
    StatusRuntimeException s =
        GrpcErrors.toStatus(
            new CompletionException(BerthException.containerNotFound("a".repeat(9000))));
    assertEquals(Status.Code.NOT_FOUND, s.getStatus().getCode());
    String m = s.getStatus().getDescription();
    assertTrue(m.length() < 200, m);
    assertTrue(m.contains("9000 characters"), m);
    com.google.rpc.Status details = StatusProto.fromThrowable(s);
    assertEquals("CONTAINER_NOT_FOUND", details.getDetails(0).unpack(ErrorInfo.class).getReason());
  }

  @Test
  void a_bad_field_carries_a_bad_request_detail() throws Exception {
    StatusRuntimeException s =
        GrpcErrors.toStatus(BerthException.invalidField("process.env", "env is too large"));
    assertEquals(Status.Code.INVALID_ARGUMENT, s.getStatus().getCode());
    com.google.rpc.Status details = StatusProto.fromThrowable(s);
    assertEquals(2, details.getDetailsCount());
    BadRequest bad = details.getDetails(1).unpack(BadRequest.class);
    assertEquals("process.env", bad.getFieldViolations(0).getField());
  }

  @Test
  void an_unexpected_failure_is_internal_on_one_bounded_line() throws Exception {
    StatusRuntimeException s =
        GrpcErrors.toStatus(new IllegalStateException("x".repeat(5000) + "\nsecond line"));
    String m = s.getStatus().getDescription();
    assertEquals(Status.Code.INTERNAL, s.getStatus().getCode());
    assertTrue(m.length() <= 300, "message of " + m.length());
    assertFalse(m.contains("\n"));
    assertEquals(
        "INTERNAL", StatusProto.fromThrowable(s).getDetails(0).unpack(ErrorInfo.class).getReason());
  }
}
