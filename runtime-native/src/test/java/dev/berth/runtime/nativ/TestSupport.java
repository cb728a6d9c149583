package dev.berth.runtime.nativ;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** One Reaper for the whole test JVM: a second wait4(-1) loop would steal exits. */
final class TestSupport {
  static final Reaper REAPER;

  static {
    Posix.setChildSubreaper();
    REAPER = new Reaper().start();
  }

  private TestSupport() {}

  static String readAll(int fd) throws IOException {
    try (InputStream in = new FdInputStream(fd)) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      in.transferTo(out);
      return out.toString(StandardCharsets.UTF_8);
    }
  }
}
