package dev.berth.task;

import dev.berth.core.ContainerSpec;
import dev.berth.host.BerthPaths;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * The blocking side of a container's lifecycle as the actors see it: every step is a
 * CompletionStage. {@link ContainerRuntime} is the real one (files, mounts, shim processes); tests
 * substitute a fake to drive the actors through every state.
 */
public interface TaskRuntime {
  /**
   * A container process running under its shim; {@code group} names the group shim it runs in
   * (null: a one-container shim of its own).
   */
  record RunningTask(
      int pid,
      long shimPid,
      String shimAddress,
      Instant startedAt,
      TaskHandle handle,
      String group) {
    public RunningTask(
        int pid, long shimPid, String shimAddress, Instant startedAt, TaskHandle handle) {
      this(pid, shimPid, shimAddress, startedAt, handle, null);
    }
  }

  /** What asking a container's shim found (after a daemon restart or a broken connection). */
  sealed interface Observed {
    /** {@code group}: the group shim it runs in (null: a shim of its own). */
    record Running(int pid, long shimPid, String shimAddress, TaskHandle handle, String group)
        implements Observed {
      public Running(int pid, long shimPid, String shimAddress, TaskHandle handle) {
        this(pid, shimPid, shimAddress, handle, null);
      }
    }

    record Exited(int exitCode, Instant exitedAt, TaskHandle handleOrNull) implements Observed {}

    record Lost(String why) implements Observed {}

    /** The shim process is alive but did not answer: not a death, ask again later. */
    record Unresponsive(String why) implements Observed {}
  }

  BerthPaths paths();

  /** Writes the OCI bundle; no process, no mount. */
  CompletionStage<Void> prepareBundle(ContainerSpec spec);

  /** Launches a shim and runs create + start; on failure nothing is left running or mounted. */
  CompletionStage<RunningTask> start(ContainerSpec spec);

  CompletionStage<Observed> observe(String id);

  /** After an exit: the task is deleted (runc delete, unmount) and its shim ends. */
  CompletionStage<Void> deleteTask(String id, TaskHandle handleOrNull);

  /** Removes everything the container owns on disk. */
  CompletionStage<Void> removeBundle(String id);

  /** Ids of the container bundles on disk, whatever the journal says. */
  CompletionStage<List<String>> bundlesOnDisk();

  /**
   * The spec recorded beside a bundle (to rebuild a container the journal lost); empty if
   * unreadable.
   */
  CompletionStage<Optional<ContainerSpec>> readBundleRecord(String id);

  /** When the container's current process started, if the shim's state says so. */
  default Optional<Instant> startedAt(String id) {
    return Optional.empty();
  }
}
