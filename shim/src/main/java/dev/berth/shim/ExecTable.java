package dev.berth.shim;

import dev.berth.api.shim.v1.CreateExecRequest;
import dev.berth.api.shim.v1.ExecInfo;
import dev.berth.api.shim.v1.ExecStatus;
import io.grpc.Status;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shim's records of its container's execs: the truth about them (the daemon asks, and a daemon
 * restart loses nothing). Bounded: at most {@link #MAX_LIVE} created or running, and the {@link
 * #KEEP_EXITED} newest exited ones; an older exited record is dropped when a newer one exits.
 */
final class ExecTable {
  static final int MAX_LIVE = 64;
  static final int KEEP_EXITED = 64;

  private final Map<String, Entry> entries = new LinkedHashMap<>();
  private final ArrayDeque<String> exitedOrder = new ArrayDeque<>();

  /** One exec; its fields change under the table's monitor. */
  static final class Entry {
    final String containerId;
    final CreateExecRequest request;
    private ExecStatus status = ExecStatus.EXEC_STATUS_CREATED;
    private boolean starting;
    private int pid;
    private int exitCode;
    private Instant startedAt;
    private Instant finishedAt;

    Entry(String containerId, CreateExecRequest request) {
      this.containerId = containerId;
      this.request = request;
    }

    String id() {
      return request.getExecId();
    }
  }

  synchronized ExecInfo create(String containerId, CreateExecRequest req) throws TaskException {
    String id = req.getExecId();
    if (!id.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")) {
      throw new TaskException(Status.Code.INVALID_ARGUMENT, "invalid exec id " + quote(id));
    }
    if (req.getArgsCount() == 0) {
      throw new TaskException(Status.Code.INVALID_ARGUMENT, "exec needs args");
    }
    if (entries.containsKey(id)) {
      throw new TaskException(Status.Code.ALREADY_EXISTS, "exec " + id + " exists already");
    }
    long live =
        entries.values().stream().filter(e -> e.status != ExecStatus.EXEC_STATUS_EXITED).count();
    if (live >= MAX_LIVE) {
      throw new TaskException(
          Status.Code.RESOURCE_EXHAUSTED,
          "container "
              + containerId
              + " has "
              + MAX_LIVE
              + " execs created or running already (the limit)");
    }
    Entry e = new Entry(containerId, req);
    entries.put(id, e);
    return info(e);
  }

  synchronized Entry get(String id) throws TaskException {
    Entry e = entries.get(id);
    if (e == null) {
      throw new TaskException(Status.Code.NOT_FOUND, "no such exec: " + quote(id));
    }
    return e;
  }

  synchronized ExecInfo inspect(String id) throws TaskException {
    return info(get(id));
  }

  synchronized List<ExecInfo> list() {
    List<ExecInfo> all = new ArrayList<>(entries.size());
    for (Entry e : entries.values()) {
      all.add(info(e));
    }
    return all;
  }

  /** A StartExec takes the exec on: only once. */
  synchronized Entry beginStart(String id) throws TaskException {
    Entry e = get(id);
    if (e.starting || e.status != ExecStatus.EXEC_STATUS_CREATED) {
      throw TaskException.precondition(
          "exec " + id + " was started already (" + statusWord(e.status) + ")");
    }
    e.starting = true;
    return e;
  }

  synchronized void running(Entry e, int pid, Instant at) {
    e.status = ExecStatus.EXEC_STATUS_RUNNING;
    e.pid = pid;
    e.startedAt = at;
  }

  synchronized void exited(Entry e, int exitCode, Instant at) {
    if (e.status == ExecStatus.EXEC_STATUS_EXITED) {
      return;
    }
    e.status = ExecStatus.EXEC_STATUS_EXITED;
    e.pid = 0;
    e.exitCode = exitCode;
    e.finishedAt = at;
    exitedOrder.add(e.id());
    while (exitedOrder.size() > KEEP_EXITED) {
      entries.remove(exitedOrder.poll());
    }
  }

  /** The pid to signal: the exec must be running. */
  synchronized int runningPid(String id) throws TaskException {
    Entry e = get(id);
    if (e.status != ExecStatus.EXEC_STATUS_RUNNING || e.pid <= 0) {
      throw TaskException.precondition(
          "exec " + id + " is not running (" + statusWord(e.status) + ")");
    }
    return e.pid;
  }

  synchronized int liveCount() {
    return (int)
        entries.values().stream().filter(e -> e.status != ExecStatus.EXEC_STATUS_EXITED).count();
  }

  private static ExecInfo info(Entry e) {
    ExecInfo.Builder b =
        ExecInfo.newBuilder()
            .setExecId(e.id())
            .setContainerId(e.containerId)
            .setStatus(e.status)
            .setPid(e.pid)
            .setExitCode(e.exitCode)
            .addAllArgs(e.request.getArgsList())
            .setAttachStdin(e.request.getAttachStdin());
    if (e.startedAt != null) {
      b.setStartedAt(Timestamps.format(e.startedAt));
    }
    if (e.finishedAt != null) {
      b.setFinishedAt(Timestamps.format(e.finishedAt));
    }
    return b.build();
  }

  private static String statusWord(ExecStatus s) {
    return switch (s) {
      case EXEC_STATUS_CREATED -> "created";
      case EXEC_STATUS_RUNNING -> "running";
      case EXEC_STATUS_EXITED -> "exited";
      default -> "unknown";
    };
  }

  private static String quote(String s) {
    String one = s.replaceAll("[\\x00-\\x1f\\x7f]", "?");
    return one.length() <= 64 ? one : one.substring(0, 64) + "… (" + s.length() + " characters)";
  }
}
