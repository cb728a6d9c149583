package dev.berth.shim;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.ByteString;
import dev.berth.api.shim.v1.ExecChunk;
import dev.berth.api.shim.v1.ExecTaskRequest;
import dev.berth.runtime.files.AtomicFiles;
import dev.berth.runtime.nativ.Posix;
import dev.berth.runtime.nativ.Reaper;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One {@code runc exec} in the foreground: runc stays attached and exits with the process's exit
 * code. stdout/stderr chunks are streamed to the caller as it takes them; the last message carries
 * the exit code. A caller that cancels gets the process a SIGTERM.
 */
final class ExecProcess {
  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  private static final long DRAIN_NANOS = TimeUnit.SECONDS.toNanos(1);

  private ExecProcess() {}

  /**
   * The process.json for runc exec: the container's own process from config.json (env, cwd, user,
   * capabilities, rlimits...) with args, env, cwd and user of the request laid over it.
   */
  static JsonObject processSpec(Path bundle, ExecTaskRequest req)
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
   * Starts the exec and streams it to the observer: output as the caller takes it, then the exit
   * code. Returns once the process is started; the rest happens on {@code io}.
   */
  static void run(
      String id,
      Path bundle,
      Path stateDir,
      ExecTaskRequest req,
      RuncDriver runc,
      Executor io,
      ServerCallStreamObserver<ExecChunk> observer)
      throws TaskException {
    Path processFile = stateDir.resolve("exec-" + SEQUENCE.incrementAndGet() + ".json");
    Posix.Pipe out = null;
    Posix.Pipe err = null;
    Reaper.Child child;
    try {
      AtomicFiles.write(processFile, processSpec(bundle, req).toString());
      out = Posix.pipe();
      err = Posix.pipe();
      child = runc.spawnExec(id, processFile, out.writeFd(), err.writeFd());
    } catch (IOException | RuntimeException e) {
      deleteQuietly(processFile);
      closeQuietly(out);
      closeQuietly(err);
      throw TaskException.internal("exec in " + id + ": " + e.getMessage());
    }
    out.closeWrite();
    err.closeWrite();
    ShimLog.info(
        "exec "
            + req.getExecId()
            + " pid "
            + child.pid()
            + ": "
            + String.join(" ", req.getArgsList()));

    Outbound outbound = new Outbound(observer);
    // grpc runs these handlers on the call's executor, which is why this method does not wait
    // for the exit there: a cancel or a ready caller would only be heard after it.
    observer.setOnReadyHandler(outbound::wake);
    observer.setOnCancelHandler(
        () -> {
          // the caller went away: runc forwards SIGTERM to the process (a reaped pid is not ours)
          if (!child.exit().isDone()) {
            Posix.kill(child.pid(), 15);
          }
          outbound.wake();
        });
    StreamPump stdout = StreamPump.start(out.detachRead(), outbound.sink(true), io);
    StreamPump stderr = StreamPump.start(err.detachRead(), outbound.sink(false), io);
    child
        .exit()
        .whenCompleteAsync(
            (status, failure) -> {
              try {
                if (failure != null) {
                  outbound.fail("exec: " + failure.getMessage());
                  return;
                }
                outbound.awaitDrained(stdout, stderr);
                outbound.finish(ExecChunk.newBuilder().setExitCode(status.exitCode()).build());
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                outbound.fail("exec: interrupted (the shim is stopping)");
              } catch (RuntimeException e) {
                outbound.fail("exec: " + e.getMessage());
              } finally {
                deleteQuietly(processFile);
              }
            },
            io);
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

    private final ServerCallStreamObserver<ExecChunk> observer;

    /** The exit code was sent (or the call failed): output that comes later is dropped. */
    private boolean finished;

    private int waitingPumps;

    /** How long pumps have waited for the caller, in total. */
    private long heldBackNanos;

    Outbound(ServerCallStreamObserver<ExecChunk> observer) {
      this.observer = observer;
    }

    StreamPump.Sink sink(boolean isStdout) {
      return new StreamPump.Sink() {
        @Override
        public void chunk(byte[] buf, int len) {
          ByteString bytes = ByteString.copyFrom(Arrays.copyOf(buf, len));
          send(
              isStdout
                  ? ExecChunk.newBuilder().setStdout(bytes).build()
                  : ExecChunk.newBuilder().setStderr(bytes).build());
        }

        @Override
        public void endOfStream() {}
      };
    }

    private synchronized void send(ExecChunk chunk) {
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

    synchronized void finish(ExecChunk exitCode) {
      finished = true;
      notifyAll();
      if (!observer.isCancelled()) {
        observer.onNext(exitCode);
        observer.onCompleted();
      }
    }

    synchronized void fail(String message) {
      finished = true;
      notifyAll();
      if (!observer.isCancelled()) {
        observer.onError(Status.INTERNAL.withDescription(message).asRuntimeException());
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
