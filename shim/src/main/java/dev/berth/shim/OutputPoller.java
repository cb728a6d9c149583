package dev.berth.shim;

import dev.berth.runtime.nativ.NativeException;
import dev.berth.runtime.nativ.Posix;
import dev.berth.runtime.nativ.SpoolIo;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One thread per shim that moves container output from the FIFOs into the spools: poll(2) over
 * every registered stream's read end, and for each readable one {@code splice(fifo → spool at
 * offset, 64 KiB)} until the pipe is empty. A splice is one syscall, so a SIGKILL leaves each byte
 * either still in the pipe or in the spool. A stream whose unconverted backlog is over {@link
 * #MAX_BACKLOG} (the log's disk is full, say) is left out of the poll until the {@link
 * LogConverter} catches up: its pipe fills and the container's writes block, nothing is lost.
 *
 * <p>Also the front of a shim's output path: {@link #register} and {@link #unregister} add and
 * remove a container's {@link ContainerOutput} here and in the converter.
 */
final class OutputPoller implements AutoCloseable {
  static final long MAX_BACKLOG = 1 << 20;
  private static final long SPLICE = 64 * 1024;
  private static final long FULL_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

  private final LogConverter converter;
  private final List<ContainerOutput> outputs = new CopyOnWriteArrayList<>();
  private final ConcurrentLinkedQueue<Removal> removals = new ConcurrentLinkedQueue<>();
  private final Posix.Pipe wake = SpoolIo.nonBlockingPipe();
  private final SpoolIo.PollSet polls = new SpoolIo.PollSet(8);
  private Thread thread;
  private volatile boolean closing;

  private record Removal(ContainerOutput output, CompletableFuture<Void> done) {}

  OutputPoller(LogConverter converter) {
    this.converter = converter;
    converter.onBacklogDrained(this::wake);
  }

  OutputPoller() {
    this(new LogConverter(LogConverter.Faults.NONE));
  }

  LogConverter converter() {
    return converter;
  }

  /** Starts moving and converting {@code out}'s streams (the threads start with the first one). */
  synchronized void register(ContainerOutput out) {
    converter.register(out);
    outputs.add(out);
    if (thread == null) {
      thread = new Thread(this::run, "berth-output-poll");
      thread.setDaemon(true);
      thread.start();
    }
    wake();
  }

  /**
   * Stops serving {@code out} and closes its files: the log first (a converter waiting for disk
   * space gives up), then, once neither thread touches its fds any more (at most 2 s each), the
   * FIFOs and spools. What is not converted by then is dropped (the task is being deleted).
   */
  void unregister(ContainerOutput out) {
    out.log.close();
    CompletableFuture<Void> polled = new CompletableFuture<>();
    synchronized (this) {
      if (thread == null || !thread.isAlive()) {
        outputs.remove(out);
        polled.complete(null);
      } else {
        removals.add(new Removal(out, polled));
      }
    }
    wake();
    CompletableFuture<Void> converted = converter.unregister(out);
    try {
      polled.get(2, TimeUnit.SECONDS);
      converted.get(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      ShimLog.warn("output of " + out.id + ": fds left open (interrupted)");
      return;
    } catch (ExecutionException | TimeoutException e) {
      ShimLog.warn("output of " + out.id + ": fds left open, still in use after 2s");
      return;
    }
    out.closeFiles();
  }

  void wake() {
    SpoolIo.poke(wake.writeFd());
  }

  /** Stops both threads (waiting up to 2 s for each); registered outputs keep their files. */
  @Override
  public void close() {
    closing = true;
    wake();
    converter.close();
    Thread t;
    synchronized (this) {
      t = thread;
    }
    try {
      if (t != null) {
        t.join(2000);
      }
      converter.stopped().get(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      ShimLog.warn("the log converter did not stop within 2s");
    }
  }

  private void run() {
    List<ContainerOutput.Stream> polled = new ArrayList<>();
    try {
      while (!closing) {
        // A stream is spliced once when it is new: a FIFO opened after its last writer left
        // never reports its end to poll(2), but splice reads it.
        for (ContainerOutput out : outputs) {
          if (isNew(out)) {
            for (ContainerOutput.Stream s : out.streams) {
              drain(out, s, true);
            }
            converter.signal();
          }
        }
        polls.set(0, wake.readFd(), SpoolIo.POLLIN);
        polled.clear();
        long now = System.nanoTime();
        long retry = Long.MAX_VALUE;
        for (ContainerOutput out : outputs) {
          for (ContainerOutput.Stream s : out.streams) {
            if (s.eof) {
              continue;
            }
            s.paused = s.backlog() > MAX_BACKLOG;
            if (s.paused) {
              continue;
            }
            if (s.retryAt != 0 && s.retryAt - now > 0) {
              retry = Math.min(retry, s.retryAt - now);
              continue;
            }
            polled.add(s);
            polls.set(polled.size(), s.fifoFd, SpoolIo.POLLIN);
          }
        }
        int timeout =
            retry == Long.MAX_VALUE ? -1 : (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(retry));
        polls.poll(polled.size() + 1, timeout);
        if (polls.revents(0) != 0) {
          SpoolIo.drain(wake.readFd());
        }
        boolean moved = false;
        for (int i = 0; i < polled.size(); i++) {
          if (polls.revents(i + 1) != 0) {
            ContainerOutput.Stream s = polled.get(i);
            moved |= drain(owner(s), s, false);
          }
        }
        if (moved) {
          converter.signal();
        }
        Removal r;
        while ((r = removals.poll()) != null) {
          outputs.remove(r.output);
          seen.remove(r.output);
          r.done.complete(null);
        }
      }
    } catch (RuntimeException | Error e) {
      ShimLog.warn("output poller failed: " + e);
    } finally {
      for (Removal r : removals) {
        r.done.complete(null);
      }
    }
  }

  /** The outputs this thread has primed (spliced once); only it touches this list. */
  private final List<ContainerOutput> seen = new ArrayList<>();

  private boolean isNew(ContainerOutput out) {
    if (seen.contains(out)) {
      return false;
    }
    seen.add(out);
    return true;
  }

  private ContainerOutput owner(ContainerOutput.Stream s) {
    for (ContainerOutput out : outputs) {
      if (out.streams[0] == s || out.streams[1] == s) {
        return out;
      }
    }
    throw new IllegalStateException("stream " + s.name + " has no output");
  }

  /**
   * Splices what the FIFO holds into the spool, until it is empty, at its end, or the backlog is
   * over the limit ({@code untilEmpty}: until a splice finds it empty or ended; else a short splice
   * already means empty). Returns whether anything happened (bytes moved or the end reached).
   */
  private boolean drain(ContainerOutput out, ContainerOutput.Stream s, boolean untilEmpty) {
    boolean moved = false;
    while (!s.eof && s.backlog() <= MAX_BACKLOG) {
      long n;
      try {
        n = SpoolIo.splice(s.fifoFd, s.spoolFd, s.spliced, SPLICE);
      } catch (NativeException e) {
        // A full --state (ENOSPC) or another write error: the bytes stay in the pipe; retry.
        if (!s.warned) {
          ShimLog.warn(
              "cannot spool "
                  + s.name
                  + " of "
                  + out.id
                  + " ("
                  + e.getMessage()
                  + "); retrying every 500 ms");
          s.warned = true;
        }
        s.retryAt = System.nanoTime() + FULL_RETRY_NANOS;
        return moved;
      }
      if (s.warned) {
        ShimLog.info("spooling " + s.name + " of " + out.id + " again");
        s.warned = false;
      }
      s.retryAt = 0;
      if (n < 0) {
        return moved;
      }
      moved = true;
      if (n == 0) {
        s.eof = true;
        converter.signal();
        return true;
      }
      s.spliced += n;
      if (n < SPLICE && !untilEmpty) {
        return true; // the pipe is empty now: poll(2) tells when there is more, at no extra call
      }
    }
    return moved;
  }
}
