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
import dev.berth.api.shim.v1.PidsReply;
import dev.berth.api.shim.v1.PidsRequest;
import dev.berth.api.shim.v1.ShutdownRequest;
import dev.berth.api.shim.v1.StartTaskRequest;
import dev.berth.api.shim.v1.StateTaskRequest;
import dev.berth.api.shim.v1.TaskGrpc;
import dev.berth.api.shim.v1.TaskStateReply;
import dev.berth.api.shim.v1.WaitTaskRequest;
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
import java.util.concurrent.Executor;

/**
 * The shim's gRPC Task service (berth.shim.v1.Task) for its one container. Before Create there is
 * no task; afterwards every operation goes through the {@link InitProcess} state machine.
 */
final class TaskService extends TaskGrpc.TaskImplBase {
  private final ShimOptions options;
  private final RuncDriver runc;
  private final Reaper reaper;
  private final Executor io;
  private final Executor exitHandling;
  private final Runnable exitShim;
  private final int shimPid = Posix.getpid();
  private final ExecTable execs = new ExecTable();

  /** The shim's one output path: a poll thread and a converter thread, started on first use. */
  private final OutputPoller output = new OutputPoller();

  /**
   * Set once, by Create (which holds this object's monitor while it runs runc create); read without
   * the monitor, so State and the other RPCs never wait for a Create in progress.
   */
  private volatile InitProcess init;

  /** This shim's container id and state dir: a spare's change once, when it is adopted. */
  private volatile String id;

  private volatile Path stateDir;
  private volatile boolean adopted;

  /** A spare whose daemon died: it must never take a container on (nobody would clean it up). */
  private boolean abandoned;

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
   * A spare shim becomes the shim of container {@code newId}: its state dir is renamed to the
   * container's (address and shim.pid move along, so the daemon finds it where it looks), and
   * runc's log follows. The socket keeps its (hashed, short) path, which the address file records.
   */
  private void adopt(String newId) throws TaskException {
    if (!newId.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")) {
      throw new TaskException(Status.Code.INVALID_ARGUMENT, "invalid container id " + newId);
    }
    Path target = stateDir.resolveSibling(newId);
    try {
      Files.move(stateDir, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw TaskException.precondition("cannot take on " + newId + ": " + e.getMessage());
    }
    ShimLog.info("spare adopted by " + newId);
    // A spare starts at a low priority so that warming it up never slows a running start;
    // as a container's shim (and the parent of its processes) it runs at normal priority.
    try {
      Posix.setNiceAllThreads(0);
    } catch (IOException | RuntimeException e) {
      ShimLog.warn("cannot reset the spare's priority: " + e.getMessage());
    }
    stateDir = target;
    id = newId;
    runc.useLogFile(target.resolve("runc.log"));
    ShimLog.setId(newId);
    adopted = true;
  }

  private InitProcess init() throws TaskException {
    InitProcess task = init;
    if (task == null) {
      throw TaskException.precondition("no task: Create first");
    }
    return task;
  }

  private InitProcess initOrNull() {
    return init;
  }

  @Override
  public void create(CreateTaskRequest req, StreamObserver<CreateTaskReply> reply) {
    call(
        reply,
        () -> {
          // Holding the monitor serialises two concurrent Creates; nothing else waits on it long.
          synchronized (this) {
            if (abandoned) {
              throw TaskException.precondition(
                  "this spare shim lost its daemon and takes no container");
            }
            if (init != null) {
              throw TaskException.precondition("task already created (" + init.status() + ")");
            }
            if (!req.getId().isEmpty() && !req.getId().equals(id)) {
              if (adopted()) {
                throw new TaskException(
                    Status.Code.INVALID_ARGUMENT,
                    "this shim serves " + id + ", not " + req.getId());
              }
              adopt(req.getId());
            }
            init = InitProcess.create(id, req, stateDir, runc, reaper, output, exitHandling);
            ShimLog.info("created " + id + " init pid " + init.pid);
            return CreateTaskReply.newBuilder().setPid(init.pid).build();
          }
        });
  }

  @Override
  public void start(StartTaskRequest req, StreamObserver<TaskStateReply> reply) {
    call(
        reply,
        () -> {
          init().start();
          return state();
        });
  }

  @Override
  public void kill(KillTaskRequest req, StreamObserver<Empty> reply) {
    call(
        reply,
        () -> {
          init().kill(req.getSignal(), req.getAll());
          return Empty.getDefaultInstance();
        });
  }

  @Override
  public void waitExit(WaitTaskRequest req, StreamObserver<ExitStatus> reply) {
    InitProcess task;
    try {
      task = init();
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
    call(reply, this::state);
  }

  private TaskStateReply state() {
    TaskStateReply.Builder b = TaskStateReply.newBuilder().setId(id).setShimPid(shimPid);
    InitProcess task = initOrNull();
    if (task == null) {
      return b.setStatus("unknown").build();
    }
    String status = task.status();
    b.setStatus(status.equals("deleted") ? "unknown" : status).setPid(task.pid);
    ExitRecord exit = task.exitRecord();
    if (exit != null) {
      b.setExitCode(exit.exitCode()).setExitedAt(exit.exitedAtText());
    }
    return b.build();
  }

  @Override
  public void pids(PidsRequest req, StreamObserver<PidsReply> reply) {
    call(reply, () -> PidsReply.newBuilder().addAllPids(init().pids()).build());
  }

  @Override
  public void createExec(CreateExecRequest req, StreamObserver<ExecInfo> reply) {
    call(
        reply,
        () -> {
          InitProcess task = init();
          task.checkExec();
          try {
            ExecProcess.processSpec(task.bundle(), req); // a bad user or no args: refused now
          } catch (java.io.IOException e) {
            throw TaskException.internal("exec in " + id + ": " + e.getMessage());
          }
          return execs.create(id, req);
        });
  }

  @Override
  public StreamObserver<ExecInput> startExec(StreamObserver<ExecEvent> reply) {
    ServerCallStreamObserver<ExecEvent> call = (ServerCallStreamObserver<ExecEvent>) reply;
    InitProcess task;
    try {
      task = init();
      task.checkExec();
    } catch (TaskException e) {
      reply.onError(e.toStatus().asRuntimeException());
      return new Ignored();
    }
    return ExecProcess.serve(id, task.bundle(), stateDir, execs, runc, io, call);
  }

  @Override
  public void killExec(KillExecRequest req, StreamObserver<ExecInfo> reply) {
    call(
        reply,
        () -> {
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
    call(reply, () -> execs.inspect(req.getExecId()));
  }

  @Override
  public void listExecs(ListExecsRequest req, StreamObserver<ListExecsReply> reply) {
    call(reply, () -> ListExecsReply.newBuilder().addAllExecs(execs.list()).build());
  }

  /** The inbound side of a call refused at once. */
  private static final class Ignored implements StreamObserver<ExecInput> {
    @Override
    public void onNext(ExecInput value) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }

  @Override
  public void delete(DeleteTaskRequest req, StreamObserver<ExitStatus> reply) {
    ExitStatus exit;
    try {
      ExitRecord record = init().delete();
      removeStateDirAndSocket();
      exit = toProto(record);
    } catch (TaskException e) {
      reply.onError(e.toStatus().asRuntimeException());
      return;
    }
    ShimLog.info("deleted " + id + "; exiting");
    reply.onNext(exit);
    reply.onCompleted();
    exitShim.run();
  }

  @Override
  public void shutdown(ShutdownRequest req, StreamObserver<Empty> reply) {
    InitProcess task = initOrNull();
    if (task != null && task.isAlive() && !req.getNow()) {
      reply.onError(
          TaskException.precondition("cannot shut down: task is " + task.status())
              .toStatus()
              .asRuntimeException());
      return;
    }
    if (task != null && task.isAlive()) {
      ShimLog.warn("shutdown now with task " + task.status() + "; its exit will not be recorded");
    }
    reply.onNext(Empty.getDefaultInstance());
    reply.onCompleted();
    exitShim.run();
  }

  /** Removes what this shim owns on disk (used on delete, and when an unneeded spare ends). */
  void removeStateDirAndSocket() {
    try {
      Files.deleteIfExists(options.socket());
      FileTrees.deleteRecursively(stateDir);
    } catch (IOException e) {
      ShimLog.warn("cleanup after delete: " + e.getMessage());
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
