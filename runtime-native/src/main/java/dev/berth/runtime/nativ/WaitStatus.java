package dev.berth.runtime.nativ;

/**
 * A decoded wait(2) status of one reaped process.
 *
 * <p>{@link #exitCode()} follows the shell/docker convention: the exit code when the process
 * exited, 128 + signal when a signal killed it (SIGKILL gives 137).
 */
public record WaitStatus(int pid, boolean signaled, int code, boolean coreDumped) {

  /** Decodes a raw status as the glibc WIFEXITED/WEXITSTATUS/WIFSIGNALED/WTERMSIG macros do. */
  public static WaitStatus decode(int pid, int raw) {
    int low7 = raw & 0x7f;
    if (low7 == 0) {
      return new WaitStatus(pid, false, (raw >> 8) & 0xff, false);
    }
    // wait4 is never called with WUNTRACED/WCONTINUED, so 0x7f (stopped) does not occur.
    return new WaitStatus(pid, true, low7, (raw & 0x80) != 0);
  }

  /** Exit code, or 128 + signal number when the process was killed by a signal. */
  public int exitCode() {
    return signaled ? 128 + code : code;
  }

  /** The terminating signal, or 0 when the process exited normally. */
  public int signal() {
    return signaled ? code : 0;
  }

  @Override
  public String toString() {
    return signaled ? "pid " + pid + " killed by signal " + code : "pid " + pid + " exited " + code;
  }
}
