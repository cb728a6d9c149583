package dev.berth.runtime.nativ;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.byref.IntByReference;

/**
 * Checked wrappers around the libc calls Berth needs: every failure is a {@link NativeException}
 * with a one-line message. Linux constants are spelled out here (glibc x86-64/aarch64 values).
 */
public final class Posix {
  public static final int EPERM = 1;
  public static final int ESRCH = 3;
  public static final int EINTR = 4;
  public static final int ECHILD = 10;
  public static final int EINVAL = 22;

  public static final int O_RDONLY = 0;
  public static final int O_WRONLY = 1;
  public static final int O_RDWR = 2;
  public static final int O_CREAT = 0100;
  public static final int O_TRUNC = 01000;
  public static final int O_APPEND = 02000;
  public static final int O_CLOEXEC = 02000000;

  public static final long MS_RDONLY = 1;
  public static final long MS_NOSUID = 2;
  public static final long MS_NODEV = 4;
  public static final long MS_NOEXEC = 8;
  public static final long MS_REMOUNT = 32;
  public static final long MS_BIND = 4096;
  public static final long MS_REC = 16384;
  public static final long MS_PRIVATE = 1L << 18;
  public static final int MNT_DETACH = 2;

  private static final int PR_SET_CHILD_SUBREAPER = 36;
  private static final int PR_GET_CHILD_SUBREAPER = 37;
  private static final int F_GETFD = 1;
  private static final int F_SETFD = 2;
  private static final int FD_CLOEXEC = 1;

  static final LibC LIBC = LibraryLoader.create(LibC.class).load("c");
  static final Runtime RUNTIME = Runtime.getRuntime(LIBC);

  private Posix() {}

  static int errno() {
    return RUNTIME.getLastError();
  }

  static NativeException failure(String call, int errno) {
    return new NativeException(call, errno, LIBC.strerror(errno));
  }

  private static int check(String call, int rc) {
    if (rc < 0) {
      throw failure(call, errno());
    }
    return rc;
  }

  /** Sets the process' file mode creation mask (inherited by every child); returns the old one. */
  public static int umask(int mask) {
    return LIBC.umask(mask);
  }

  public static int getpid() {
    return LIBC.getpid();
  }

  /** The parent's pid; it changes (to a subreaper or 1) when the parent dies. */
  public static int getppid() {
    return LIBC.getppid();
  }

  /**
   * Makes this process the "child subreaper": orphaned descendants (e.g. a container's init after
   * {@code runc create} exits) are re-parented to us instead of to pid 1, so we can wait4 them.
   */
  public static void setChildSubreaper() {
    check("prctl(PR_SET_CHILD_SUBREAPER)", LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
  }

  public static boolean isChildSubreaper() {
    jnr.ffi.Pointer p = jnr.ffi.Memory.allocateDirect(RUNTIME, 4); // prctl writes an int here
    check(
        "prctl(PR_GET_CHILD_SUBREAPER)", LIBC.prctl(PR_GET_CHILD_SUBREAPER, p.address(), 0, 0, 0));
    return p.getInt(0) != 0;
  }

  /**
   * Starts a new session so the caller survives its parent's process group being signalled. Returns
   * false when we already lead a process group (EPERM), which also means a session or group of our
   * own, the state setsid would have produced for a freshly spawned process.
   */
  public static boolean setsid() {
    if (LIBC.setsid() >= 0) {
      return true;
    }
    int errno = errno();
    if (errno == EPERM) {
      return false;
    }
    throw failure("setsid()", errno);
  }

  private static final int PRIO_PROCESS = 0;

  /**
   * Sets the nice value of every thread of this process (on Linux niceness is per thread, so
   * setpriority(PRIO_PROCESS, 0) alone would change only the calling one). Threads created
   * afterwards inherit it from their creator.
   */
  public static void setNiceAllThreads(int nice) throws java.io.IOException {
    try (java.util.stream.Stream<java.nio.file.Path> tasks =
        java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/task"))) {
      for (java.nio.file.Path t : (Iterable<java.nio.file.Path>) tasks::iterator) {
        int tid = Integer.parseInt(t.getFileName().toString());
        if (LIBC.setpriority(PRIO_PROCESS, tid, nice) != 0) {
          int errno = errno();
          if (errno != ESRCH) { // a thread that ended meanwhile
            throw failure("setpriority(" + tid + ", " + nice + ")", errno);
          }
        }
      }
    }
  }

  /** kill(2); returns false when the process does not exist (ESRCH). */
  public static boolean kill(int pid, int signal) {
    if (LIBC.kill(pid, signal) == 0) {
      return true;
    }
    int errno = errno();
    if (errno == ESRCH) {
      return false;
    }
    throw failure("kill(" + pid + ", " + signal + ")", errno);
  }

  /**
   * Blocking wait4(-1, &status, 0, NULL): the next child to exit, or null when this process has no
   * child at all (ECHILD). The reaper's idle case, so it builds no exception (and takes no strerror
   * call): on a fresh shim those cold paths cost ~20 ms of CPU.
   */
  public static WaitStatus waitAnyChild() {
    IntByReference status = new IntByReference();
    while (true) {
      int rc = LIBC.wait4(-1, status, 0, null);
      if (rc > 0) {
        return WaitStatus.decode(rc, status.getValue());
      }
      int errno = errno();
      if (errno == ECHILD) {
        return null;
      }
      if (errno != EINTR) {
        throw failure("wait4(-1)", errno);
      }
    }
  }

  /**
   * Makes this process's first mount(2) call on a target that cannot exist (ENOENT, nothing is
   * mounted), so that jnr has bound the call before a container's rootfs needs it (binding costs
   * ~10 ms on first use).
   */
  public static void bindMount() {
    LIBC.mount("none", "/proc/self/fdinfo/berth-nonexistent/mnt", "tmpfs", 0, null);
  }

  public static void mount(String source, String target, String fstype, long flags, String data) {
    check(
        "mount(" + source + " on " + target + " type " + fstype + ")",
        LIBC.mount(source, target, fstype, flags, data));
  }

  /** umount2(2); returns false when the target is not a mount point (EINVAL) or is gone. */
  public static boolean umount2(String target, int flags) {
    if (LIBC.umount2(target, flags) == 0) {
      return true;
    }
    int errno = errno();
    if (errno == EINVAL || errno == 2 /* ENOENT */) {
      return false;
    }
    throw failure("umount2(" + target + ")", errno);
  }

  /** A pipe whose both ends are close-on-exec; posix_spawn's dup2 clears the flag on the copy. */
  public static Pipe pipe() {
    int[] fds = new int[2];
    check("pipe2()", LIBC.pipe2(fds, O_CLOEXEC));
    return new Pipe(fds[0], fds[1]);
  }

  /** read(2) into buf; returns the byte count, 0 at end of file. EINTR is retried. */
  public static int read(int fd, byte[] buf, int len) {
    while (true) {
      long n = LIBC.read(fd, buf, len);
      if (n >= 0) {
        return (int) n;
      }
      int errno = errno();
      if (errno != EINTR) {
        throw failure("read(" + fd + ")", errno);
      }
    }
  }

  /** Writes all of buf (looping over short writes). */
  public static void writeFully(int fd, byte[] buf) {
    int off = 0;
    while (off < buf.length) {
      byte[] rest = off == 0 ? buf : java.util.Arrays.copyOfRange(buf, off, buf.length);
      long n = LIBC.write(fd, rest, rest.length);
      if (n < 0) {
        int errno = errno();
        if (errno == EINTR) {
          continue;
        }
        throw failure("write(" + fd + ")", errno);
      }
      off += (int) n;
    }
  }

  /** close(2); errors are ignored on purpose: the fd is gone either way on Linux. */
  public static void close(int fd) {
    if (fd >= 0) {
      LIBC.close(fd);
    }
  }

  public static int open(String path, int flags, int mode) {
    return check("open(" + path + ")", LIBC.open(path, flags, mode));
  }

  public static void setCloseOnExec(int fd, boolean on) {
    int flags = check("fcntl(" + fd + ", F_GETFD)", LIBC.fcntl(fd, F_GETFD, 0));
    int wanted = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
    if (wanted != flags) {
      check("fcntl(" + fd + ", F_SETFD)", LIBC.fcntl(fd, F_SETFD, wanted));
    }
  }

  public static boolean isCloseOnExec(int fd) {
    return (check("fcntl(" + fd + ", F_GETFD)", LIBC.fcntl(fd, F_GETFD, 0)) & FD_CLOEXEC) != 0;
  }

  /**
   * Both ends of a pipe(2). Closing is idempotent per end: a second close(2) of the same number
   * could hit an unrelated fd that another thread has opened since.
   */
  public static final class Pipe implements AutoCloseable {
    private final int readFd;
    private final int writeFd;
    private boolean readClosed;
    private boolean writeClosed;

    Pipe(int readFd, int writeFd) {
      this.readFd = readFd;
      this.writeFd = writeFd;
    }

    public int readFd() {
      return readFd;
    }

    public int writeFd() {
      return writeFd;
    }

    public synchronized void closeRead() {
      if (!readClosed) {
        readClosed = true;
        Posix.close(readFd);
      }
    }

    public synchronized void closeWrite() {
      if (!writeClosed) {
        writeClosed = true;
        Posix.close(writeFd);
      }
    }

    /**
     * Gives up ownership of the read end (e.g. to a reader that closes it itself), so that {@link
     * #close()} leaves it alone.
     */
    public synchronized int detachRead() {
      readClosed = true;
      return readFd;
    }

    @Override
    public void close() {
      closeRead();
      closeWrite();
    }
  }
}
