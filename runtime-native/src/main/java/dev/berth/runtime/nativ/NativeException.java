package dev.berth.runtime.nativ;

/** A failed libc call: {@code getMessage()} is one line, "call(args): strerror (errno N)". */
public final class NativeException extends RuntimeException {
  private final int errno;

  public NativeException(String call, int errno, String description) {
    super(call + ": " + description + " (errno " + errno + ")");
    this.errno = errno;
  }

  public int errno() {
    return errno;
  }
}
