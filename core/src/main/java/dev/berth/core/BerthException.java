package dev.berth.core;

/**
 * A failure the user should see as one line. The code maps onto a gRPC status in the daemon's
 * adapters and the reason onto its {@code google.rpc.ErrorInfo} (a client branches on the reason,
 * never on the message); the message is that line, so it must never be a stack trace, a class name
 * or a whole echoed input ({@link #quote} shortens one). {@code field} names the request field at
 * fault, for an {@link Reason#INVALID_ARGUMENT}.
 */
public final class BerthException extends RuntimeException {
  public enum Code {
    NOT_FOUND,
    ALREADY_EXISTS,
    FAILED_PRECONDITION,
    INVALID_ARGUMENT,
    UNAVAILABLE,
    PERMISSION_DENIED,
    RESOURCE_EXHAUSTED,
    UNIMPLEMENTED,
    DEADLINE_EXCEEDED,
    INTERNAL
  }

  /** The stable reasons of berth.v1's ErrorReason (written there with an ERROR_REASON_ prefix). */
  public enum Reason {
    INVALID_ARGUMENT,
    CONTAINER_NOT_FOUND,
    IMAGE_NOT_FOUND,
    EXEC_NOT_FOUND,
    NAME_IN_USE,
    AMBIGUOUS_REFERENCE,
    INVALID_STATE,
    IMAGE_IN_USE,
    REGISTRY_DENIED,
    UNAVAILABLE,
    DISK_FULL,
    RUNTIME_FAILED,
    UNSUPPORTED,
    TIMEOUT,
    INTERNAL,
    IMAGE_INVALID
  }

  /** The longest piece of an input a message quotes. */
  public static final int QUOTE_LIMIT = 64;

  private final Code code;
  private final Reason reason;
  private final String field;

  public BerthException(Code code, String message) {
    this(code, defaultReason(code), null, message);
  }

  public BerthException(Code code, Reason reason, String field, String message) {
    super(message, null, false, false);
    this.code = code;
    this.reason = reason;
    this.field = field;
  }

  public Code code() {
    return code;
  }

  public Reason reason() {
    return reason;
  }

  /** The request field at fault (a proto field path such as {@code process.env}), or null. */
  public String field() {
    return field;
  }

  private static Reason defaultReason(Code code) {
    return switch (code) {
      case NOT_FOUND -> Reason.CONTAINER_NOT_FOUND;
      case ALREADY_EXISTS -> Reason.NAME_IN_USE;
      case FAILED_PRECONDITION -> Reason.INVALID_STATE;
      case INVALID_ARGUMENT -> Reason.INVALID_ARGUMENT;
      case UNAVAILABLE -> Reason.UNAVAILABLE;
      case PERMISSION_DENIED -> Reason.REGISTRY_DENIED;
      case RESOURCE_EXHAUSTED -> Reason.INVALID_STATE;
      case UNIMPLEMENTED -> Reason.UNSUPPORTED;
      case DEADLINE_EXCEEDED -> Reason.TIMEOUT;
      case INTERNAL -> Reason.INTERNAL;
    };
  }

  /** No container answers to {@code ref}. */
  public static BerthException containerNotFound(String ref) {
    return new BerthException(
        Code.NOT_FOUND, Reason.CONTAINER_NOT_FOUND, null, "no such container: " + quote(ref));
  }

  /** No image answers to {@code ref}. */
  public static BerthException imageNotFound(String ref) {
    return new BerthException(
        Code.NOT_FOUND, Reason.IMAGE_NOT_FOUND, null, "no such image: " + quote(ref));
  }

  public static BerthException execNotFound(String id) {
    return new BerthException(
        Code.NOT_FOUND, Reason.EXEC_NOT_FOUND, null, "no such exec: " + quote(id));
  }

  public static BerthException notFound(Reason reason, String m) {
    return new BerthException(Code.NOT_FOUND, reason, null, m);
  }

  public static BerthException exists(String m) {
    return new BerthException(Code.ALREADY_EXISTS, m);
  }

  public static BerthException precondition(String m) {
    return new BerthException(Code.FAILED_PRECONDITION, m);
  }

  public static BerthException invalid(String m) {
    return new BerthException(Code.INVALID_ARGUMENT, m);
  }

  /** A malformed or too large request field: {@code field} is its proto path. */
  public static BerthException invalidField(String field, String m) {
    return new BerthException(Code.INVALID_ARGUMENT, Reason.INVALID_ARGUMENT, field, m);
  }

  public static BerthException internal(String m) {
    return new BerthException(Code.INTERNAL, m);
  }

  public static BerthException unavailable(String m) {
    return new BerthException(Code.UNAVAILABLE, m);
  }

  public static BerthException denied(String m) {
    return new BerthException(Code.PERMISSION_DENIED, m);
  }

  public static BerthException unsupported(String m) {
    return new BerthException(Code.UNIMPLEMENTED, Reason.UNSUPPORTED, null, m);
  }

  /** The same failure with another reason. */
  public BerthException withReason(Reason r) {
    return new BerthException(code, r, field, getMessage());
  }

  /** Any throwable as a user-facing one-liner (unwrapping completion wrappers). */
  public static BerthException from(Throwable t) {
    Throwable c = unwrap(t);
    if (c instanceof BerthException b) return b;
    String m = c.getMessage();
    return new BerthException(Code.INTERNAL, oneLine(m != null ? m : c.getClass().getSimpleName()));
  }

  /** The failure inside CompletionException/ExecutionException wrappers. */
  public static Throwable unwrap(Throwable t) {
    Throwable c = t;
    while ((c instanceof java.util.concurrent.CompletionException
            || c instanceof java.util.concurrent.ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    return c;
  }

  public static String oneLine(String s) {
    String t = s.strip();
    int nl = t.indexOf('\n');
    return nl < 0 ? t : t.substring(0, nl).strip();
  }

  /**
   * An input as a message may quote it: on one line, at most {@value #QUOTE_LIMIT} characters (a
   * longer one is cut and says how long it was), so an error never echoes a whole input.
   */
  public static String quote(String input) {
    if (input == null) return "\"\"";
    StringBuilder b = new StringBuilder(Math.min(input.length(), QUOTE_LIMIT) + 2);
    int n = Math.min(input.length(), QUOTE_LIMIT);
    for (int i = 0; i < n; i++) {
      char ch = input.charAt(i);
      b.append(ch < 0x20 || ch == 0x7f ? '?' : ch);
    }
    String shown = b.toString();
    return input.length() <= QUOTE_LIMIT ? shown : shown + "… (" + input.length() + " characters)";
  }
}
