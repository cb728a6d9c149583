package dev.berth.core;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@code size} (0 or 1) spare shims started ahead of need, so a container start pays for
 * `runc create` but not for a JVM start. A spare that nobody adopts ends by itself when its daemon
 * dies; leftovers from an earlier daemon are removed at start-up.
 */
final class ShimPool {
  private static final Logger log = LoggerFactory.getLogger(ShimPool.class);

  private final ShimLauncher launcher;
  private final BerthPaths paths;
  private final Executor blocking;
  private final int size;
  private final java.util.function.Function<ShimLauncher.Launched, ShimClient> connect;
  private CompletableFuture<Spare> spare; // guarded by this

  /** A started spare and the daemon's connection to it, already used once. */
  record Spare(ShimLauncher.Launched shim, ShimClient client) {}

  ShimPool(ShimLauncher launcher, BerthPaths paths, Executor blocking, int size,
           java.util.function.Function<ShimLauncher.Launched, ShimClient> connect) {
    this.launcher = launcher;
    this.connect = connect;
    this.paths = paths;
    this.blocking = blocking;
    this.size = size;
  }

  /** A live spare (waiting for one being started), or null when there is none to give. */
  Spare take() {
    CompletableFuture<Spare> f;
    synchronized (this) {
      f = spare;
      spare = null;
    }
    if (f == null) return null;
    try {
      Spare sp = f.join();
      if (sp.shim().process().isAlive()) return sp;
      sp.client().close();
      return null;
    } catch (RuntimeException e) {
      log.warn("spare shim failed to start: {}", BerthException.from(e).getMessage());
      return null;
    }
  }

  /** Starts a spare if there is none (after a start, so the two JVMs do not compete for the CPU). */
  void replenish() {
    if (size <= 0) return;
    synchronized (this) {
      if (spare != null) return;
      spare = CompletableFuture.supplyAsync(() -> {
        try {
          ShimLauncher.Launched shim = launcher.launchSpare();
          // Connect and make one call now: the connection and both sides' first-call code paths
          // are then warm, which takes ~100 ms off the start that adopts this spare.
          ShimClient client = connect.apply(shim);
          try {
            client.state(java.time.Duration.ofSeconds(10)).toCompletableFuture().join();
          } catch (RuntimeException e) {
            client.close();
            shim.process().destroyForcibly();
            throw e;
          }
          return new Spare(shim, client);
        } catch (IOException e) {
          throw BerthException.internal("cannot start a spare shim: " + e.getMessage());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw BerthException.internal("interrupted");
        }
      }, blocking);
    }
  }

  /** Removes spares left by an earlier daemon (they are not containers' shims). */
  void removeLeftovers() {
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(paths.shims(), ".spare-*")) {
      for (Path dir : dirs) {
        try {
          long pid = Long.parseLong(Files.readString(dir.resolve("shim.pid")).strip());
          ProcessHandle.of(pid).filter(ph -> ph.info().commandLine().map(c -> c.contains("--spare")).orElse(false))
              .ifPresent(ProcessHandle::destroyForcibly);
          Path socket = Path.of(Files.readString(dir.resolve("address")).strip());
          Files.deleteIfExists(socket);
        } catch (IOException | NumberFormatException e) {
          // half-started spare: removing its dir is all there is to do
        }
        ContainerRuntime.deleteTree(dir);
      }
    } catch (IOException e) {
      log.warn("cannot scan for leftover spare shims: {}", e.getMessage());
    }
  }

  /** On daemon stop: the spare is not a container's shim, so it goes too. */
  void close() {
    CompletableFuture<Spare> f;
    synchronized (this) {
      f = spare;
      spare = null;
    }
    if (f != null) f.thenAccept(sp -> {
      sp.client().close();
      sp.shim().process().destroy();
    });
  }
}
