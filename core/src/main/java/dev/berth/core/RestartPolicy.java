package dev.berth.core;

import java.time.Duration;

/**
 * docker's restart policies. {@code no} never restarts; {@code on-failure[:MAX]} restarts after a
 * non-zero exit (at most MAX times, 0 = unlimited); {@code always} restarts after any exit; {@code
 * unless-stopped} too, but a manual stop also survives daemon restarts. A manual stop (berth stop /
 * kill) is never followed by a policy restart.
 */
public record RestartPolicy(String name, int maxRetries) {
  public static final RestartPolicy NO = new RestartPolicy("no", 0);
  private static final Duration FIRST_DELAY = Duration.ofMillis(100);
  private static final Duration MAX_DELAY = Duration.ofMinutes(1);

  /** A run at least this long counts as healthy: the backoff starts again from the first delay. */
  private static final Duration HEALTHY_RUN = Duration.ofSeconds(10);

  /** Parses docker's syntax ("no", "on-failure", "on-failure:3", "always", "unless-stopped"). */
  public static RestartPolicy parse(String text) {
    String s = text == null ? "" : text.strip();
    if (s.isEmpty() || s.equals("no")) return NO;
    if (s.equals("always") || s.equals("unless-stopped")) return new RestartPolicy(s, 0);
    if (s.equals("on-failure")) return new RestartPolicy(s, 0);
    if (s.startsWith("on-failure:")) {
      String n = s.substring("on-failure:".length());
      try {
        int max = Integer.parseInt(n);
        if (max >= 0) return new RestartPolicy("on-failure", max);
      } catch (NumberFormatException ignored) {
        // reported below
      }
      throw BerthException.invalid(
          "invalid restart policy \"" + s + "\": the maximum retry count must be a number >= 0");
    }
    throw BerthException.invalid(
        "invalid restart policy \"" + s + "\": use no, on-failure[:MAX], always or unless-stopped");
  }

  /** Null-safe: journals written before policies existed have none. */
  public static RestartPolicy of(RestartPolicy p) {
    return p == null ? NO : p;
  }

  public static RestartPolicy of(String name, int maxRetries) {
    if (name == null || name.isBlank()) return NO;
    return parse(name.equals("on-failure") && maxRetries > 0 ? "on-failure:" + maxRetries : name);
  }

  public boolean isNo() {
    return name.equals("no");
  }

  /**
   * Whether an exit calls for a restart, given the restarts already made since the last manual
   * start.
   */
  public boolean restartsAfter(int exitCode, boolean manualStop, int restartCount) {
    if (manualStop) return false;
    return switch (name) {
      case "always", "unless-stopped" -> true;
      case "on-failure" -> exitCode != 0 && (maxRetries == 0 || restartCount < maxRetries);
      default -> false;
    };
  }

  /** Whether a stopped container is started again when the daemon starts (docker semantics). */
  public boolean restartsOnDaemonStart(boolean manualStop) {
    return name.equals("always") || (name.equals("unless-stopped") && !manualStop);
  }

  /**
   * Exponential backoff: 100 ms doubled per consecutive restart, at most one minute; a run that
   * lasted 10 s or more starts over at 100 ms.
   */
  public static Duration backoff(int restartCount, Duration lastRun) {
    if (lastRun != null && lastRun.compareTo(HEALTHY_RUN) >= 0) return FIRST_DELAY;
    long ms = FIRST_DELAY.toMillis() << Math.min(restartCount, 20);
    return ms >= MAX_DELAY.toMillis() ? MAX_DELAY : Duration.ofMillis(ms);
  }

  @Override
  public String toString() {
    return name.equals("on-failure") && maxRetries > 0 ? "on-failure:" + maxRetries : name;
  }
}
