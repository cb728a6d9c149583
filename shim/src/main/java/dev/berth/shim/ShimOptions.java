package dev.berth.shim;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The command line: {@code --id ID --state-dir DIR --socket PATH --runtime runc|crun --runtime-root
 * DIR [--runtime-timeout SECONDS] [--spare [--parent-pid PID]]}. The runtime binary is looked up on
 * PATH; a runtime command that has not exited after {@code --runtime-timeout} seconds (default 60,
 * fractions allowed) is killed and fails. A spare shim is started ahead of need and takes on the
 * identity of the first container it is asked to create. {@code --parent-pid} is the pid of the
 * daemon that starts a spare (0: not given): the spare ends itself, unadopted, as soon as that
 * process is no longer its parent. {@code --tasks-dir} holds the task dirs of a group shim's
 * containers ({@code <tasks dir>/<id>}) and is where a legacy spare's dir moves when a container
 * adopts it (default: the state dir's parent).
 */
record ShimOptions(
    String id,
    Path stateDir,
    Path socket,
    String runtime,
    Path runtimeRoot,
    Duration runtimeTimeout,
    boolean spare,
    int parentPid,
    Path tasksDir) {
  static final String USAGE =
      "usage: berth-shim --id ID --state-dir DIR --socket PATH"
          + " [--runtime runc|crun] --runtime-root DIR [--runtime-timeout SECONDS]"
          + " [--spare [--parent-pid PID]] [--tasks-dir DIR]";

  /** Thrown for a bad command line; the message is one line. */
  static final class UsageException extends Exception {
    UsageException(String message) {
      super(message);
    }
  }

  static ShimOptions parse(String[] args) throws UsageException {
    String id = null;
    String stateDir = null;
    String socket = null;
    String runtime = "runc";
    String runtimeRoot = null;
    boolean spare = false;
    int parentPid = 0;
    String tasksDir = null;
    Duration runtimeTimeout = RuncDriver.DEFAULT_TIMEOUT;
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--spare")) {
        spare = true;
        continue;
      }
      if (i + 1 >= args.length) {
        throw new UsageException("missing value for " + flag);
      }
      String value = args[++i];
      switch (flag) {
        case "--id" -> id = value;
        case "--state-dir" -> stateDir = value;
        case "--socket" -> socket = value;
        case "--runtime" -> runtime = value;
        case "--runtime-root" -> runtimeRoot = value;
        case "--parent-pid" -> parentPid = parsePid(value);
        case "--tasks-dir" -> tasksDir = value;
        case "--runtime-timeout" -> runtimeTimeout = parseTimeout(value);
        default -> throw new UsageException("unknown flag " + flag);
      }
    }
    if (id == null || stateDir == null || socket == null || runtimeRoot == null) {
      throw new UsageException("--id, --state-dir, --socket and --runtime-root are required");
    }
    if (!id.matches("\\.?[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")) {
      throw new UsageException("invalid id " + id);
    }
    if (!runtime.equals("runc") && !runtime.equals("crun")) {
      throw new UsageException("--runtime must be runc or crun");
    }
    // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
    if (socket.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 107) {
      throw new UsageException("socket path longer than 107 bytes: " + socket);
    }
    return new ShimOptions(
        id,
        Path.of(stateDir).toAbsolutePath(),
        Path.of(socket).toAbsolutePath(),
        runtime,
        Path.of(runtimeRoot).toAbsolutePath(),
        runtimeTimeout,
        spare,
        parentPid,
        tasksDir != null
            ? Path.of(tasksDir).toAbsolutePath()
            : Path.of(stateDir).toAbsolutePath().getParent());
  }

  private static Duration parseTimeout(String value) throws UsageException {
    try {
      double seconds = Double.parseDouble(value);
      if (seconds > 0 && seconds <= 3600) {
        return Duration.ofMillis(Math.round(seconds * 1000));
      }
    } catch (NumberFormatException ignored) {
      // the message below says what is expected
    }
    throw new UsageException("--runtime-timeout must be seconds in (0, 3600], not " + value);
  }

  private static int parsePid(String value) throws UsageException {
    try {
      int pid = Integer.parseInt(value);
      if (pid > 0) {
        return pid;
      }
    } catch (NumberFormatException ignored) {
      // the message below says what is expected
    }
    throw new UsageException("--parent-pid must be a positive integer, not " + value);
  }
}
