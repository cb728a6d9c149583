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
  /** How long the exit handling waits for the output pipes to reach end of file. */
  private static final long LOG_DRAIN_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final String id;
  private final Path bundle;
  private final Path rootfs;
  private final Path stateDir;
  private final RuncDriver runc;
  private final LogWriter log;
  private final List<StreamPump> pumps;
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
      LogWriter log,
      List<StreamPump> pumps,
      boolean mountedRootfs,
      int pid) {
    this.id = id;
    this.bundle = bundle;
    this.rootfs = bundle.resolve("rootfs");
    this.stateDir = stateDir;
    this.runc = runc;
    this.log = log;
    this.pumps = pumps;
    this.mountedRootfs = mountedRootfs;
    this.pid = pid;
  }

  /**
   * Mounts the rootfs, runs {@code runc create} with the container's stdout/stderr on pipes and
   * starts copying them to the log. On failure nothing is left behind (mounts, runc state).
   */
  static InitProcess create(
      String id,
      CreateTaskRequest req,
      Path stateDir,
      RuncDriver runc,
      Reaper reaper,
      Executor io,
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
    Posix.Pipe stdout = null;
    Posix.Pipe stderr = null;
    LogWriter log = null;
    try {
      Files.createDirectories(rootfs);
      Files.deleteIfExists(pidFile);
      if (req.getRootfsCount() > 0) {
        RootfsMounter.mountAll(req.getRootfsList(), rootfs);
        mounted = true;
      }
      log = new LogWriter(Path.of(req.getLogPath()));
      stdout = Posix.pipe();
      stderr = Posix.pipe();
      long offset = runc.logOffset();
      long before = System.nanoTime();
      Reaper.Child create =
          runc.spawnCreate(id, bundle, pidFile, stdout.writeFd(), stderr.writeFd());
      // From here only runc (and then the container) holds the write ends: end of file on
      // the read ends means the container's last writer is gone.
      stdout.closeWrite();
      stderr.closeWrite();
      WaitStatus status = runc.await(create, "create");
      if (status.exitCode() != 0) {
        String message = runc.lastError(offset);
        throw TaskException.internal(
            RuncDriver.failure(
                "runc create", message != null ? message : "exit status " + status.exitCode()));
      }
      int pid = Integer.parseInt(Files.readString(pidFile).trim());
      // Output is buffered in the pipes until the pumps start; init cannot write before Start.
      List<StreamPump> pumps =
          List.of(
              StreamPump.start(stdout.detachRead(), log.stream("stdout"), io),
              StreamPump.start(stderr.detachRead(), log.stream("stderr"), io));
      InitProcess init = new InitProcess(id, bundle, stateDir, runc, log, pumps, mounted, pid);
      // runc create has exited, so init is already re-parented to us; watch() also covers
      // an init that died and was reaped before we read its pid.
      reaper.watch(pid, before).whenCompleteAsync((ws, err) -> init.onExit(ws, err), exitHandling);
      return init;
    } catch (TaskException | IOException | RuntimeException | RuncDriver.RuncException e) {
      if (stdout != null) {
        stdout.close();
      }
      if (stderr != null) {
        stderr.close();
      }
      if (log != null) {
        log.close();
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
    for (StreamPump pump : pumps) {
      try {
        pump.awaitEnd(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    log.close();
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
    long deadline = System.nanoTime() + LOG_DRAIN_NANOS;
    for (StreamPump pump : pumps) {
      try {
        if (!pump.awaitEnd(deadline)) {
          ShimLog.warn("output of " + id + " still open 1s after init exited; not waiting longer");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    ExitRecord record =
        new ExitRecord(pid, status == null ? 255 : status.exitCode(), Instant.now());
    synchronized (this) {
      state.exited(record);
    }
    ShimLog.info("init " + pid + " exited " + record.exitCode());
    exited.complete(record);
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
