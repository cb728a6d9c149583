package dev.berth.runtime.nativ;

/** Where one of a spawned process's standard fds (0, 1, 2) comes from. */
public sealed interface Redirect {
  /** Keep the parent's fd as is. */
  Redirect INHERIT = new Inherit();

  /** /dev/null, opened read-write so it serves as stdin and as a sink. */
  Redirect DEV_NULL = new DevNull();

  /** dup2 this fd of ours into place (e.g. a pipe's write end); it stays open in the parent. */
  static Redirect fd(int fd) {
    return new ToFd(fd);
  }

  /** open(path, O_WRONLY|O_CREAT|O_APPEND, 0644) in the child. */
  static Redirect appendTo(String path) {
    return new ToFile(path, true);
  }

  /** open(path, O_WRONLY|O_CREAT|O_TRUNC, 0644) in the child. */
  static Redirect truncate(String path) {
    return new ToFile(path, false);
  }

  record Inherit() implements Redirect {}

  record DevNull() implements Redirect {}

  record ToFd(int fd) implements Redirect {}

  record ToFile(String path, boolean append) implements Redirect {}
}
