package dev.berth.shim;

import dev.berth.api.shim.v1.CreateExecRequest;
import dev.berth.api.shim.v1.CreateTaskReply;
import dev.berth.api.shim.v1.CreateTaskRequest;
import dev.berth.api.shim.v1.DeleteTaskRequest;
import dev.berth.api.shim.v1.Empty;
import dev.berth.api.shim.v1.ExecEvent;
import dev.berth.api.shim.v1.ExecInfo;
import dev.berth.api.shim.v1.ExecInput;
import dev.berth.api.shim.v1.ExitStatus;
import dev.berth.api.shim.v1.InspectExecRequest;
import dev.berth.api.shim.v1.KillExecRequest;
import dev.berth.api.shim.v1.KillTaskRequest;
import dev.berth.api.shim.v1.ListExecsReply;
import dev.berth.api.shim.v1.ListExecsRequest;
import dev.berth.api.shim.v1.ListTasksReply;
import dev.berth.api.shim.v1.ListTasksRequest;
import dev.berth.api.shim.v1.PidsReply;
import dev.berth.api.shim.v1.PidsRequest;
import dev.berth.api.shim.v1.ShutdownRequest;
import dev.berth.api.shim.v1.StartTaskRequest;
import dev.berth.api.shim.v1.StateTaskRequest;
import dev.berth.api.shim.v1.TaskGrpc;
import dev.berth.api.shim.v1.TaskStateReply;
import dev.berth.api.shim.v1.WaitTaskRequest;
import dev.berth.runtime.files.AtomicFiles;
import dev.berth.runtime.files.FileTrees;
import dev.berth.runtime.nativ.Posix;
import dev.berth.runtime.nativ.Reaper;
import dev.berth.shim.ExitFile.ExitRecord;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * The shim's gRPC Task service (berth.shim.v1.Task). A legacy shim (Creates without a group) serves
 * one container whose task dir is the shim's state dir, and ends after its Delete. A group shim
 * serves up to {@code max_containers} containers of one group, each in its own task dir {@code
 * <tasks dir>/<id>} (where the daemon reads exit files), and ends on a Shutdown once it has none.
 * Every request names its container by {@code container_id}; with exactly one container an empty
 * one means that container.
 */
final class TaskService extends TaskGrpc.TaskImplBase {
  private final ShimOptions options;
  private final RuncDriver runc;
  private final Reaper reaper;
  private final Executor io;
  private final Executor exitHandling;
  private final Runnable exitShim;
  private final int shimPid = Posix.getpid();

  /** One container of this shim: its init process, execs, task dir and runc (its own log). */
  record ContainerTask(String id, InitProcess init, ExecTable execs, Path dir, RuncDriver runc) {}

  /** The shim's one output path: a poll thread and a converter thread, started on first use. */
  private final OutputPoller output = new OutputPoller();

  /**
   * The containers, by id. Read without a lock, so State and the other RPCs never wait for a Create
   * in progress; changed under this object's monitor.
   */
  private final Map<String, ContainerTask> tasks = new ConcurrentHashMap<>();

  /** Creates in progress (their slots are taken), under this object's monitor. */
  private final java.util.Set<String> creating = new java.util.HashSet<>();

  /** This shim's name and state dir: a spare's change once, when it is adopted. */
  private volatile String id;

  private volatile Path stateDir;
  private volatile boolean adopted;

  /** The group this shim serves (null: none yet, or a legacy shim). */
  private volatile String group;

  /** Set by the first Create: a legacy shim (one container, no group) or a group shim. */
  private volatile Boolean legacy;

  /** A spare whose daemon died: it must never take a container on (nobody would clean it up). */
  private boolean abandoned;

  /** Set once the shim ends (Shutdown): no Create may start afterwards. */
  private boolean ending;

  TaskService(
      ShimOptions options,
      RuncDriver runc,
      Reaper reaper,
      Executor io,
      Executor exitHandling,
      Runnable exitShim) {
    this.options = options;
    this.runc = runc;
    this.reaper = reaper;
    this.io = io;
    this.exitHandling = exitHandling;
    this.exitShim = exitShim;
    this.id = options.id();
    this.stateDir = options.stateDir();
  }

  /**
   * Marks an unadopted spare as abandoned; false if a Create took it on first. Shares the monitor
   * with Create, so a Create held up (e.g. by a failpoint) cannot adopt afterwards.
   */
  synchronized boolean abandon() {
    if (adopted()) {
      return false;
    }
    abandoned = true;
    return true;
  }

  /** True once a spare shim has taken on a container (or for a shim started for one). */
  boolean adopted() {
    return adopted || !options.spare();
  }

  /**
   * A spare shim becomes the shim of container {@code newId} (legacy) or of group {@code newGroup}:
   * its state dir is renamed to the container's task dir or to the group's dir (address and
   * shim.pid move along, so the daemon finds it where it looks). The socket keeps its (hashed,
   * short) path, which the address file records.
   */
  private void adopt(String newId, String newGroup) throws TaskException {
    String name = newGroup != null ? newGroup : newId;
    Path target =
        newGroup != null ? stateDir.resolveSibling(newGroup) : options.tasksDir().resolve(newId);
    try {
      Files.move(stateDir, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw TaskException.precondition("cannot take on " + name + ": " + e.getMessage());
    }
    ShimLog.info("spare adopted by " + (newGroup != null ? "group " : "") + name);
    // A spare starts at a low priority so that warming it up never slows a running start;
    // as a container's shim (and the parent of its processes) it runs at normal priority.
    try {
      Posix.setNiceAllThreads(0);
    } catch (IOException | RuntimeException e) {
      ShimLog.warn("cannot reset the spare's priority: " + e.getMessage());
    }
    stateDir = target;
    id = name;
    if (newGroup == null) runc.useLogFile(target.resolve("runc.log"));
    ShimLog.setId(name);
    adopted = true;
  }

  private static final String NAME = "[A-Za-z0-9][A-Za-z0-9_.-]{0,127}";

  /** The container a request names; an empty id names the only one. */
  private ContainerTask task(String containerId) throws TaskException {
    if (containerId.isEmpty()) {
      List<ContainerTask> all = new ArrayList<>(tasks.values());
      if (all.size() == 1) {
        return all.get(0);
      }
      if (all.isEmpty()) {
        throw TaskException.precondition("no task: Create first");
      }
      throw new TaskException(
          Status.Code.INVALID_ARGUMENT,
          "container_id is required: this shim serves " + all.size() + " containers");
    }
    ContainerTask task = tasks.get(containerId);
    if (task == null) {
      throw new TaskException(Status.Code.NOT_FOUND, "no container " + containerId + " here");
    }
    return task;
  }

  @Override
  public void create(CreateTaskRequest req, StreamObserver<CreateTaskReply> reply) {
    call(reply, () -> CreateTaskReply.newBuilder().setPid(create(req)).build());
  }

  private int create(CreateTaskRequest req) throws TaskException {
    String reqGroup = req.getGroup().isEmpty() ? null : req.getGroup();
    String containerId;
    Path dir;
    RuncDriver driver;
    synchronized (this) {
      if (abandoned) {
        throw TaskException.precondition("this spare shim lost its daemon and takes no container");
      }
      if (ending) {
        throw TaskException.precondition("this shim is shutting down");
      }
      if (legacy != null && legacy != (reqGroup == null)) {
        throw new TaskException(
            Status.Code.INVALID_ARGUMENT,
            legacy
                ? "this shim serves one container, not a group"
                : "this shim serves group " + group + ": a Create needs a group");
      }
      if (reqGroup == null) {
        ContainerTask only = tasks.values().stream().findFirst().orElse(null);
        if (only != null || !creating.isEmpty()) {
          throw TaskException.precondition(
              "task already created (" + (only == null ? "creating" : only.init().status()) + ")");
        }
        if (!req.getId().isEmpty() && !req.getId().equals(id)) {
          if (adopted()) {
            throw new TaskException(
                Status.Code.INVALID_ARGUMENT, "this shim serves " + id + ", not " + req.getId());
          }
          if (!req.getId().matches(NAME)) {
            throw new TaskException(
                Status.Code.INVALID_ARGUMENT, "invalid container id " + req.getId());
          }
          adopt(req.getId(), null);
        }
        containerId = id;
        dir = stateDir;
        driver = runc;
      } else {
        if (!req.getId().matches(NAME)) {
          throw new TaskException(
              Status.Code.INVALID_ARGUMENT, "invalid container id " + req.getId());
        }
        if (!reqGroup.matches("\\.?" + NAME)) {
          throw new TaskException(Status.Code.INVALID_ARGUMENT, "invalid group " + reqGroup);
        }
        if (group != null && !group.equals(reqGroup)) {
          throw new TaskException(
              Status.Code.INVALID_ARGUMENT,
              "this shim serves group " + group + ", not " + reqGroup);
        }
        if (tasks.containsKey(req.getId()) || creating.contains(req.getId())) {
          throw TaskException.precondition("task " + req.getId() + " already created");
        }
        int max = Math.max(1, req.getMaxContainers());
        if (tasks.size() + creating.size() >= max) {
          throw new TaskException(
              Status.Code.RESOURCE_EXHAUSTED,
              "group " + reqGroup + " is full (" + max + " containers)");
        }
        if (group == null) {
          if (!adopted()) {
            adopt(req.getId(), reqGroup);
          } else {
            ShimLog.setId(reqGroup);
            adopted = true;
          }
          group = reqGroup;
        }
        containerId = req.getId();
        dir = options.tasksDir().resolve(containerId);
        driver = runc.withLogFile(dir.resolve("runc.log"));
      }
      legacy = reqGroup == null;
      creating.add(containerId);
    }
    // Outside the monitor: the Creates of a group's containers run side by side.
    try {
      if (reqGroup != null) {
        createPrivateDir(dir);
      }
      InitProcess init =
          InitProcess.create(containerId, req, dir, driver, reaper, output, exitHandling);
      ContainerTask task = new ContainerTask(containerId, init, new ExecTable(), dir, driver);
      if (reqGroup != null) {
        writeTaskJson(task, req);
      }
      synchronized (this) {
        tasks.put(containerId, task);
      }
      ShimLog.info("created " + containerId + " init pid " + init.pid);
      return init.pid;
    } catch (TaskException | RuntimeException e) {
      if (reqGroup != null) {
        try {
          FileTrees.deleteRecursively(dir); // only this container's task dir
        } catch (IOException cleanup) {
          ShimLog.warn("cannot remove " + dir + ": " + cleanup.getMessage());
        }
      }
      throw e;
    } finally {
      synchronized (this) {
        creating.remove(containerId);
      }
    }
  }

  private static void createPrivateDir(Path dir) throws TaskException {
    try {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    } catch (IOException e) {
      throw TaskException.internal("cannot create " + dir + ": " + e.getMessage());
    }
  }

  /**
   * Records, once runc create succeeded, what a later shim needs to take the container over:
   * {"group","bundle","logPath","initPid","createdAt"}, written atomically.
   */
  private void writeTaskJson(ContainerTask task, CreateTaskRequest req) throws TaskException {
    StringBuilder json = new StringBuilder("{\"group\":");
    Json.quote(json, group).append(",\"bundle\":");
    Json.quote(json, req.getBundle()).append(",\"logPath\":");
    Json.quote(json, req.getLogPath()).append(",\"initPid\":").append(task.init().pid);
    json.append(",\"createdAt\":");
    Json.quote(json, Instant.now().toString()).append("}\n");
    try {
      AtomicFiles.write(task.dir().resolve("task.json"), json.toString());
    } catch (IOException e) {
      ShimLog.warn("cannot write " + task.id() + "'s task.json: " + e.getMessage());
    }
  }

  @Override
  public void start(StartTaskRequest req, StreamObserver<TaskStateReply> reply) {
    call(
        reply,
        () -> {
          ContainerTask task = task(req.getContainerId());
          task.init().start();
          return state(task);
        });
  }

  @Override
  public void kill(KillTaskRequest req, StreamObserver<Empty> reply) {
    call(
        reply,
        () -> {
          task(req.getContainerId()).init().kill(req.getSignal(), req.getAll());
          return Empty.getDefaultInstance();
        });
  }

  @Override
  public void waitExit(WaitTaskRequest req, StreamObserver<ExitStatus> reply) {
    InitProcess task;
    try {
      task = task(req.getContainerId()).init();
    } catch (TaskException e) {
      reply.onError(e.toStatus().asRuntimeException());
      return;
    }
    // No thread is parked for a waiter: the reply goes out when the exit is recorded.
    task.exited()
        .thenAccept(
            exit -> {
              try {
                reply.onNext(toProto(exit));
                reply.onCompleted();
              } catch (RuntimeException cancelled) {
                // the caller went away
              }
            });
  }

  @Override
  public void state(StateTaskRequest req, StreamObserver<TaskStateReply> reply) {
    call(
        reply,
        () -> {
          if (req.getContainerId().isEmpty() && tasks.isEmpty()) {
            // a shim with no container yet (a spare, or a group shim before its first Create)
            TaskStateReply.Builder b =
                TaskStateReply.newBuilder().setId(id).setShimPid(shimPid).setStatus("unknown");
            if (group != null) b.setGroup(group);
            return b.build();
          }
          return state(task(req.getContainerId()));
        });
  }

  @Override
  public void listTasks(ListTasksRequest req, StreamObserver<ListTasksReply> reply) {
    call(
        reply,
        () -> {
          ListTasksReply.Builder b = ListTasksReply.newBuilder();
          for (ContainerTask task : tasks.values()) {
            b.addTasks(state(task));
          }
          return b.build();
        });
  }

  private TaskStateReply state(ContainerTask task) {
    TaskStateReply.Builder b = TaskStateReply.newBuilder().setId(task.id()).setShimPid(shimPid);
    if (group != null) b.setGroup(group);
    String status = task.init().status();
    b.setStatus(status.equals("deleted") ? "unknown" : status).setPid(task.init().pid);
    ExitRecord exit = task.init().exitRecord();
    if (exit != null) {
      b.setExitCode(exit.exitCode()).setExitedAt(exit.exitedAtText());
    }
    return b.build();
  }

  @Override
  public void pids(PidsRequest req, StreamObserver<PidsReply> reply) {
    call(
        reply,
        () -> PidsReply.newBuilder().addAllPids(task(req.getContainerId()).init().pids()).build());
  }

  @Override
  public void createExec(CreateExecRequest req, StreamObserver<ExecInfo> reply) {
    call(
        reply,
        () -> {
          ContainerTask task = task(req.getContainerId());
          task.init().checkExec();
          try {
            ExecProcess.processSpec(task.init().bundle(), req); // a bad user or no args: refused
          } catch (java.io.IOException e) {
            throw TaskException.internal("exec in " + task.id() + ": " + e.getMessage());
          }
          return task.execs().create(task.id(), req);
        });
  }

  @Override
  public StreamObserver<ExecInput> startExec(StreamObserver<ExecEvent> reply) {
    ServerCallStreamObserver<ExecEvent> call = (ServerCallStreamObserver<ExecEvent>) reply;
    return ExecProcess.serveRouted(
        containerId -> {
          ContainerTask task = task(containerId);
          task.init().checkExec();
          return new ExecProcess.Target(
              task.id(), task.init().bundle(), task.dir(), task.execs(), task.runc());
        },
        io,
        call);
  }

  @Override
  public void killExec(KillExecRequest req, StreamObserver<ExecInfo> reply) {
    call(
        reply,
        () -> {
          ExecTable execs = task(req.getContainerId()).execs();
          int pid = execs.runningPid(req.getExecId());
          int signal = req.getSignal() == 0 ? 9 : req.getSignal();
          if (signal < 1 || signal > 64) {
            throw new TaskException(Status.Code.INVALID_ARGUMENT, "invalid signal " + signal);
          }
          ShimLog.info("exec " + req.getExecId() + " pid " + pid + ": signal " + signal);
          Posix.kill(pid, signal);
          return execs.inspect(req.getExecId());
        });
  }

  @Override
  public void inspectExec(InspectExecRequest req, StreamObserver<ExecInfo> reply) {
    call(reply, () -> task(req.getContainerId()).execs().inspect(req.getExecId()));
  }

  @Override
  public void listExecs(ListExecsRequest req, StreamObserver<ListExecsReply> reply) {
    call(
        reply,
        () ->
            ListExecsReply.newBuilder()
                .addAllExecs(task(req.getContainerId()).execs().list())
                .build());
  }

  @Override
  public void delete(DeleteTaskRequest req, StreamObserver<ExitStatus> reply) {
    ExitStatus exit;
    ContainerTask task;
    try {
      task = task(req.getContainerId());
      ExitRecord record = task.init().delete();
      exit = toProto(record);
    } catch (TaskException e) {
      reply.onError(e.toStatus().asRuntimeException());
      return;
    }
    boolean lastOfLegacy;
    synchronized (this) {
      tasks.remove(task.id());
      lastOfLegacy = Boolean.TRUE.equals(legacy);
    }
    if (lastOfLegacy) {
      removeStateDirAndSocket();
      ShimLog.info("deleted " + task.id() + "; exiting");
    } else {
      try {
        FileTrees.deleteRecursively(task.dir());
      } catch (IOException e) {
        ShimLog.warn("cleanup after delete of " + task.id() + ": " + e.getMessage());
      }
      ShimLog.info("deleted " + task.id() + "; " + tasks.size() + " left in group " + group);
    }
    reply.onNext(exit);
    reply.onCompleted();
    if (lastOfLegacy) {
      exitShim.run();
    }
  }

  @Override
  public void shutdown(ShutdownRequest req, StreamObserver<Empty> reply) {
    boolean grouped;
    synchronized (this) {
      grouped = Boolean.FALSE.equals(legacy);
      if (grouped && !req.getNow() && (!tasks.isEmpty() || !creating.isEmpty())) {
        reply.onError(
            TaskException.precondition(
                    "cannot shut down: group "
                        + group
                        + " has "
                        + (tasks.size() + creating.size())
                        + " containers")
                .toStatus()
                .asRuntimeException());
        return;
      }
      if (!grouped) {
        ContainerTask only = tasks.values().stream().findFirst().orElse(null);
        if (only != null && only.init().isAlive() && !req.getNow()) {
          reply.onError(
              TaskException.precondition("cannot shut down: task is " + only.init().status())
                  .toStatus()
                  .asRuntimeException());
          return;
        }
      }
      ending = true;
    }
    for (ContainerTask task : tasks.values()) {
      if (task.init().isAlive()) {
        ShimLog.warn(
            "shutdown now with " + task.id() + " " + task.init().status() + "; its exit is lost");
      }
    }
    if (grouped && tasks.isEmpty()) {
      // an empty group shim leaves nothing: its dir (address, shim.pid) and the socket it serves
      removeStateDirAndSocket();
    }
    reply.onNext(Empty.getDefaultInstance());
    reply.onCompleted();
    exitShim.run();
  }

  /**
   * Removes what this shim owns on disk (used on a legacy delete, when an empty group shim or an
   * unneeded spare ends): its state dir and the socket it actually listens on.
   */
  void removeStateDirAndSocket() {
    try {
      Files.deleteIfExists(options.socket());
      FileTrees.deleteRecursively(stateDir);
    } catch (IOException e) {
      ShimLog.warn("cleanup: " + e.getMessage());
    }
  }

  private static ExitStatus toProto(ExitRecord exit) {
    return ExitStatus.newBuilder()
        .setExitCode(exit.exitCode())
        .setExitedAt(exit.exitedAtText())
        .setPid(exit.pid())
        .build();
  }

  /** A unary RPC body: its result is the reply, a TaskException becomes the status. */
  private interface Body<T> {
    T run() throws TaskException;
  }

  private static <T> void call(StreamObserver<T> reply, Body<T> body) {
    T result;
    try {
      result = body.run();
    } catch (TaskException e) {
      reply.onError(e.toStatus().asRuntimeException());
      return;
    } catch (RuntimeException e) {
      ShimLog.warn("unexpected: " + e);
      reply.onError(
          Status.INTERNAL
              .withDescription(String.valueOf(e.getMessage()).replace('\n', ' '))
              .asRuntimeException());
      return;
    }
    reply.onNext(result);
    reply.onCompleted();
  }
}
