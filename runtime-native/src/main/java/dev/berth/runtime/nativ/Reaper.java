package dev.berth.runtime.nativ;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The one thread of this process that waits for children: a blocking {@code wait4(-1)} loop that
 * reaps every child, both those we spawned and orphans re-parented to us as child subreaper, and
 * completes the future registered for the pid.
 *
 * <p>Only one Reaper may run per process (a second wait4(-1) loop would steal exits), and nothing
 * else in the process may wait for children (hence no java.lang.Process next to it).
 *
 * <p>Races handled:
 *
 * <ul>
 *   <li>spawn vs. exit: {@link #spawn} registers the pid under the lock that the reaper takes to
 *       dispatch an exit, so a child that exits at once still finds its future;
 *   <li>register after exit (a pid learnt later, e.g. from runc's --pid-file): exits of pids nobody
 *       waits for are remembered (bounded) and {@link #watch} completes from them, if the exit
 *       happened after the caller's {@code notBeforeNanos} (so a recycled pid's old exit does not
 *       count).
 * </ul>
 *
 * <p>Futures are completed on the reaper thread: attach slow work with the *Async stages.
 */
public final class Reaper {
  private static final int REMEMBERED_EXITS = 1024;

  private final Object lock = new Object();
  private final Map<Integer, CompletableFuture<WaitStatus>> waiting = new HashMap<>();
  private final Map<Integer, Unclaimed> unclaimed =
      new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, Unclaimed> eldest) {
          return size() > REMEMBERED_EXITS;
        }
      };
  private final Consumer<WaitStatus> onAnyExit;
  private long spawnGeneration;
  private long reaped;
  private Thread thread;

  private record Unclaimed(WaitStatus status, long reapedAtNanos) {}

  /** A spawned child and its exit. */
  public record Child(int pid, CompletableFuture<WaitStatus> exit) {}

  public Reaper() {
    this(status -> {});
  }

  /**
   * @param onAnyExit called on the reaper thread for every reaped process (e.g. to log it)
   */
  public Reaper(Consumer<WaitStatus> onAnyExit) {
    this.onAnyExit = onAnyExit;
  }

  /** Starts the reaper thread (a daemon thread, so it never keeps the JVM alive). */
  public Reaper start() {
    synchronized (lock) {
      if (thread != null) {
        throw new IllegalStateException("reaper already started");
      }
      thread = new Thread(this::loop, "berth-reaper");
      thread.setDaemon(true);
      thread.start();
    }
    return this;
  }

  /** Spawns a child whose exit the returned future reports. */
  public Child spawn(SpawnSpec spec) {
    synchronized (lock) {
      int pid = Spawner.spawn(spec);
      // A remembered exit of this pid belongs to an earlier process with a recycled pid.
      unclaimed.remove(pid);
      CompletableFuture<WaitStatus> exit = new CompletableFuture<>();
      waiting.put(pid, exit);
      spawnGeneration++;
      lock.notifyAll();
      return new Child(pid, exit);
    }
  }

  /**
   * The exit of a process we did not spawn ourselves but that is (or will be) our child, e.g. a
   * container init re-parented to us. Completes at once if it was already reaped after {@code
   * notBeforeNanos} (a {@link System#nanoTime()} from before the process was created).
   */
  public CompletableFuture<WaitStatus> watch(int pid, long notBeforeNanos) {
    synchronized (lock) {
      Unclaimed done = unclaimed.remove(pid);
      if (done != null && done.reapedAtNanos - notBeforeNanos >= 0) {
        return CompletableFuture.completedFuture(done.status);
      }
      return waiting.computeIfAbsent(pid, p -> new CompletableFuture<>());
    }
  }

  /** How many processes this reaper has reaped so far. */
  public long reapedCount() {
    synchronized (lock) {
      return reaped;
    }
  }

  private void loop() {
    while (true) {
      long generation;
      synchronized (lock) {
        generation = spawnGeneration;
      }
      WaitStatus status;
      try {
        status = Posix.waitAnyChild();
      } catch (NativeException e) {
        System.err.println("berth-reaper: " + e.getMessage());
        status = null;
      }
      if (status == null) {
        // No child at all. Descendants are re-parented to us before their parent becomes
        // reapable, so only a new spawn can give us a child again; the timeout covers
        // children created behind our back.
        synchronized (lock) {
          if (spawnGeneration == generation) {
            try {
              lock.wait(1000);
            } catch (InterruptedException interrupted) {
              return;
            }
          }
        }
        continue;
      }
      dispatch(status);
    }
  }

  private void dispatch(WaitStatus status) {
    CompletableFuture<WaitStatus> future;
    synchronized (lock) {
      reaped++;
      future = waiting.remove(status.pid());
      if (future == null) {
        unclaimed.put(status.pid(), new Unclaimed(status, System.nanoTime()));
      }
    }
    try {
      onAnyExit.accept(status);
    } catch (RuntimeException e) {
      System.err.println("berth-reaper: exit listener failed: " + e);
    }
    if (future != null) {
      future.complete(status);
    }
  }
}
