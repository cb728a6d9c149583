package dev.berth.shim;

import java.time.Instant;

/**
 * The shim's own log: one line per event on stderr, which the daemon appends to shim.log.
 * Deliberately not java.util.logging or slf4j: nothing to configure and fewer classes to load.
 */
final class ShimLog {
  private static volatile String prefix = "berth-shim";

  private ShimLog() {}

  static void setId(String id) {
    prefix = "berth-shim[" + id + "]";
  }

  static void info(String message) {
    System.err.println(Timestamps.format(Instant.now()) + " " + prefix + " " + message);
  }

  static void warn(String message) {
    info("WARN " + message);
  }

  /** A failure as one line: its type and message, with the wrappers of futures taken off. */
  static String describe(Throwable t) {
    while ((t instanceof java.util.concurrent.CompletionException
            || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    String message = t.getMessage() == null ? "" : ": " + t.getMessage();
    return (t.getClass().getSimpleName() + message).replaceAll("\\s*\\n\\s*", " ");
  }
}
