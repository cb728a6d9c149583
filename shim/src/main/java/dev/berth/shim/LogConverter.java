package dev.berth.shim;

import dev.berth.runtime.nativ.SpoolIo;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One thread per shim that turns spool bytes into log lines, for every registered container: it
 * reads each stream's spool from where it stopped (32 KiB at a time, so a line is what a pipe read
 * was before), hands the bytes to the stream's {@link LogWriter.StreamSink} (one JSON line, UTF-8
 * carry unchanged), then records both offsets in {@code log.offsets}; every 1 MiB converted it
 * punches the spool out behind the converted offset, so a spool holds at most the backlog on disk.
 *
 * <p>Its crash points (where a SIGKILL can stop it) are named by {@link Point}; tests stop it there
 * through {@link Faults} and check that {@link LogRecovery} loses and repeats nothing.
 */
final class LogConverter {
  /** Bytes read per line: the 32 KiB a pipe read gave before the spool. */
  static final int CHUNK = 32 * 1024;

  private static final long PUNCH_EVERY = 1 << 20;

  /** Where the converter can be stopped by a crash, in the order it passes them. */
  enum Point {
    /** Spool bytes read, no line written. */
    BEFORE_APPEND,
    /** Half a line written. */
    TORN_APPEND,
    /** The line written, log.offsets not yet. */
    AFTER_APPEND,
    /** log.offsets written, the spool not punched yet. */
    AFTER_OFFSETS
  }

  /** Test hook: {@link #at} may throw {@link Crash} to stop the converter where it is. */
  interface Faults {
    Faults NONE = point -> {};

    void at(Point point);
  }

  /** Ends the converter thread at once, as a SIGKILL would: nothing more is written. */
  static final class Crash extends Error {
    Crash(Point point) {
      super("crash at " + point, null, false, false);
    }
  }

  private final Faults faults;
  private final List<ContainerOutput> outputs = new CopyOnWriteArrayList<>();
  private final ConcurrentLinkedQueue<Removal> removals = new ConcurrentLinkedQueue<>();
  private final CompletableFuture<Void> stopped = new CompletableFuture<>();
  private final byte[] buf = new byte[CHUNK];
  private Runnable backlogDrained = () -> {};
  private Thread thread;
  private boolean signalled;
  private volatile boolean closing;

  private record Removal(ContainerOutput output, CompletableFuture<Void> done) {}

  LogConverter(Faults faults) {
    this.faults = faults;
  }

  /** Called when a paused stream's backlog went under the limit (the poller polls it again). */
  void onBacklogDrained(Runnable wake) {
    this.backlogDrained = wake;
  }

  synchronized void register(ContainerOutput out) {
    outputs.add(out);
    if (thread == null) {
      thread = new Thread(this::run, "berth-log-convert");
      thread.setDaemon(true);
      thread.start();
    }
    signal();
  }

  /** Completes once the converter thread no longer touches {@code out}. */
  CompletableFuture<Void> unregister(ContainerOutput out) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (this) {
      if (thread == null || stopped.isDone()) {
        outputs.remove(out);
        done.complete(null);
        return done;
      }
    }
    removals.add(new Removal(out, done));
    signal();
    return done;
  }

  /** New spool bytes, an end of stream or a removal: the thread looks again. */
  synchronized void signal() {
    signalled = true;
    notifyAll();
  }

  /** Completes when the thread ended (closed, or stopped by a {@link Crash}). */
  CompletableFuture<Void> stopped() {
    return stopped;
  }

  synchronized void close() {
    closing = true;
    if (thread == null) {
      stopped.complete(null);
    }
    signal();
  }

  private void run() {
    try {
      while (!closing) {
        boolean progress = false;
        for (ContainerOutput out : outputs) {
          boolean ended = true;
          for (ContainerOutput.Stream s : out.streams) {
            progress |= convert(out, s);
            ended &= s.done;
          }
          if (ended) {
            out.markEnded();
          }
        }
        Removal r;
        while ((r = removals.poll()) != null) {
          outputs.remove(r.output);
          r.done.complete(null);
        }
        if (!progress) {
          synchronized (this) {
            if (!signalled && !closing) {
              wait(1000);
            }
            signalled = false;
          }
        }
      }
    } catch (Crash crash) {
      ShimLog.warn("log converter stopped: " + crash.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | Error e) {
      ShimLog.warn("log converter failed: " + e);
    } finally {
      stopped.complete(null);
      for (Removal r : removals) {
        r.done.complete(null);
      }
    }
  }

  /** Converts one chunk of one stream, or its end; returns whether there was anything to do. */
  private boolean convert(ContainerOutput out, ContainerOutput.Stream s) {
    if (s.done) {
      return false;
    }
    boolean eof = s.eof; // read before spliced: once eof is set, spliced is final
    long end = s.spliced;
    if (end > s.read) {
      int n = SpoolIo.pread(s.spoolFd, buf, (int) Math.min(CHUNK, end - s.read), s.read);
      if (n <= 0) {
        throw new IllegalStateException(
            s.name + " spool of " + out.id + " ends at " + s.read + ", expected " + end);
      }
      faults.at(Point.BEFORE_APPEND);
      long o = s.sink.chunk(buf, n, s.read + n);
      s.read += n;
      converted(out, s, o);
      return true;
    }
    if (eof) {
      converted(out, s, s.sink.endOfStream(s.read));
      s.done = true;
      return true;
    }
    return false;
  }

  private void converted(ContainerOutput out, ContainerOutput.Stream s, long o) {
    if (o < 0) {
      return;
    }
    s.converted = o;
    faults.at(Point.AFTER_APPEND);
    out.writeOffsets();
    faults.at(Point.AFTER_OFFSETS);
    long upTo = o & ~4095L; // whole pages: what is behind "o" is never read again
    if (upTo - s.punched >= PUNCH_EVERY) {
      try {
        SpoolIo.punchHole(s.spoolFd, s.punched, upTo - s.punched);
        s.punched = upTo;
      } catch (RuntimeException e) {
        ShimLog.warn("cannot punch the " + s.name + " spool of " + out.id + ": " + e.getMessage());
        s.punched = upTo; // the spool keeps its blocks; try again at the next MiB
      }
    }
    if (s.paused && s.backlog() <= OutputPoller.MAX_BACKLOG) {
      backlogDrained.run();
    }
  }
}
