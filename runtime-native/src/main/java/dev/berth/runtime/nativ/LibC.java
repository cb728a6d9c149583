package dev.berth.runtime.nativ;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.Variadic;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.byref.LongLongByReference;

/**
 * The raw glibc symbols Berth needs, bound with jnr-ffi (errno is saved after every call).
 *
 * <p>jnr-posix covers kill/setsid/waitpid/posix_spawnp but has no {@code prctl}, no {@code wait4}
 * and its posix_spawnp cannot set the signal mask or default dispositions (it throws "not yet
 * supported"); a JVM thread blocks SIGQUIT, and a spawned runc would hand that mask down. So the
 * whole surface is one small jnr-ffi interface instead of two libraries with two errno paths.
 * Public only because jnr-ffi defines the implementation in its own class loader; use {@link
 * Posix}, which checks errors. Linux x86-64/aarch64 glibc is assumed.
 */
public interface LibC {
  @Variadic(fixedCount = 1)
  int prctl(int option, long arg2, long arg3, long arg4, long arg5);

  int setsid();

  int umask(int mask);

  int getpid();

  int getppid();

  int kill(int pid, int signal);

  int setpriority(int which, int who, int prio);

  int wait4(int pid, @Out IntByReference status, int options, Pointer rusage);

  int mount(String source, String target, String fstype, long flags, String data);

  int umount2(String target, int flags);

  int pipe2(@Out int[] fds, int flags);

  long read(int fd, @Out byte[] buf, long count);

  long write(int fd, @In byte[] buf, long count);

  int close(int fd);

  @Variadic(fixedCount = 2)
  int fcntl(int fd, int cmd, int arg);

  @Variadic(fixedCount = 2)
  int open(String path, int flags, int mode);

  String strerror(int errnum);

  // posix_spawn(3): returns an error number instead of setting errno.
  int posix_spawnp(
      @Out IntByReference pid,
      String file,
      Pointer fileActions,
      Pointer attr,
      @In String[] argv,
      @In String[] envp);

  int posix_spawn_file_actions_init(Pointer fileActions);

  int posix_spawn_file_actions_destroy(Pointer fileActions);

  int posix_spawn_file_actions_adddup2(Pointer fileActions, int fd, int newFd);

  int posix_spawn_file_actions_addopen(
      Pointer fileActions, int fd, String path, int flags, int mode);

  int posix_spawn_file_actions_addclose(Pointer fileActions, int fd);

  /** glibc 2.34+: closes every fd >= from in the child, which is what the JDK's childproc does. */
  int posix_spawn_file_actions_addclosefrom_np(Pointer fileActions, int from);

  int posix_spawnattr_init(Pointer attr);

  int posix_spawnattr_destroy(Pointer attr);

  int posix_spawnattr_setflags(Pointer attr, short flags);

  int posix_spawnattr_setsigmask(Pointer attr, Pointer sigset);

  int posix_spawnattr_setsigdefault(Pointer attr, Pointer sigset);

  int sigemptyset(Pointer set);

  int sigfillset(Pointer set);

  // ---- container output: FIFOs, the splice spool, poll (begin) ------------------------------

  int mkfifo(String path, int mode);

  /** splice(2); offIn null (a pipe), offOut the spool's explicit write offset (advanced). */
  long splice(int fdIn, Pointer offIn, int fdOut, LongLongByReference offOut, long len, int flags);

  /** poll(2) over an array of struct pollfd {int fd; short events; short revents;}. */
  int poll(Pointer fds, long nfds, int timeout);

  int fallocate(int fd, int mode, long offset, long len);

  long pwrite(int fd, @In byte[] buf, long count, long offset);

  long pread(int fd, @Out byte[] buf, long count, long offset);

  // ---- container output (end) ---------------------------------------------------------------
}
