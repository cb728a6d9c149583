package dev.berth.shim;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.berth.runtime.nativ.Posix;
import dev.berth.runtime.nativ.Reaper;
import dev.berth.runtime.nativ.Redirect;
import dev.berth.runtime.nativ.SpawnSpec;
import dev.berth.runtime.nativ.WaitStatus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs the OCI runtime binary (runc or crun, same CLI) for one container. Every invocation gets
 * {@code --root R --log STATE/runc.log --log-format json}; children are spawned through the {@link
 * Reaper} (posix_spawn, no java.lang.Process), each in a process group of its own.
 *
 * <p>Every command has a deadline ({@code --runtime-timeout}, default 60 s): a runtime that has not
 * exited by then is killed with its whole process group (whatever it started dies too, so nothing
 * keeps its output pipes open) and the command fails with one line, "runc kill timed out after
 * 60s". Output is read on pooled threads while the deadline runs, never before it starts.
 */
final class RuncDriver {
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  /** How long output may stay open after the runtime exited (a process it left behind). */
  private static final long OUTPUT_GRACE_MILLIS = 1000;

  private final String runtime;
  private final Duration timeout;
  private final Path root;

  /** Moves with the state dir when a spare shim is adopted. */
  private volatile Path logFile;

  private final Reaper reaper;
  private final Executor io;

  /** Thrown when the runtime exits non-zero; the message is one line. */
  static final class RuncException extends Exception {
    RuncException(String message) {
      super(message);
    }
  }

  RuncDriver(String runtime, Path root, Path logFile, Reaper reaper, Executor io) {
    this(runtime, DEFAULT_TIMEOUT, root, logFile, reaper, io);
  }

  RuncDriver(
      String runtime, Duration timeout, Path root, Path logFile, Reaper reaper, Executor io) {
    this.runtime = runtime;
    this.timeout = timeout;
    this.root = root;
    this.logFile = logFile;
    this.reaper = reaper;
    this.io = io;
  }

  private List<String> argv(String... command) {
    List<String> argv =
        new ArrayList<>(
            List.of(
                runtime,
                "--root",
                root.toString(),
                "--log",
                logFile.toString(),
                "--log-format",
                "json"));
    argv.addAll(List.of(command));
    return argv;
  }

  /** The first line of {@code runc --version}, e.g. "runc version 1.1.5+ds1". */
  String version() throws RuncException {
    String out = run("--version").strip();
    int nl = out.indexOf('\n');
    return nl < 0 ? out : out.substring(0, nl);
  }

  /** The same runtime with its log in another file (each container of a group has its own). */
  RuncDriver withLogFile(Path file) {
    return new RuncDriver(runtime, timeout, root, file, reaper, io);
  }

  /** Points runc's log at the adopted state dir (before any runc command has run). */
  void useLogFile(Path file) {
    this.logFile = file;
  }

  /** Byte offset of the end of runc.log, to find the lines a later command adds. */
  long logOffset() {
    try {
      return Files.exists(logFile) ? Files.size(logFile) : 0;
    } catch (IOException e) {
      return 0;
    }
  }

  /**
   * Spawns {@code runc create}; the caller owns the fds (they are the container's stdout and
   * stderr, which runc hands down to the init process) and waits for the returned exit.
   */
  Reaper.Child spawnCreate(String id, Path bundle, Path pidFile, int stdoutFd, int stderrFd) {
    return reaper.spawn(
        SpawnSpec.of(
                argv("create", "--bundle", bundle.toString(), "--pid-file", pidFile.toString(), id))
            .newProcessGroup(true)
            .stdin(Redirect.DEV_NULL)
            .stdout(Redirect.fd(stdoutFd))
            .stderr(Redirect.fd(stderrFd)));
  }

  /**
   * Spawns {@code runc exec --process FILE ID}, which stays attached and exits with the process.
   */
  /**
   * {@code runc exec} in the foreground (it stays the process's parent and exits with its code);
   * {@code pidFile} receives the process's pid once it runs.
   */
  Reaper.Child spawnExec(
      String id, Path processJson, Path pidFile, Redirect stdin, Redirect stdout, Redirect stderr) {
    return reaper.spawn(
        SpawnSpec.of(
                argv(
                    "exec",
                    "--process",
                    processJson.toString(),
                    "--pid-file",
                    pidFile.toString(),
                    id))
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr));
  }

  void start(String id) throws RuncException {
    run("start", id);
  }

  void kill(String id, int signal, boolean all) throws RuncException {
    if (all) {
      run("kill", "--all", id, Integer.toString(signal));
    } else {
      run("kill", id, Integer.toString(signal));
    }
  }

  void delete(String id, boolean force) throws RuncException {
    if (force) {
      run("delete", "--force", id);
    } else {
      run("delete", id);
    }
  }

  /** Pids of every process in the container ({@code runc ps --format json} prints a JSON array). */
  List<Integer> ps(String id) throws RuncException {
    String out = run("ps", "--format", "json", id).trim();
    List<Integer> pids = new ArrayList<>();
    if (out.isEmpty() || out.equals("null")) {
      return pids;
    }
    for (JsonElement e : JsonParser.parseString(out).getAsJsonArray()) {
      pids.add(e.getAsInt());
    }
    return pids;
  }

  /** Whether the runtime still keeps state for the container (runc: ROOT/ID/state.json). */
  boolean exists(String id) {
    return Files.exists(root.resolve(id));
  }

  /**
   * Runs one short command and returns its stdout; a non-zero exit, or no exit before the deadline,
   * is a RuncException.
   */
  private String run(String... command) throws RuncException {
    long offset = logOffset();
    Posix.Pipe out = Posix.pipe();
    Posix.Pipe err = null;
    Reaper.Child child;
    try {
      err = Posix.pipe();
      child =
          reaper.spawn(
              SpawnSpec.of(argv(command))
                  .newProcessGroup(true)
                  .stdin(Redirect.DEV_NULL)
                  .stdout(Redirect.fd(out.writeFd()))
                  .stderr(Redirect.fd(err.writeFd())));
    } catch (RuntimeException e) {
      out.close();
      if (err != null) {
        err.close();
      }
      throw new RuncException(runtime + " " + command[0] + ": " + e.getMessage());
    }
    // Only the child may hold the write ends now, so the reads below end when it exits (or,
    // at a timeout, when its process group is killed).
    out.closeWrite();
    err.closeWrite();
    int errFd = err.detachRead();
    int outFd = out.detachRead();
    CompletableFuture<byte[]> stdout = CompletableFuture.supplyAsync(() -> drain(outFd), io);
    CompletableFuture<byte[]> stderr = CompletableFuture.supplyAsync(() -> drain(errFd), io);
    WaitStatus status = await(child, command[0]);
    byte[] output = afterExit(stdout);
    if (output == null) {
      // Something the runtime started still holds stdout: end it with the runtime's group.
      killGroup(child.pid());
      output = afterExit(stdout);
    }
    if (status.exitCode() != 0) {
      String message = lastLine(afterExit(stderr));
      if (message == null) {
        message = lastError(offset);
      }
      throw new RuncException(
          failure(
              runtime + " " + command[0],
              message != null ? message : "exit status " + status.exitCode()));
    }
    if (output == null) {
      throw new RuncException(
          runtime
              + " "
              + command[0]
              + ": its output was still open "
              + OUTPUT_GRACE_MILLIS
              + " ms after it exited");
    }
    return new String(output, StandardCharsets.UTF_8);
  }

  /** The whole output once it ends, waiting at most the grace period; null if it does not. */
  private static byte[] afterExit(CompletableFuture<byte[]> output) {
    try {
      return output.get(OUTPUT_GRACE_MILLIS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (ExecutionException | TimeoutException e) {
      return null;
    }
  }

  /**
   * Waits for a runtime command to exit. At the deadline the command and its process group (it
   * leads one: {@link SpawnSpec#newProcessGroup}) are SIGKILLed and the wait fails in one line.
   */
  WaitStatus await(Reaper.Child child, String what) throws RuncException {
    try {
      return child.exit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      killGroup(child.pid());
      String message = runtime + " " + what + " timed out after " + format(timeout) + " (killed)";
      ShimLog.warn(message);
      throw new RuncException(message);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RuncException(runtime + " " + what + " interrupted");
    } catch (ExecutionException e) {
      throw new RuncException(runtime + " " + what + ": " + e.getCause());
    }
  }

  /** SIGKILL to the process group {@code pid} leads, and to {@code pid} itself. */
  private static void killGroup(int pid) {
    try {
      Posix.kill(-pid, 9);
      Posix.kill(pid, 9);
    } catch (RuntimeException e) {
      ShimLog.warn("cannot kill " + pid + ": " + e.getMessage());
    }
  }

  static String format(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
  }

  private static byte[] drain(int fd) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    try {
      int n;
      while ((n = Posix.read(fd, buf, buf.length)) > 0) {
        out.write(buf, 0, n);
      }
    } finally {
      Posix.close(fd);
    }
    return out.toByteArray();
  }

  /** The last non-empty line of the output, as one line; null when there is none. */
  private static String lastLine(byte[] output) {
    if (output == null) {
      return null;
    }
    String[] lines = new String(output, StandardCharsets.UTF_8).split("\n");
    for (int i = lines.length - 1; i >= 0; i--) {
      String line = lines[i].strip();
      if (!line.isEmpty()) {
        return line;
      }
    }
    return null;
  }

  /**
   * The "msg" of the last error-level entry runc appended to runc.log after the offset (any level
   * when there is no error), flattened to one line; null when there is none.
   */
  /**
   * "WHAT failed: REASON", once: runc's own error messages already start with "runc create failed:
   * " (runc 1.1), and saying it twice is noise.
   */
  static String failure(String what, String reason) {
    String prefix = what + " failed: ";
    return reason.startsWith(prefix) ? reason : prefix + reason;
  }

  String lastError(long offset) {
    if (!Files.exists(logFile)) {
      return null;
    }
    String error = null;
    String any = null;
    try (RandomAccessFile file = new RandomAccessFile(logFile.toFile(), "r")) {
      file.seek(Math.min(offset, file.length()));
      byte[] rest = new byte[(int) Math.min(file.length() - file.getFilePointer(), 1 << 20)];
      file.readFully(rest);
      for (String line : new String(rest, StandardCharsets.UTF_8).split("\n")) {
        if (line.isBlank()) {
          continue;
        }
        try {
          JsonObject entry = JsonParser.parseString(line).getAsJsonObject();
          if (!entry.has("msg")) {
            continue;
          }
          String msg = entry.get("msg").getAsString();
          any = msg;
          if (entry.has("level") && "error".equals(entry.get("level").getAsString())) {
            error = msg;
          }
        } catch (RuntimeException notJson) {
          any = line;
        }
      }
    } catch (IOException e) {
      return null;
    }
    String message = error != null ? error : any;
    return message == null ? null : message.replaceAll("\\s*\\n\\s*", " ").strip();
  }
}
