package dev.berth.core;

import java.time.Duration;

/**
 * What a stop or a kill does when the request leaves it open (docker's defaults). The daemon
 * applies them; the CLI shows them and sizes its deadlines by them.
 */
public final class Defaults {
  /** Seconds between the stop signal and SIGKILL. */
  public static final int STOP_TIMEOUT_SECONDS = 10;

  public static final Duration STOP_TIMEOUT = Duration.ofSeconds(STOP_TIMEOUT_SECONDS);

  /** `stop` without a signal. */
  public static final int STOP_SIGNAL = Signals.SIGTERM;

  /** `kill` without a signal. */
  public static final int KILL_SIGNAL = Signals.SIGKILL;

  private Defaults() {}
}
