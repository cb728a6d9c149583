package dev.berth.shim;

import dev.berth.api.shim.v1.CreateTaskRequest;
import dev.berth.runtime.nativ.Posix;
import dev.berth.runtime.nativ.Reaper;
import dev.berth.runtime.nativ.WaitStatus;
import dev.berth.shim.ExitFile.ExitRecord;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The container's init process and its life cycle, after runc shim's process/init_state.go: one
 * {@link State} object per state (created → running → stopped → deleted); each state allows some
 * operations and refuses the rest with FAILED_PRECONDITION.
 *
 * <p>Locks: the current state is an immutable object in a volatile field, so {@link #status()} (the
 * State RPC) reads it without any lock and answers while a runtime command hangs. Transitions
 * happen under this object's monitor, which is never held while the runtime runs (so the exit of
 * init is recorded, exit.json written and waiters answered even then). Start and Delete, which run
 * the runtime and then change the state, are serialised by {@link #runtimeOps}; Kill and Pids only
 * read the state and run the runtime without any lock. Every runtime command has a deadline ({@link
 * RuncDriver}), so none of them waits forever either.
 */
final class InitProcess {
  /** How long the exit handling waits for the output to reach end of file and the log. */
  private static final long LOG_DRAIN_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final String id;
  private final Path bundle;
  private final Path rootfs;
  private final Path stateDir;
  private final RuncDriver runc;
  private final ContainerOutput output;
  private final OutputPoller poller;
  private final boolean mountedRootfs;
  final int pid;
  private final CompletableFuture<ExitRecord> exited = new CompletableFuture<>();
  private volatile State state = new Created();

  /** Serialises Start and Delete (runtime command, then transition); never taken by State. */
  private final ReentrantLock runtimeOps = new ReentrantLock();

  private InitProcess(
      String id,
      Path bundle,
      Path stateDir,
      RuncDriver runc,
      ContainerOutput output,
      OutputPoller poller,
      boolean mountedRootfs,
      int pid) {
    this.id = id;
    this.bundle = bundle;
    this.rootfs = bundle.resolve("rootfs");
    this.stateDir = stateDir;
    this.runc = runc;
    this.output = output;
    this.poller = poller;
    this.mountedRootfs = mountedRootfs;
    this.pid = pid;
  }

  /**
   * Mounts the rootfs, runs {@code runc create} with the container's stdout/stderr on the task
   * dir's FIFOs ({@link ContainerOutput}) and registers them with the shim's poller. On failure
   * nothing is left behind (mounts, runc state, open fds).
   */
  static InitProcess create(
      String id,
      CreateTaskRequest req,
      Path stateDir,
      RuncDriver runc,
      Reaper reaper,
      OutputPoller poller,
      Executor exitHandling)
      throws TaskException {
    Path bundle = Path.of(req.getBundle());
    if (!Files.isRegularFile(bundle.resolve("config.json"))) {
      throw new TaskException(
          Status.Code.INVALID_ARGUMENT, "bundle " + bundle + " has no config.json");
    }
    if (req.getLogPath().isEmpty()) {
      throw new TaskException(Status.Code.INVALID_ARGUMENT, "log_path is required");
    }
    Path rootfs = bundle.resolve("rootfs");
    Path pidFile = stateDir.resolve("init.pid");
    boolean mounted = false;
    ContainerOutput output = null;
    int[] containerSide = null;
    try {
      Files.createDirectories(rootfs);
      Files.deleteIfExists(pidFile);
      if (req.getRootfsCount() > 0) {
        RootfsMounter.mountAll(req.getRootfsList(), rootfs);
        mounted = true;
      }
      output =
          ContainerOutput.create(id, stateDir, Path.of(req.getLogPath()), LogConverter.Faults.NONE);
      containerSide = output.openContainerSide();
      long offset = runc.logOffset();
      long before = System.nanoTime();
      Reaper.Child create =
          runc.spawnCreate(id, bundle, pidFile, containerSide[0], containerSide[1]);
      // From here only runc (and then the container) holds the read-write ends: end of file
      // on the read ends means the container's last process holding them is gone.
      Posix.close(containerSide[0]);
      Posix.close(containerSide[1]);
      containerSide = null;
      WaitStatus status = runc.await(create, "create");
      if (status.exitCode() != 0) {
        String message = runc.lastError(offset);
        throw TaskException.internal(
            RuncDriver.failure(
                "runc create", message != null ? message : "exit status " + status.exitCode()));
      }
      int pid = Integer.parseInt(Files.readString(pidFile).trim());
      InitProcess init = new InitProcess(id, bundle, stateDir, runc, output, poller, mounted, pid);
      poller.register(output);
      output = null; // the poller's now: unregistered by delete
      // runc create has exited, so init is already re-parented to us; watch() also covers
      // an init that died and was reaped before we read its pid.
      reaper.watch(pid, before).whenCompleteAsync((ws, err) -> init.onExit(ws, err), exitHandling);
      return init;
    } catch (TaskException | IOException | RuntimeException | RuncDriver.RuncException e) {
      if (containerSide != null) {
        Posix.close(containerSide[0]);
        Posix.close(containerSide[1]);
      }
      if (output != null) {
        output.closeFiles();
      }
      if (runc.exists(id)) {
        try {
          runc.delete(id, true);
        } catch (RuncDriver.RuncException cleanup) {
          ShimLog.warn("cleanup after failed create: " + cleanup.getMessage());
        }
      }
      if (mounted) {
        RootfsMounter.unmountAll(rootfs);
      }
      if (e instanceof TaskException te) {
        throw te;
      }
      throw TaskException.internal("create " + id + ": " + e.getMessage());
    }
  }

  // ---- operations (the RPCs) -------------------------------------------------------------

  void start() throws TaskException {
    runtimeOps.lock();
    try {
      state.checkStart();
      try {
        runc.start(id);
      } catch (RuncDriver.RuncException e) {
        throw TaskException.internal(e.getMessage());
      }
      synchronized (this) {
        // init may have exited meanwhile (then it is stopped already, and stays so)
        if (state instanceof Created) {
          transition(new Running());
        }
      }
    } finally {
      runtimeOps.unlock();
    }
  }

  void kill(int signal, boolean all) throws TaskException {
    if (signal <= 0 || signal > 64) {
      throw new TaskException(Status.Code.INVALID_ARGUMENT, "invalid signal " + signal);
    }
    state.checkKill();
    runcKill(signal, all);
  }

  /** Checks that an exec may run now; the exec itself runs outside any lock. */
  void checkExec() throws TaskException {
    state.checkExec();
  }

  List<Integer> pids() throws TaskException {
    return state.pids();
  }

  /** The state's name; never waits (see the class comment). */
  String status() {
    return state.name();
  }

  Path bundle() {
    return bundle;
  }

  /** The exit, once recorded (exit.json written); null before. */
  ExitRecord exitRecord() {
    return exited.getNow(null);
  }

  /** Completes when init has exited and exit.json is written. */
  CompletableFuture<ExitRecord> exited() {
    return exited;
  }

  boolean isAlive() {
    String s = status();
    return s.equals("created") || s.equals("running");
  }

  /**
   * runc delete, then unmount the rootfs. Returns the exit of init: the recorded one when stopped;
   * when deleted while created, the SIGKILL that {@code runc delete --force} sent.
   */
  ExitRecord delete() throws TaskException {
    runtimeOps.lock();
    try {
      runcDelete(state.checkDelete());
      synchronized (this) {
        transition(new Deleted());
      }
    } finally {
      runtimeOps.unlock();
    }
    ExitRecord exit;
    try {
      exit = exited.get(2, TimeUnit.SECONDS);
    } catch (Exception notReaped) {
      ShimLog.warn(
          "init "
              + pid
              + " of "
              + id
              + " not reaped 2s after delete ("
              + ShimLog.describe(notReaped)
              + "); reporting exit 255");
      exit = new ExitRecord(pid, 255, Instant.now());
    }
    awaitOutput(TimeUnit.MILLISECONDS.toNanos(200));
    poller.unregister(output);
    if (mountedRootfs) {
      RootfsMounter.unmountAll(rootfs);
    }
    return exit;
  }

  // ---- exit of init (reaper → exit-handling thread) ----------------------------------------

  private void onExit(WaitStatus status, Throwable error) {
    if (status == null) {
      ShimLog.warn(
          "cannot learn the exit of init "
              + pid
              + " of "
              + id
              + ": "
              + (error == null ? "no exit status" : ShimLog.describe(error))
              + "; recording exit 255");
    }
    if (!awaitOutput(LOG_DRAIN_NANOS)) {
      ShimLog.warn("output of " + id + " still open 1s after init exited; not waiting longer");
    }
    ExitRecord record =
        new ExitRecord(pid, status == null ? 255 : status.exitCode(), Instant.now());
    synchronized (this) {
      state.exited(record);
    }
    ShimLog.info("init " + pid + " exited " + record.exitCode());
    exited.complete(record);
  }

  /** Waits up to {@code nanos} for both streams' end to be in the log; returns whether it came. */
  private boolean awaitOutput(long nanos) {
    try {
      output.ended().get(nanos, TimeUnit.NANOSECONDS);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      return false;
    }
  }

  private void writeExitFile(ExitRecord record) {
    try {
      ExitFile.write(stateDir, record);
    } catch (IOException e) {
      ShimLog.warn("cannot write " + ExitFile.NAME + ": " + e.getMessage());
    }
  }

  private void transition(State next) {
    ShimLog.info(id + ": " + state.name() + " -> " + next.name());
    state = next;
  }

  private static TaskException invalid(String operation, String stateName) {
    return TaskException.precondition("cannot " + operation + ": task is " + stateName);
  }

  private void runcKill(int signal, boolean all) throws TaskException {
    try {
      runc.kill(id, signal, all);
    } catch (RuncDriver.RuncException e) {
      throw TaskException.internal(e.getMessage());
    }
  }

  private void runcDelete(boolean force) throws TaskException {
    try {
      runc.delete(id, force);
    } catch (RuncDriver.RuncException e) {
      if (runc.exists(id)) {
        throw TaskException.internal(e.getMessage());
      }
      // Already gone (e.g. a retried Delete): deleting is idempotent.
    }
  }

  private List<Integer> runcPs() throws TaskException {
    try {
      return runc.ps(id);
    } catch (RuncDriver.RuncException e) {
      throw TaskException.internal(e.getMessage());
    }
  }

  // ---- states ------------------------------------------------------------------------------

  /**
   * One state of init, immutable: what it allows. {@link #exited} is called with the InitProcess
   * monitor held; the checks read a state without any lock.
   */
  private abstract class State {
    abstract String name();

    void checkStart() throws TaskException {
      throw invalid("start", name());
    }

    void checkKill() throws TaskException {
      throw invalid("kill", name());
    }

    void checkExec() throws TaskException {
      throw invalid("exec", name());
    }

    List<Integer> pids() throws TaskException {
      throw invalid("list pids", name());
    }

    /** Whether Delete may run now; returns whether runc delete needs --force. */
    boolean checkDelete() throws TaskException {
      throw invalid("delete", name());
    }

    /** Init was reaped: record the exit durably (exit.json) and become stopped. */
    void exited(ExitRecord record) {
      writeExitFile(record);
      transition(new Stopped());
    }
  }

  /** runc create done: init exists, blocked until start. */
  private final class Created extends State {
    @Override
    String name() {
      return "created";
    }

    @Override
    void checkStart() {}

    @Override
    void checkKill() {}

    @Override
    void checkExec() {}

    @Override
    List<Integer> pids() throws TaskException {
      return runcPs();
    }

    @Override
    boolean checkDelete() {
      return true;
    }
  }

  private final class Running extends State {
    @Override
    String name() {
      return "running";
    }

    @Override
    void checkKill() {}

    @Override
    void checkExec() {}

    @Override
    List<Integer> pids() throws TaskException {
      return runcPs();
    }
  }

  private final class Stopped extends State {
    @Override
    String name() {
      return "stopped";
    }

    @Override
    List<Integer> pids() {
      return List.of();
    }

    @Override
    boolean checkDelete() {
      return false;
    }

    @Override
    void exited(ExitRecord record) {
      // Recorded already.
    }
  }

  private final class Deleted extends State {
    @Override
    String name() {
      return "deleted";
    }

    @Override
    void exited(ExitRecord record) {
      // Killed by delete --force while created; the state dir is going away, no exit.json.
    }
  }
}
