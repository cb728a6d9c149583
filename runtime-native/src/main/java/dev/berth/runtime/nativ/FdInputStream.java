package dev.berth.runtime.nativ;

import java.io.InputStream;

/**
 * An InputStream over a raw fd (e.g. a pipe's read end) that owns and closes it. Blocking reads go
 * straight to read(2): no JDK FileDescriptor plumbing, so no cleaner can close it behind our back.
 */
public final class FdInputStream extends InputStream {
  private final int fd;
  private boolean closed;

  public FdInputStream(int fd) {
    this.fd = fd;
  }

  @Override
  public int read() {
    byte[] one = new byte[1];
    return read(one, 0, 1) <= 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) {
    if (len == 0) {
      return 0;
    }
    if (off == 0) {
      int n = Posix.read(fd, b, len);
      return n == 0 ? -1 : n;
    }
    byte[] tmp = new byte[len];
    int n = Posix.read(fd, tmp, len);
    if (n <= 0) {
      return -1;
    }
    System.arraycopy(tmp, 0, b, off, n);
    return n;
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      Posix.close(fd);
    }
  }
}
