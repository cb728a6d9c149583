package dev.berth.core;

/**
 * A failure the user should see as one line. The code maps onto a gRPC status in the daemon's
 * adapters; the message is that line, so it must never be a stack trace or a class name.
 */
public final class BerthException extends RuntimeException {
  public enum Code {
    NOT_FOUND,
    ALREADY_EXISTS,
    FAILED_PRECONDITION,
    INVALID_ARGUMENT,
    UNAVAILABLE,
    PERMISSION_DENIED,
    INTERNAL
  }

  private final Code code;

  public BerthException(Code code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public Code code() {
    return code;
  }

  public static BerthException notFound(String m) {
    return new BerthException(Code.NOT_FOUND, m);
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

  public static BerthException internal(String m) {
    return new BerthException(Code.INTERNAL, m);
  }

  public static BerthException unavailable(String m) {
    return new BerthException(Code.UNAVAILABLE, m);
  }

  public static BerthException denied(String m) {
    return new BerthException(Code.PERMISSION_DENIED, m);
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
}
