package dev.berth.shim;

import dev.berth.runtime.nativ.NativeException;
import dev.berth.runtime.nativ.Posix;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Copies everything readable from one pipe read end to a consumer, chunk by chunk, on a pooled
 * thread, until end of file (every write end closed), then closes the fd.
 */
final class StreamPump {
  /** Receives the chunks; called on the pump's thread only. */
  interface Sink {
    void chunk(byte[] buf, int len);

    void endOfStream();
  }

  private final int fd;
  private final Sink sink;
  private final CountDownLatch done = new CountDownLatch(1);

  private StreamPump(int fd, Sink sink) {
    this.fd = fd;
    this.sink = sink;
  }

  static StreamPump start(int fd, Sink sink, Executor executor) {
    StreamPump pump = new StreamPump(fd, sink);
    executor.execute(pump::run);
    return pump;
  }

  private void run() {
    byte[] buf = new byte[32 * 1024];
    try {
      int n;
      while ((n = Posix.read(fd, buf, buf.length)) > 0) {
        sink.chunk(buf, n);
      }
    } catch (NativeException e) {
      ShimLog.warn("pump fd " + fd + ": " + e.getMessage());
    } catch (RuntimeException e) {
      ShimLog.warn("pump fd " + fd + " sink failed: " + e);
    } finally {
      try {
        sink.endOfStream();
      } catch (RuntimeException e) {
        ShimLog.warn("pump fd " + fd + " end failed: " + e);
      }
      Posix.close(fd);
      done.countDown();
    }
  }

  /** Waits up to the deadline for end of file; returns whether it came. */
  boolean awaitEnd(long deadlineNanos) throws InterruptedException {
    return done.await(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
  }
}
