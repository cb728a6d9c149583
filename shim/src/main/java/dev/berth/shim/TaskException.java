package dev.berth.shim;

import io.grpc.Status;

/** A failed task operation with the gRPC status it maps to; the message is one line. */
final class TaskException extends Exception {
  private final Status.Code code;

  TaskException(Status.Code code, String message) {
    super(message.replaceAll("\\s*\\n\\s*", " ").strip());
    this.code = code;
  }

  static TaskException precondition(String message) {
    return new TaskException(Status.Code.FAILED_PRECONDITION, message);
  }

  static TaskException internal(String message) {
    return new TaskException(Status.Code.INTERNAL, message);
  }

  Status toStatus() {
    return Status.fromCode(code).withDescription(getMessage());
  }
}
