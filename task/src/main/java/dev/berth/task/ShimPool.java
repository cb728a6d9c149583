package dev.berth.task;

import dev.berth.core.BerthException;
import dev.berth.host.BerthPaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@code size} (0 or 1) spare shims started ahead of need, so a container start pays for
 * `runc create` but not for a JVM start. A spare that dies while it waits (found by its exit, or by
 * {@link #take()}) is removed (state dir and socket) and replaced. A spare that nobody adopts ends
 * by itself when its daemon dies; leftovers from an earlier daemon are removed at start-up.
 */
final class ShimPool {
  private static final Logger log = LoggerFactory.getLogger(ShimPool.class);

  /** A spare that dies younger than this counts towards the back-off before the next one. */
  private static final long YOUNG_NANOS = TimeUnit.SECONDS.toNanos(10);

  private static final long MAX_BACKOFF_MS = 30_000;

  private final ShimLauncher launcher;
  private final BerthPaths paths;
  private final Executor blocking;
  private final int size;
  private final java.util.function.Function<ShimLauncher.Launched, ShimClient> connect;
  private CompletableFuture<Spare> spare; // guarded by this
  private boolean closed; // guarded by this
  private int youngDeaths; // guarded by this: spares in a row that died soon after they were ready

  /**
   * A started spare and the daemon's connection to it, already used once; ready since readyAt
   * (nanoTime).
   */
  record Spare(ShimLauncher.Launched shim, ShimClient client, long readyAt) {}

  ShimPool(
      ShimLauncher launcher,
      BerthPaths paths,
      Executor blocking,
      int size,
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
      if (sp.shim().process().isAlive()) {
        synchronized (this) {
          youngDeaths = 0;
        }
        return sp;
      }
      // Its exit normally gets here first (see replenish); this is the race with a start.
      log.warn("spare shim {} is dead; removing it and starting another", sp.shim().pid());
      discard(sp);
      replaceDead(sp);
      return null;
    } catch (RuntimeException e) {
      log.warn("spare shim failed to start: {}", BerthException.from(e).getMessage());
      return null;
    }
  }

  /**
   * Starts a spare if there is none (after a start, so the two JVMs do not compete for the CPU).
   */
  void replenish() {
    if (size <= 0) return;
    CompletableFuture<Spare> f;
    synchronized (this) {
      if (spare != null || closed) return;
      f =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  ShimLauncher.Launched shim = launcher.launchSpare();
                  // Connect and make one call now: the connection and both sides' first-call code
                  // paths
                  // are then warm, which takes ~100 ms off the start that adopts this spare.
                  ShimClient client = connect.apply(shim);
                  try {
                    client.state(java.time.Duration.ofSeconds(10)).toCompletableFuture().join();
                  } catch (RuntimeException e) {
                    client.close();
                    shim.process().destroyForcibly();
                    shim.process().waitFor(5, TimeUnit.SECONDS);
                    removeState(shim);
                    throw e;
                  }
                  return new Spare(shim, client, System.nanoTime());
                } catch (IOException e) {
                  throw BerthException.internal("cannot start a spare shim: " + e.getMessage());
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                  throw BerthException.internal("interrupted");
                }
              },
              blocking);
      spare = f;
    }
    // Liveness: the daemon is the spare's parent, so its exit (a kill -9, an OOM kill, a crash) is
    // seen at once. While it is still this pool's spare, nobody else will clean up after it.
    f.thenAccept(sp -> sp.shim().process().onExit().thenRunAsync(() -> died(f, sp), blocking));
  }

  /** A spare's process exited: if nobody took it meanwhile, remove what it left and replace it. */
  private void died(CompletableFuture<Spare> f, Spare sp) {
    synchronized (this) {
      if (spare != f || closed) return; // taken (now a container's shim) or the pool is closed
      spare = null;
    }
    log.warn(
        "spare shim {} died (exit {}); removing it and starting another",
        sp.shim().pid(),
        sp.shim().process().exitValue());
    discard(sp);
    replaceDead(sp);
  }

  /** Starts a replacement: at once, unless spares keep dying young (then after a growing pause). */
  private void replaceDead(Spare sp) {
    long delayMs;
    synchronized (this) {
      if (closed) return;
      youngDeaths = System.nanoTime() - sp.readyAt() < YOUNG_NANOS ? youngDeaths + 1 : 0;
      delayMs =
          youngDeaths <= 1 ? 0 : Math.min(MAX_BACKOFF_MS, 1000L << Math.min(youngDeaths - 2, 5));
    }
    if (delayMs == 0) {
      replenish();
    } else {
      log.warn("spare shims keep dying; next one in {} ms", delayMs);
      CompletableFuture.delayedExecutor(delayMs, TimeUnit.MILLISECONDS, blocking)
          .execute(this::replenish);
    }
  }

  /** Closes the connection to a spare that is gone and removes its state dir and socket. */
  private void discard(Spare sp) {
    sp.client().close();
    removeState(sp.shim());
  }

  private static void removeState(ShimLauncher.Launched shim) {
    try {
      dev.berth.runtime.files.FileTrees.deleteRecursively(shim.dir());
      Files.deleteIfExists(shim.socket());
    } catch (IOException e) {
      log.warn("cannot remove spare shim {}'s state: {}", shim.pid(), e.getMessage());
    }
  }

  /** The spare being started or waiting (null if none); for tests. */
  synchronized CompletableFuture<Spare> current() {
    return spare;
  }

  /**
   * Removes spares left by an earlier daemon (they are not containers' shims). A spare may not have
   * written shim.pid yet (or even be the launcher script or `nice` still), so its processes are
   * found by their command line: {@code --spare} and {@code --state-dir} naming its dir. They are
   * killed and gone before the dir is removed, so none recreates it.
   */
  void removeLeftovers() {
    List<Path> leftovers = new ArrayList<>();
    // groups/ holds the spares; shims/ held them before shim groups
    for (Path parent : List.of(paths.groups(), paths.shims())) {
      try (DirectoryStream<Path> dirs = Files.newDirectoryStream(parent, ".spare-*")) {
        dirs.forEach(leftovers::add);
      } catch (IOException e) {
        if (!(e instanceof java.nio.file.NoSuchFileException)) {
          log.warn("cannot scan for leftover spare shims: {}", e.getMessage());
        }
      }
    }
    if (leftovers.isEmpty()) return;
    List<SpareProcess> processes = spareProcesses();
    Set<Long> adopted = adoptedShimPids();
    for (Path dir : leftovers) {
      Set<Path> sockets = new LinkedHashSet<>();
      sockets.add(paths.shimSocket(dir.getFileName().toString().substring(1)));
      try {
        sockets.add(
            Path.of(Files.readString(dir.resolve("address"), StandardCharsets.UTF_8).strip()));
      } catch (IOException | RuntimeException e) {
        // not serving yet: its socket, if bound, is one of the others
      }
      List<ProcessHandle> killed = new ArrayList<>();
      for (SpareProcess p : processes) {
        if (!p.stateDir().equals(dir.toAbsolutePath().normalize())) continue;
        if (adopted.contains(p.pid())) continue; // a container's shim now: never ours to kill
        if (p.socket() != null) sockets.add(p.socket());
        ProcessHandle.of(p.pid())
            .ifPresent(
                ph -> {
                  log.info("killing leftover spare shim {} ({})", ph.pid(), dir.getFileName());
                  ph.destroyForcibly();
                  killed.add(ph);
                });
      }
      for (ProcessHandle ph : killed) awaitGone(ph.pid(), 5_000);
      try {
        for (Path socket : sockets) Files.deleteIfExists(socket);
        dev.berth.runtime.files.FileTrees.deleteRecursively(dir);
      } catch (IOException e) {
        log.warn("cannot remove leftover spare {}: {}", dir, e.getMessage());
      }
    }
  }

  /**
   * A process started as a spare shim: its state dir (absolute) and socket, from its command line.
   */
  record SpareProcess(long pid, Path stateDir, Path socket) {}

  /** Every process whose command line is a spare shim's (`nice`, bin/berth-shim or the JVM). */
  static List<SpareProcess> spareProcesses() {
    List<SpareProcess> found = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path proc : (Iterable<Path>) procs::iterator) {
        String name = proc.getFileName().toString();
        if (name.isEmpty() || !name.chars().allMatch(Character::isDigit)) continue;
        long pid = Long.parseLong(name);
        if (pid == ProcessHandle.current().pid()) continue;
        String[] argv;
        try {
          argv =
              new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8)
                  .split("\0");
        } catch (IOException gone) {
          continue;
        }
        String stateDir = null;
        String socket = null;
        boolean spare = false;
        for (int i = 0; i < argv.length; i++) {
          if (argv[i].equals("--spare")) spare = true;
          else if (argv[i].equals("--state-dir") && i + 1 < argv.length) stateDir = argv[i + 1];
          else if (argv[i].equals("--socket") && i + 1 < argv.length) socket = argv[i + 1];
        }
        if (!spare || stateDir == null) continue;
        Path cwd = processCwd(proc);
        if (cwd == null && !(Path.of(stateDir).isAbsolute())) continue;
        found.add(
            new SpareProcess(
                pid, absolute(cwd, stateDir), socket == null ? null : absolute(cwd, socket)));
      }
    } catch (IOException e) {
      log.warn("cannot list processes: {}", e.getMessage());
    }
    return found;
  }

  /**
   * A process's working directory, or null when it cannot be read (it exited meanwhile, or is not
   * ours to read).
   */
  private static Path processCwd(Path proc) {
    try {
      return Files.readSymbolicLink(proc.resolve("cwd"));
    } catch (IOException | UnsupportedOperationException e) {
      return null;
    }
  }

  private static Path absolute(Path cwd, String p) {
    Path path = Path.of(p);
    return (path.isAbsolute() || cwd == null ? path : cwd.resolve(path)).normalize();
  }

  /**
   * The pids in shims/<id>/shim.pid and groups/<group>/shim.pid of containers' and groups' shims
   * (an adopted spare's among them).
   */
  private Set<Long> adoptedShimPids() {
    Set<Long> pids = new HashSet<>();
    for (Path parent : List.of(paths.shims(), paths.groups())) {
      try (DirectoryStream<Path> dirs =
          Files.newDirectoryStream(
              parent, d -> !d.getFileName().toString().startsWith(".spare-"))) {
        for (Path dir : dirs) {
          try {
            pids.add(Long.parseLong(Files.readString(dir.resolve("shim.pid")).strip()));
          } catch (IOException | NumberFormatException ignored) {
            // no shim (yet) in this one
          }
        }
      } catch (java.nio.file.NoSuchFileException none) {
        // nothing there yet
      } catch (IOException e) {
        log.warn("cannot list shim dirs: {}", e.getMessage());
      }
    }
    return pids;
  }

  /** Waits until pid is gone or a zombie (an orphan's zombie waits for init: it writes nothing). */
  static boolean awaitGone(long pid, long timeoutMs) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (true) {
      try {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        if (stat.charAt(stat.lastIndexOf(')') + 2) == 'Z') return true;
      } catch (IOException | RuntimeException gone) {
        return true;
      }
      if (System.nanoTime() > deadline) return false;
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }

  /** On daemon stop: the spare is not a container's shim, so it goes too, and so do its files. */
  void close() {
    CompletableFuture<Spare> f;
    synchronized (this) {
      closed = true;
      f = spare;
      spare = null;
    }
    if (f != null)
      f.thenAccept(
          sp -> {
            sp.client().close();
            Process p = sp.shim().process();
            p.destroy();
            try {
              if (!p.waitFor(3, TimeUnit.SECONDS))
                return; // the next daemon removes it as a leftover
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              return;
            }
            removeState(sp.shim());
          });
  }
}
