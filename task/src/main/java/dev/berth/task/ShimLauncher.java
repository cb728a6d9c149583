package dev.berth.task;

import dev.berth.core.BerthException;
import dev.berth.host.BerthPaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts one berth-shim process. The shim detaches into its own session (setsid) so a kill -9 of
 * the daemon does not reach it, and announces itself by writing its socket path to {@code <shim
 * dir>/address} once it serves.
 */
final class ShimLauncher {
  private static final long READY_TIMEOUT_MS = 20_000;

  record Launched(long pid, Path socket, Process process, Path dir) {}

  private final BerthPaths paths;

  ShimLauncher(BerthPaths paths) {
    this.paths = paths;
  }

  /** A shim for container {@code id}, started now. */
  Launched launch(String id) throws IOException, InterruptedException {
    return launch(id, paths.shimDir(id), paths.shimSocket(id), false);
  }

  /** The shim of group {@code group}, in {@code groups/<group>}, started now. */
  Launched launchGroup(String group) throws IOException, InterruptedException {
    return launch(group, paths.groups().resolve(group), paths.shimSocket("group/" + group), false);
  }

  /**
   * A spare shim: started ahead of need in a hidden state dir ({@code groups/.spare-XXXX}); the
   * first Create it receives makes it that container's shim or that group's (it renames its dir to
   * {@code shims/<id>} or {@code groups/<group>}). Saves a JVM start per run or group.
   */
  Launched launchSpare() throws IOException, InterruptedException {
    String name = "spare-" + ContainerSpecs.newId().substring(0, 12);
    Path dir = paths.groups().resolve("." + name);
    Path socket = paths.shimSocket(name);
    try {
      return launch(name, dir, socket, true);
    } catch (IOException | RuntimeException e) {
      // nobody else knows this spare's name: what it left goes now (its process is gone: launch
      // only gives up on a shim that exited or that it killed)
      dev.berth.runtime.files.FileTrees.deleteRecursively(dir);
      Files.deleteIfExists(socket);
      throw e;
    }
  }

  private Launched launch(String id, Path dir, Path socket, boolean spare)
      throws IOException, InterruptedException {
    Files.createDirectories(socket.getParent());
    Files.createDirectories(dir);
    Files.deleteIfExists(dir.resolve("address"));
    Files.deleteIfExists(dir.resolve("exit.json"));
    Path log = dir.resolve("shim.log");
    // A spare warms up at low priority (it resets itself to normal when adopted), so it never
    // competes with the start or the client that is running right now.
    List<String> cmd = new java.util.ArrayList<>(spare ? List.of("nice", "-n", "10") : List.of());
    cmd.addAll(
        List.of(
            paths.shimBinary().toString(),
            "--id",
            id,
            "--state-dir",
            dir.toString(),
            "--socket",
            socket.toString(),
            "--runtime",
            paths.runtime(),
            "--runtime-root",
            paths.runtimeRoot().toString(),
            "--tasks-dir",
            paths.shims().toString()));
    // A spare ends itself, unadopted, once this daemon is not its parent any more. It is told our
    // pid: if we are SIGKILLed while its JVM starts, the parent it would see is already init.
    if (spare)
      cmd.addAll(List.of("--spare", "--parent-pid", Long.toString(ProcessHandle.current().pid())));
    Process p =
        new ProcessBuilder(cmd)
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectErrorStream(true)
            .start();
    Path address = dir.resolve("address");
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(READY_TIMEOUT_MS);
    long sleepMicros = 500;
    while (!Files.exists(address)) {
      if (!p.isAlive()) {
        throw BerthException.internal(
            "shim exited during start (" + p.exitValue() + "): " + lastLine(log));
      }
      if (System.nanoTime() > deadline) {
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
        throw BerthException.internal(
            "shim did not become ready within " + READY_TIMEOUT_MS + " ms");
      }
      TimeUnit.MICROSECONDS.sleep(sleepMicros);
      sleepMicros = Math.min(sleepMicros * 2, 5_000);
    }
    return new Launched(
        p.pid(), Path.of(Files.readString(address, StandardCharsets.UTF_8).strip()), p, dir);
  }

  private static String lastLine(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      for (int i = lines.size() - 1; i >= 0; i--) {
        if (!lines.get(i).isBlank()) return lines.get(i).strip();
      }
    } catch (IOException ignored) {
      // no log: the message below says as much
    }
    return "no output";
  }
}
