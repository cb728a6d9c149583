package dev.berth.runtime.nativ;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.byref.IntByReference;

/**
 * Starts processes with posix_spawnp(3) instead of java.lang.Process.
 *
 * <p>Why not ProcessBuilder: the JDK's "process reaper" thread waitpid()s its children and would
 * race our own wait4(-1) {@link Reaper}; and the JDK closes its pipe ends when the direct child
 * exits, while the output of a container outlives {@code runc create}.
 *
 * <p>The child gets: the requested fds 0-2, no other fd of ours (closefrom(3) via
 * posix_spawn_file_actions_addclosefrom_np, or FD_CLOEXEC on every fd when glibc is older than
 * 2.34; the JVM opens jars and sockets without O_CLOEXEC), an empty signal mask (JVM threads block
 * SIGQUIT) and default dispositions for every signal.
 *
 * <p>Use {@link Reaper#spawn} rather than this class directly when a Reaper runs in the process, so
 * that the child is registered before it can be reaped.
 */
public final class Spawner {
  // glibc's posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336 and sigset_t 128;
  // the buffers are larger so a different libc layout cannot overrun them.
  private static final int FILE_ACTIONS_SIZE = 256;
  private static final int ATTR_SIZE = 1024;
  private static final int SIGSET_SIZE = 256;
  private static final short POSIX_SPAWN_SETPGROUP = 0x02;
  private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
  private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
  private static final short POSIX_SPAWN_SETSID = 0x80;

  private static volatile boolean hasCloseFrom = true;

  private Spawner() {}

  /** Spawns the process and returns its pid; a missing binary fails here (ENOENT). */
  public static int spawn(SpawnSpec spec) {
    LibC libc = Posix.LIBC;
    Pointer actions = Memory.allocateDirect(Posix.RUNTIME, FILE_ACTIONS_SIZE);
    Pointer attr = Memory.allocateDirect(Posix.RUNTIME, ATTR_SIZE);
    Pointer emptyMask = Memory.allocateDirect(Posix.RUNTIME, SIGSET_SIZE);
    Pointer allSignals = Memory.allocateDirect(Posix.RUNTIME, SIGSET_SIZE);
    checkRc("posix_spawn_file_actions_init", libc.posix_spawn_file_actions_init(actions));
    try {
      checkRc("posix_spawnattr_init", libc.posix_spawnattr_init(attr));
      try {
        addRedirect(actions, 0, spec.stdin);
        addRedirect(actions, 1, spec.stdout);
        addRedirect(actions, 2, spec.stderr);
        closeOthers(actions);

        libc.sigemptyset(emptyMask);
        libc.sigfillset(allSignals);
        short flags =
            (short)
                (POSIX_SPAWN_SETSIGMASK
                    | POSIX_SPAWN_SETSIGDEF
                    | (spec.newSession ? POSIX_SPAWN_SETSID : 0)
                    | (spec.newProcessGroup ? POSIX_SPAWN_SETPGROUP : 0));
        checkRc("posix_spawnattr_setflags", libc.posix_spawnattr_setflags(attr, flags));
        checkRc("posix_spawnattr_setsigmask", libc.posix_spawnattr_setsigmask(attr, emptyMask));
        checkRc(
            "posix_spawnattr_setsigdefault", libc.posix_spawnattr_setsigdefault(attr, allSignals));

        IntByReference pid = new IntByReference();
        String[] argv = spec.argv.toArray(new String[0]);
        String[] envp = spec.envOrInherited().toArray(new String[0]);
        int rc = libc.posix_spawnp(pid, argv[0], actions, attr, argv, envp);
        checkRc("posix_spawnp(" + argv[0] + ")", rc);
        return pid.getValue();
      } finally {
        libc.posix_spawnattr_destroy(attr);
      }
    } finally {
      libc.posix_spawn_file_actions_destroy(actions);
    }
  }

  private static void addRedirect(Pointer actions, int target, Redirect redirect) {
    LibC libc = Posix.LIBC;
    if (redirect instanceof Redirect.DevNull) {
      checkRc(
          "posix_spawn_file_actions_addopen(/dev/null)",
          libc.posix_spawn_file_actions_addopen(actions, target, "/dev/null", Posix.O_RDWR, 0));
    } else if (redirect instanceof Redirect.ToFd f) {
      checkRc(
          "posix_spawn_file_actions_adddup2",
          libc.posix_spawn_file_actions_adddup2(actions, f.fd(), target));
    } else if (redirect instanceof Redirect.ToFile f) {
      int flags = Posix.O_WRONLY | Posix.O_CREAT | (f.append() ? Posix.O_APPEND : Posix.O_TRUNC);
      checkRc(
          "posix_spawn_file_actions_addopen(" + f.path() + ")",
          libc.posix_spawn_file_actions_addopen(actions, target, f.path(), flags, 0644));
    }
    // Redirect.Inherit: nothing to do, fds 0-2 survive exec.
  }

  private static void closeOthers(Pointer actions) {
    if (hasCloseFrom) {
      try {
        checkRc(
            "posix_spawn_file_actions_addclosefrom_np",
            Posix.LIBC.posix_spawn_file_actions_addclosefrom_np(actions, 3));
        return;
      } catch (UnsatisfiedLinkError old) {
        hasCloseFrom = false;
      }
    }
    // glibc < 2.34: mark every open fd >= 3 close-on-exec. The sources of ToFd redirects are
    // covered too, which is fine: the dup2'd copies at 0-2 do not inherit FD_CLOEXEC.
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
      for (Path p : fds) {
        int fd = Integer.parseInt(p.getFileName().toString());
        if (fd >= 3) {
          try {
            Posix.setCloseOnExec(fd, true);
          } catch (NativeException closedMeanwhile) {
            // the directory stream's own fd, or one closed by another thread
          }
        }
      }
    } catch (IOException e) {
      throw new NativeException("opendir(/proc/self/fd)", 0, e.getMessage());
    }
  }

  private static void checkRc(String call, int rc) {
    if (rc != 0) {
      throw Posix.failure(call, rc);
    }
  }
}
