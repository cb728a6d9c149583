package dev.berth.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A container's log comes back byte for byte, also when the output is not UTF-8 (it used to come
 * back with U+FFFD in place of such bytes, though the API's field is bytes), and the log file stays
 * docker's json-file.
 */
class LogBytesIT {
  static BerthHarness berth;

  @BeforeAll
  static void startDaemon() {
    berth = BerthHarness.start("LogBytesIT");
  }

  @AfterAll
  static void stopDaemon() {
    if (berth != null) berth.close();
  }

  /** `berth logs ID` with its stdout as raw bytes (the harness reads output as text). */
  private static byte[] rawLogs(String id) throws Exception {
    Path out = Files.createTempFile("berth-it-logs-", ".bin");
    try {
      Process p =
          new ProcessBuilder(
                  BerthHarness.BERTH.toString(), "--socket", berth.socket.toString(), "logs", id)
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
              .redirectOutput(out.toFile())
              .redirectError(ProcessBuilder.Redirect.DISCARD)
              .start();
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "berth logs did not end");
      assertEquals(0, p.exitValue());
      return Files.readAllBytes(out);
    } finally {
      Files.deleteIfExists(out);
    }
  }

  @Test
  void logs_give_back_bytes_that_are_not_utf8_exactly() throws Exception {
    String id = berth.runDetached("busybox", "sh", "-c", "printf '\\377\\376\\0\\1AB'; echo ok");
    assertEquals("0", berth.ok("wait", id));
    assertArrayEquals(
        new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, 'A', 'B', 'o', 'k', '\n'}, rawLogs(id));
    // the file stays docker's json-file: every line has log, stream and time
    List<String> lines = Files.readAllLines(berth.containerDir(id).resolve("container.log"));
    assertTrue(!lines.isEmpty());
    for (String line : lines) {
      var entry = BerthHarness.parse(line);
      assertTrue(entry.has("log") && entry.has("stream") && entry.has("time"), line);
    }
  }
}
