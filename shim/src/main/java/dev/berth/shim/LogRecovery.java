package dev.berth.shim;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a container's log conversion stopped, for a shim that takes its output over. The converter
 * appends a line, then records both streams' offsets in {@code log.offsets}; a crash between the
 * two leaves the log's last line further on than the file, so that line's {@code "o"} wins for its
 * stream. A crash inside an append leaves a torn last line: it is cut off (the offsets never
 * counted it, so its bytes are converted again). Every other crash point leaves the two in step.
 */
final class LogRecovery {
  /** Longer than any line the converter writes (32 KiB, escaped at most 6-fold, plus base64). */
  private static final int TAIL = 512 * 1024;

  private static final Pattern LAST =
      Pattern.compile("\"stream\":\"(stdout|stderr)\".*,\"o\":(\\d+)\\}$");

  private LogRecovery() {}

  /** The converted offsets {stdout, stderr} to resume at; trims a torn last line off the log. */
  static long[] resume(Path taskDir, Path logPath) throws IOException {
    long[] at = readOffsets(taskDir.resolve(ContainerOutput.OFFSETS));
    if (!Files.exists(logPath)) {
      return at;
    }
    try (FileChannel log =
        FileChannel.open(logPath, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long size = log.size();
      int len = (int) Math.min(size, TAIL);
      ByteBuffer tail = ByteBuffer.allocate(len);
      while (tail.hasRemaining() && log.read(tail, size - len + tail.position()) > 0) {
        // read the whole tail
      }
      byte[] b = tail.array();
      int end = len;
      while (end > 0 && b[end - 1] != '\n') {
        end--;
      }
      if (end < len) {
        ShimLog.warn(
            "cutting a torn last line ("
                + (len - end)
                + " bytes) off "
                + logPath
                + " before resuming");
        log.truncate(size - len + end);
      }
      if (end == 0) {
        return at;
      }
      int start = end - 1;
      while (start > 0 && b[start - 1] != '\n') {
        start--;
      }
      String last = new String(b, start, end - 1 - start, StandardCharsets.UTF_8);
      Matcher m = LAST.matcher(last);
      if (m.find()) {
        int stream = m.group(1).equals("stdout") ? 0 : 1;
        long o = Long.parseLong(m.group(2));
        if (o > at[stream]) {
          at[stream] = o;
        }
      }
    }
    return at;
  }

  private static long[] readOffsets(Path file) throws IOException {
    if (!Files.exists(file)) {
      return new long[] {0, 0};
    }
    String[] parts = Files.readString(file, StandardCharsets.US_ASCII).trim().split(" +");
    if (parts.length != 2) {
      throw new IOException(file + " is not \"<stdout> <stderr>\": " + String.join(" ", parts));
    }
    try {
      return new long[] {Long.parseLong(parts[0]), Long.parseLong(parts[1])};
    } catch (NumberFormatException e) {
      throw new IOException(file + " holds no offsets: " + e.getMessage());
    }
  }
}
