package dev.berth.runtime.nativ;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.byref.LongLongByReference;

/**
 * The libc calls of the shim's container output path: FIFOs, {@code splice(2)} from a pipe into a
 * spool file at an explicit offset, {@code poll(2)}, hole punching and positional reads and writes.
 * Errors are {@link NativeException}s with one line, as in {@link Posix}.
 */
public final class SpoolIo {
  public static final int O_NONBLOCK = 04000;
  public static final int EAGAIN = 11;
  public static final int EEXIST = 17;
  public static final int ENOSPC = 28;

  public static final short POLLIN = 0x1;
  public static final short POLLERR = 0x8;
  public static final short POLLHUP = 0x10;
  public static final short POLLNVAL = 0x20;

  private static final int SPLICE_F_NONBLOCK = 2;
  private static final int FALLOC_FL_KEEP_SIZE = 1;
  private static final int FALLOC_FL_PUNCH_HOLE = 2;

  private SpoolIo() {}

  /** mkfifo(3) with {@code mode} (the umask applies). */
  public static void mkfifo(String path, int mode) {
    if (Posix.LIBC.mkfifo(path, mode) != 0) {
      throw Posix.failure("mkfifo(" + path + ")", Posix.errno());
    }
  }

  /**
   * Moves up to {@code len} bytes from the pipe {@code pipeFd} into {@code fileFd} at {@code
   * offset} without waiting (SPLICE_F_NONBLOCK; the pipe should be O_NONBLOCK too). One syscall:
   * the bytes are either still in the pipe or in the file, never in neither. Returns the count
   * moved, 0 at end of file (no writer left and nothing buffered), -1 when the pipe is empty
   * (EAGAIN). The file must not be O_APPEND (splice refuses it with EINVAL).
   */
  public static long splice(int pipeFd, int fileFd, long offset, long len) {
    LongLongByReference off = new LongLongByReference(offset);
    while (true) {
      long n = Posix.LIBC.splice(pipeFd, null, fileFd, off, len, SPLICE_F_NONBLOCK);
      if (n >= 0) {
        return n;
      }
      int errno = Posix.errno();
      if (errno == EAGAIN) {
        return -1;
      }
      if (errno != Posix.EINTR) {
        throw Posix.failure("splice(" + pipeFd + " -> " + fileFd + " at " + offset + ")", errno);
      }
    }
  }

  /**
   * Deallocates {@code [offset, offset+len)} of a file (it reads back as zeros) and keeps its size:
   * fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE).
   */
  public static void punchHole(int fd, long offset, long len) {
    if (Posix.LIBC.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len) != 0) {
      throw Posix.failure("fallocate(" + fd + ", punch " + offset + "+" + len + ")", Posix.errno());
    }
  }

  /** Writes all of {@code buf} at {@code offset} (pwrite(2), looping over short writes). */
  public static void pwriteFully(int fd, byte[] buf, long offset) {
    int done = 0;
    while (done < buf.length) {
      byte[] rest = done == 0 ? buf : java.util.Arrays.copyOfRange(buf, done, buf.length);
      long n = Posix.LIBC.pwrite(fd, rest, rest.length, offset + done);
      if (n < 0) {
        int errno = Posix.errno();
        if (errno == Posix.EINTR) {
          continue;
        }
        throw Posix.failure("pwrite(" + fd + " at " + (offset + done) + ")", errno);
      }
      done += (int) n;
    }
  }

  /** pread(2) of up to {@code len} bytes at {@code offset}; returns the count, 0 at the end. */
  public static int pread(int fd, byte[] buf, int len, long offset) {
    while (true) {
      long n = Posix.LIBC.pread(fd, buf, len, offset);
      if (n >= 0) {
        return (int) n;
      }
      int errno = Posix.errno();
      if (errno != Posix.EINTR) {
        throw Posix.failure("pread(" + fd + " at " + offset + ")", errno);
      }
    }
  }

  /**
   * A close-on-exec pipe whose both ends are O_NONBLOCK: a poll loop's wake-up (a write never
   * blocks the waker, {@link #drain} never blocks the loop).
   */
  public static Posix.Pipe nonBlockingPipe() {
    int[] fds = new int[2];
    if (Posix.LIBC.pipe2(fds, Posix.O_CLOEXEC | O_NONBLOCK) != 0) {
      throw Posix.failure("pipe2(O_NONBLOCK)", Posix.errno());
    }
    return new Posix.Pipe(fds[0], fds[1]);
  }

  /** Writes one byte to a non-blocking fd; a full pipe (EAGAIN) already means "woken". */
  public static void poke(int fd) {
    Posix.LIBC.write(fd, ONE, 1);
  }

  private static final byte[] ONE = {1};

  /** Reads a non-blocking fd until it is empty; returns whether anything was read. */
  public static boolean drain(int fd) {
    byte[] buf = new byte[64];
    boolean any = false;
    while (Posix.LIBC.read(fd, buf, buf.length) > 0) {
      any = true;
    }
    return any;
  }

  /**
   * A reusable array of {@code struct pollfd} in native memory for {@link #poll}: fill slots 0..n-1
   * with {@link #set}, poll, read {@link #revents}.
   */
  public static final class PollSet {
    private static final int SIZE = 8; // int fd; short events; short revents

    private Pointer memory;
    private int capacity;

    public PollSet(int capacity) {
      this.capacity = Math.max(1, capacity);
      this.memory = Memory.allocateDirect(Posix.RUNTIME, SIZE * this.capacity);
    }

    public void set(int slot, int fd, short events) {
      if (slot >= capacity) {
        Pointer bigger = Memory.allocateDirect(Posix.RUNTIME, SIZE * slot * 2);
        for (int i = 0; i < capacity * SIZE; i += 8) {
          bigger.putLong(i, memory.getLong(i));
        }
        memory = bigger;
        capacity = slot * 2;
      }
      memory.putInt(slot * SIZE, fd);
      memory.putShort(slot * SIZE + 4, events);
      memory.putShort(slot * SIZE + 6, (short) 0);
    }

    public short revents(int slot) {
      return memory.getShort(slot * SIZE + 6);
    }

    /**
     * poll(2) over slots 0..n-1; returns how many have events, 0 on timeout (and on EINTR: the
     * caller loops anyway). {@code timeoutMillis} -1 waits without a limit.
     */
    public int poll(int n, int timeoutMillis) {
      int rc = Posix.LIBC.poll(memory, n, timeoutMillis);
      if (rc >= 0) {
        return rc;
      }
      int errno = Posix.errno();
      if (errno == Posix.EINTR) {
        return 0;
      }
      throw Posix.failure("poll(" + n + " fds)", errno);
    }
  }
}
