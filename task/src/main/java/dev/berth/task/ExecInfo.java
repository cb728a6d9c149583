package dev.berth.task;

import java.time.Instant;
import java.util.List;

/**
 * An exec as its container's shim records it. {@code pid} is 0 unless running; {@code exitCode}
 * null until exited; times null before they happen.
 */
public record ExecInfo(
    String id,
    String containerId,
    State state,
    int pid,
    Integer exitCode,
    List<String> args,
    boolean attachStdin,
    Instant startedAt,
    Instant finishedAt) {

  public enum State {
    CREATED,
    RUNNING,
    EXITED
  }
}
