package dev.berth.core;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/** A read-only snapshot of one container, as list/inspect show it. */
public record ContainerView(
    String id,
    String name,
    String image,
    String imageId,
    String state,
    int pid,
    int exitCode,
    Instant createdAt,
    Instant startedAt,
    Instant finishedAt,
    List<String> command,
    boolean autoRemove,
    String shimAddress,
    int shimPid,
    String bundle,
    Map<String, String> labels,
    String error,
    int restartCount,
    String restartPolicy,
    /** "default", "unconfined" or "custom" (ContainerSpec#seccompMode); "" when unknown. */
    String seccomp) {

  public boolean running() {
    return "running".equals(state);
  }
}
