package dev.berth.shim;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.ByteString;
import dev.berth.api.shim.v1.CreateExecRequest;
import dev.berth.api.shim.v1.ExecEvent;
import dev.berth.api.shim.v1.ExecExitedEvent;
import dev.berth.api.shim.v1.ExecInput;
import dev.berth.api.shim.v1.ExecStartedEvent;
import dev.berth.runtime.files.AtomicFiles;
import dev.berth.runtime.nativ.Posix;
import dev.berth.runtime.nativ.Reaper;
import dev.berth.runtime.nativ.Redirect;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One StartExec call: the inbound side (first request: which exec, detached or not; then stdin) and
 * the outbound side (started, output as the caller takes it, exited). The process is a {@code runc
 * exec} in the foreground: runc stays its parent and exits with its exit code; {@code --pid-file}
 * gives the process's own pid, which KillExec and a cancel signal directly (a signal to runc would
 * only be forwarded, and SIGKILL cannot be).
 *
 * <p>Cancel: when an attached call ends early (the caller cancels, disconnects, its deadline
 * passes) the process gets SIGKILL, and runc records 137. A detached call answers {@code started}
 * and completes; the process runs on with its output on /dev/null.
 *
 * <p>Flow control both ways: output is sent only while the call {@code isReady} (a pump that cannot
 * send parks, its pipe fills and the process blocks on its writes), and the next stdin request is
 * asked for only when the previous one is written to the process's stdin pipe.
 */
final class ExecProcess implements StreamObserver<ExecInput> {
  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  private static final long DRAIN_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** How long runc may take to start the process (write its pid file). */
  private static final long START_NANOS = TimeUnit.SECONDS.toNanos(60);

  private final String containerId;
  private final Path bundle;
  private final Path stateDir;
  private final ExecTable table;
  private final RuncDriver runc;
  private final Executor io;
  private final ServerCallStreamObserver<ExecEvent> call;
  private final Outbound outbound;

  /** Inbound messages come one at a time (grpc serialises them); this is only read there. */
  private boolean first = true;

  /** Written by the inbound side only, one write at a time. */
  private CompletableFuture<Void> stdinWrites = CompletableFuture.completedFuture(null);

  // Under this object's monitor:
  private boolean cancelled;
  private boolean attached;
  private int pid;
  private boolean exited;
  private Stdin stdin;
  private Reaper.Child runcProcess;

  private ExecProcess(
      String containerId,
      Path bundle,
      Path stateDir,
      ExecTable table,
      RuncDriver runc,
      Executor io,
      ServerCallStreamObserver<ExecEvent> call) {
    this.containerId = containerId;
    this.bundle = bundle;
    this.stateDir = stateDir;
    this.table = table;
    this.runc = runc;
    this.io = io;
    this.call = call;
    this.outbound = new Outbound(call);
  }

  /**
   * Serves one StartExec call; call from the service method (grpc takes handlers and the inbound
   * flow control only before it returns).
   */
  static StreamObserver<ExecInput> serve(
      String containerId,
      Path bundle,
      Path stateDir,
      ExecTable table,
      RuncDriver runc,
      Executor io,
      ServerCallStreamObserver<ExecEvent> call) {
    ExecProcess p = new ExecProcess(containerId, bundle, stateDir, table, runc, io, call);
    call.disableAutoRequest();
    // grpc runs these handlers on the call's executor: nothing below waits there.
    call.setOnReadyHandler(p.outbound::wake);
    call.setOnCancelHandler(p::cancelled);
    call.request(1);
    return p;
  }

  /**
   * Serves one StartExec call of a group shim, whose container is named only by the first request:
   * the handlers are set and the first message requested now (grpc takes them only before the
   * service method returns); {@code resolve} finds the container once that message is in.
   */
  static StreamObserver<ExecInput> serveRouted(
      Resolver resolve, Executor io, ServerCallStreamObserver<ExecEvent> call) {
    Routed routed = new Routed(resolve, io, call);
    call.disableAutoRequest();
    call.setOnReadyHandler(routed::ready);
    call.setOnCancelHandler(routed::cancel);
    call.request(1);
    return routed;
  }

  /** The container a routed StartExec names: its bundle, task dir, exec table and runc. */
  record Target(String containerId, Path bundle, Path stateDir, ExecTable table, RuncDriver runc) {}

  /** Finds (and checks) the container of a StartExec's first request. */
  interface Resolver {
    Target resolve(String containerId) throws TaskException;
  }

  /** Forwards a StartExec to the ExecProcess of the container its first request names. */
  private static final class Routed implements StreamObserver<ExecInput> {
    private final Resolver resolve;
    private final Executor io;
    private final ServerCallStreamObserver<ExecEvent> call;
    private volatile ExecProcess target;
    private volatile boolean cancelledEarly;

    Routed(Resolver resolve, Executor io, ServerCallStreamObserver<ExecEvent> call) {
      this.resolve = resolve;
      this.io = io;
      this.call = call;
    }

    void ready() {
      ExecProcess p = target;
      if (p != null) p.outbound.wake();
    }

    void cancel() {
      ExecProcess p = target;
      if (p != null) p.cancelled();
      else cancelledEarly = true;
    }

    @Override
    public void onNext(ExecInput in) {
      ExecProcess p = target;
      if (p == null) {
        Target t;
        try {
          t = resolve.resolve(in.getContainerId());
        } catch (TaskException e) {
          try {
            call.onError(e.toStatus().asRuntimeException());
          } catch (RuntimeException ended) {
            // the call is over
          }
          return;
        }
        p =
            new ExecProcess(
                t.containerId(), t.bundle(), t.stateDir(), t.table(), t.runc(), io, call);
        target = p;
        if (cancelledEarly) {
          p.cancelled();
          return;
        }
      }
      p.onNext(in);
    }

    @Override
    public void onError(Throwable t) {
      ExecProcess p = target;
      if (p != null) p.onError(t);
    }

    @Override
    public void onCompleted() {
      ExecProcess p = target;
      if (p != null) p.onCompleted();
    }
  }

  @Override
  public void onNext(ExecInput in) {
    if (first) {
      first = false;
      String execId = in.getExecId();
      boolean detach = in.getDetach();
      try {
        io.execute(() -> start(execId, detach));
      } catch (RuntimeException e) { // the shim is stopping
        outbound.fail(Status.Code.UNAVAILABLE, "the shim is stopping");
      }
      return;
    }
    Stdin to;
    synchronized (this) {
      to = stdin;
    }
    if (to == null) { // no stdin attached: the bytes go nowhere
      call.request(1);
      return;
    }
    byte[] bytes = in.getStdin().toByteArray();
    boolean close = in.getCloseStdin();
    stdinWrites =
        stdinWrites
            .thenRunAsync(() -> to.write(bytes, close), io)
            .whenComplete(
                (ok, e) -> {
                  try {
                    call.request(1);
                  } catch (RuntimeException ended) {
                    // the call is over
                  }
                });
  }

  @Override
  public void onError(Throwable t) {
    cancelled(); // the inbound side broke: the call is over
  }

  @Override
  public void onCompleted() {
    // the caller sends nothing more: the process's stdin ends
    Stdin to;
    synchronized (this) {
      to = stdin;
    }
    if (to != null) {
      stdinWrites = stdinWrites.thenRunAsync(to::close, io);
    }
  }

  /** The call ended early: an attached process is killed. */
  private void cancelled() {
    int target;
    synchronized (this) {
      if (cancelled) {
        return;
      }
      cancelled = true;
      target = attached && !exited ? pid : 0;
    }
    if (target > 0) {
      ShimLog.info("exec pid " + target + ": its caller went away; SIGKILL to it and its children");
      killTree(target);
    }
    outbound.wake();
  }

  /**
   * SIGKILL to a process and every descendant it has (its children would otherwise live on in the
   * container, holding its pipes, and runc waits for those). Twice: a fork between the look at
   * /proc and the kill is caught by the second round. Then, if runc has not ended 2 s later, runc
   * is killed too (the exit is recorded as 137 either way).
   */
  private void killTree(int root) {
    for (int round = 0; round < 2; round++) {
      for (int pid : descendantsAndSelf(root)) {
        Posix.kill(pid, 9);
      }
    }
    Reaper.Child runcChild;
    synchronized (this) {
      runcChild = runcProcess;
    }
    if (runcChild != null) {
      CompletableFuture.delayedExecutor(2, TimeUnit.SECONDS, io)
          .execute(
              () -> {
                if (!runcChild.exit().isDone()) {
                  ShimLog.warn(
                      "runc exec pid " + runcChild.pid() + " outlived its process; SIGKILL");
                  Posix.kill(runcChild.pid(), 9);
                }
              });
    }
  }

  /** {@code root} and its descendants, from /proc (parents before children). */
  static java.util.List<Integer> descendantsAndSelf(int root) {
    java.util.Map<Integer, java.util.List<Integer>> children = new java.util.HashMap<>();
    try (var entries = Files.list(Path.of("/proc"))) {
      for (Path p : (Iterable<Path>) entries::iterator) {
        String name = p.getFileName().toString();
        if (name.isEmpty() || !name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          String stat = Files.readString(p.resolve("stat"));
          // pid (comm) state ppid ...: comm may hold spaces and parentheses
          String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ", 3);
          children
              .computeIfAbsent(Integer.parseInt(rest[1]), k -> new java.util.ArrayList<>())
              .add(Integer.parseInt(name));
        } catch (IOException | RuntimeException gone) {
          // exited while listing
        }
      }
    } catch (IOException e) {
      ShimLog.warn("cannot list /proc: " + e.getMessage());
    }
    java.util.List<Integer> all = new java.util.ArrayList<>();
    all.add(root);
    for (int i = 0; i < all.size(); i++) {
      all.addAll(children.getOrDefault(all.get(i), java.util.List.of()));
    }
    return all;
  }

  /** On an io thread: the first request's work. */
  private void start(String execId, boolean detach) {
    ExecTable.Entry entry;
    try {
      entry = table.beginStart(execId);
    } catch (TaskException e) {
      outbound.fail(e.toStatus().getCode(), e.getMessage());
      return;
    }
    int seq = SEQUENCE.incrementAndGet();
    Path processFile = stateDir.resolve("exec-" + seq + ".json");
    Path pidFile = stateDir.resolve("exec-" + seq + ".pid");
    boolean attach = !detach;
    Posix.Pipe out = null;
    Posix.Pipe err = null;
    Posix.Pipe in = null;
    Reaper.Child child;
    try {
      AtomicFiles.write(processFile, processSpec(bundle, entry.request).toString());
      if (attach) {
        out = Posix.pipe();
        err = Posix.pipe();
      }
      if (attach && entry.request.getAttachStdin()) {
        in = Posix.pipe();
      }
      child =
          runc.spawnExec(
              containerId,
              processFile,
              pidFile,
              in == null ? Redirect.DEV_NULL : Redirect.fd(in.readFd()),
              out == null ? Redirect.DEV_NULL : Redirect.fd(out.writeFd()),
              err == null ? Redirect.DEV_NULL : Redirect.fd(err.writeFd()));
    } catch (TaskException | IOException | RuntimeException e) {
      deleteQuietly(processFile);
      closeQuietly(out);
      closeQuietly(err);
      closeQuietly(in);
      String message = e.getMessage();
      table.exited(entry, 255, Instant.now());
      if (e instanceof TaskException t) {
        outbound.fail(t.toStatus().getCode(), message);
      } else {
        outbound.fail(Status.Code.INTERNAL, "exec in " + containerId + ": " + message);
      }
      return;
    }
    if (out != null) {
      out.closeWrite();
      err.closeWrite();
    }
    if (in != null) {
      in.closeRead();
    }
    int processPid = awaitPid(pidFile, child);
    Instant startedAt = Instant.now();
    boolean killNow;
    synchronized (this) {
      attached = attach;
      pid = processPid;
      runcProcess = child;
      if (in != null) {
        stdin = new Stdin(in);
      }
      killNow = attach && cancelled && processPid > 0;
    }
    if (processPid > 0) {
      table.running(entry, processPid, startedAt);
      ShimLog.info(
          "exec "
              + execId
              + " pid "
              + processPid
              + (detach ? " (detached): " : ": ")
              + String.join(" ", entry.request.getArgsList()));
      if (killNow) {
        killTree(processPid);
      }
      outbound.send(
          ExecEvent.newBuilder()
              .setStarted(ExecStartedEvent.newBuilder().setPid(processPid))
              .build());
    }
    final Posix.Pipe stdinPipe = in;
    StreamPump stdoutPump =
        out == null ? null : StreamPump.start(out.detachRead(), outbound.sink(true), io);
    StreamPump stderrPump =
        err == null ? null : StreamPump.start(err.detachRead(), outbound.sink(false), io);
    if (stdinPipe != null) {
      call.request(1); // stdin requests from now on
    }
    if (detach && processPid > 0) {
      outbound.complete();
    }
    child
        .exit()
        .whenCompleteAsync(
            (status, failure) -> {
              Instant at = Instant.now();
              int code = failure != null ? 255 : status.exitCode();
              synchronized (this) {
                exited = true;
              }
              table.exited(entry, code, at);
              deleteQuietly(processFile);
              deleteQuietly(pidFile);
              if (stdinPipe != null) {
                Stdin s;
                synchronized (this) {
                  s = stdin;
                }
                if (s != null) {
                  s.closeLater(io);
                } else {
                  stdinPipe.closeWrite();
                }
              }
              if (failure != null) {
                ShimLog.warn("exec " + execId + ": " + failure.getMessage());
              }
              try {
                if (stdoutPump != null) {
                  outbound.awaitDrained(stdoutPump, stderrPump);
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              outbound.finish(
                  ExecEvent.newBuilder()
                      .setExited(
                          ExecExitedEvent.newBuilder()
                              .setExitCode(code)
                              .setFinishedAt(Timestamps.format(at)))
                      .build());
            },
            io);
  }

  /**
   * The process's pid from runc's pid file, once runc wrote it; 0 if runc ended first (it could not
   * start the process: its error is on stderr) or did not start it in time (then it is killed).
   */
  private static int awaitPid(Path pidFile, Reaper.Child child) {
    long deadline = System.nanoTime() + START_NANOS;
    long sleepMs = 1;
    while (true) {
      try {
        String text = Files.readString(pidFile).trim();
        if (!text.isEmpty()) {
          return Integer.parseInt(text);
        }
      } catch (IOException | NumberFormatException notYet) {
        // runc writes it with a rename: absent until then
      }
      if (child.exit().isDone()) {
        return 0;
      }
      if (System.nanoTime() - deadline > 0) {
        ShimLog.warn(
            "runc exec pid " + child.pid() + " did not start its process in time; SIGKILL");
        Posix.kill(child.pid(), 9);
        return 0;
      }
      try {
        Thread.sleep(sleepMs);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 0;
      }
      sleepMs = Math.min(20, sleepMs * 2);
    }
  }

  /**
   * The write end of the process's stdin pipe. Writes run one at a time on io threads (a write
   * blocks while the process does not read); the fd is closed once, never while a write uses it.
   */
  private static final class Stdin {
    private final Posix.Pipe pipe;
    private boolean closed;

    Stdin(Posix.Pipe pipe) {
      this.pipe = pipe;
    }

    synchronized void write(byte[] bytes, boolean closeAfter) {
      if (closed) {
        return;
      }
      try {
        if (bytes.length > 0) {
          Posix.writeFully(pipe.writeFd(), bytes);
        }
      } catch (RuntimeException e) { // EPIPE: nobody reads it any more
        close();
        return;
      }
      if (closeAfter) {
        close();
      }
    }

    synchronized void close() {
      if (!closed) {
        closed = true;
        pipe.closeWrite();
      }
    }

    /** After the exit: closed once a write in progress (if any) has returned. */
    void closeLater(Executor io) {
      try {
        io.execute(this::close);
      } catch (RuntimeException stopping) {
        // the shim is going away with its fds
      }
    }
  }

  /**
   * The process.json for runc exec: the container's own process from config.json (env, cwd, user,
   * capabilities, rlimits...) with args, env, cwd and user of the request laid over it.
   */
  static JsonObject processSpec(Path bundle, CreateExecRequest req)
      throws TaskException, IOException {
    if (req.getArgsCount() == 0) {
      throw new TaskException(Status.Code.INVALID_ARGUMENT, "exec needs args");
    }
    JsonObject config =
        JsonParser.parseString(Files.readString(bundle.resolve("config.json"))).getAsJsonObject();
    JsonObject process =
        config.has("process") ? config.getAsJsonObject("process").deepCopy() : new JsonObject();
    JsonArray args = new JsonArray();
    req.getArgsList().forEach(args::add);
    process.add("args", args);

    Map<String, String> env = new LinkedHashMap<>();
    if (process.has("env")) {
      for (JsonElement e : process.getAsJsonArray("env")) {
        putEnv(env, e.getAsString());
      }
    }
    req.getEnvList().forEach(kv -> putEnv(env, kv));
    JsonArray envArray = new JsonArray();
    env.forEach((k, v) -> envArray.add(v == null ? k : k + "=" + v));
    process.add("env", envArray);

    if (!req.getCwd().isEmpty()) {
      process.addProperty("cwd", req.getCwd());
    } else if (!process.has("cwd")) {
      process.addProperty("cwd", "/");
    }
    if (!req.getUser().isEmpty()) {
      process.add("user", parseUser(req.getUser()));
    } else if (!process.has("user")) {
      JsonObject root = new JsonObject();
      root.addProperty("uid", 0);
      root.addProperty("gid", 0);
      process.add("user", root);
    }
    process.addProperty("terminal", false);
    process.remove("consoleSize");
    return process;
  }

  private static void putEnv(Map<String, String> env, String kv) {
    int eq = kv.indexOf('=');
    if (eq < 0) {
      env.put(kv, null);
    } else {
      env.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
  }

  private static JsonObject parseUser(String user) throws TaskException {
    String[] parts = user.split(":", -1);
    try {
      JsonObject u = new JsonObject();
      u.addProperty("uid", Integer.parseUnsignedInt(parts[0]));
      u.addProperty("gid", parts.length > 1 ? Integer.parseUnsignedInt(parts[1]) : 0);
      if (parts.length > 2) {
        throw new NumberFormatException();
      }
      return u;
    } catch (NumberFormatException e) {
      throw new TaskException(Status.Code.INVALID_ARGUMENT, "user must be uid[:gid], got " + user);
    }
  }

  /**
   * The exec's side of its call. grpc's observer is not thread-safe: the two pumps and the thread
   * that finishes share it under this monitor. A pump sends only while the caller takes output
   * (grpc's {@code isReady}): a slow caller holds the pump, the pipe fills and the process waits on
   * its writes, as with a slow terminal, and the shim holds a chunk per pipe, not the output.
   */
  private static final class Outbound {
    /** A waiting pump looks again this often even if no on-ready event woke it. */
    private static final long WAIT_MS = 100;

    private final ServerCallStreamObserver<ExecEvent> observer;

    /** The exit code was sent (or the call failed): output that comes later is dropped. */
    private boolean finished;

    private int waitingPumps;

    /** How long pumps have waited for the caller, in total. */
    private long heldBackNanos;

    Outbound(ServerCallStreamObserver<ExecEvent> observer) {
      this.observer = observer;
    }

    StreamPump.Sink sink(boolean isStdout) {
      return new StreamPump.Sink() {
        @Override
        public void chunk(byte[] buf, int len) {
          ByteString bytes = ByteString.copyFrom(Arrays.copyOf(buf, len));
          send(
              isStdout
                  ? ExecEvent.newBuilder().setStdout(bytes).build()
                  : ExecEvent.newBuilder().setStderr(bytes).build());
        }

        @Override
        public void endOfStream() {}
      };
    }

    synchronized void send(ExecEvent chunk) {
      long since = System.nanoTime();
      waitingPumps++;
      try {
        while (!finished && !observer.isCancelled() && !observer.isReady()) {
          wait(WAIT_MS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // the shim is stopping: the chunk is dropped
        return;
      } finally {
        waitingPumps--;
        heldBackNanos += System.nanoTime() - since;
      }
      if (!finished && !observer.isCancelled()) {
        observer.onNext(chunk);
      }
    }

    /** The caller can take more, or cancelled. */
    synchronized void wake() {
      notifyAll();
    }

    /**
     * Waits for both pipes to end after the exit. A pipe may stay open (a child of the process
     * holds it), so what comes later than the drain deadline is dropped; the time pumps spend
     * waiting for a slow caller moves the deadline, since that output is not late, the caller is.
     */
    void awaitDrained(StreamPump stdout, StreamPump stderr) throws InterruptedException {
      long exited = System.nanoTime();
      long heldBackAtExit;
      synchronized (this) {
        heldBackAtExit = heldBackNanos;
      }
      while (true) {
        long deadline;
        synchronized (this) {
          if (observer.isCancelled()) {
            return;
          }
          deadline = exited + DRAIN_NANOS + (heldBackNanos - heldBackAtExit);
          if (waitingPumps == 0 && System.nanoTime() - deadline >= 0) {
            return;
          }
        }
        long step = Math.min(deadline, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS));
        if (stdout.awaitEnd(step) && stderr.awaitEnd(step)) {
          return;
        }
      }
    }

    synchronized void finish(ExecEvent exitCode) {
      if (finished) {
        return;
      }
      finished = true;
      notifyAll();
      if (!observer.isCancelled()) {
        observer.onNext(exitCode);
        observer.onCompleted();
      }
    }

    synchronized void fail(Status.Code code, String message) {
      if (finished) {
        return;
      }
      finished = true;
      notifyAll();
      if (!observer.isCancelled()) {
        observer.onError(Status.fromCode(code).withDescription(message).asRuntimeException());
      }
    }

    /** A detached start: the call ends after {@code started}; the process runs on. */
    synchronized void complete() {
      if (finished) {
        return;
      }
      finished = true;
      notifyAll();
      if (!observer.isCancelled()) {
        observer.onCompleted();
      }
    }
  }

  private static void closeQuietly(Posix.Pipe pipe) {
    if (pipe != null) {
      pipe.close();
    }
  }

  private static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      ShimLog.warn("cannot remove " + file + ": " + e.getMessage());
    }
  }
}
