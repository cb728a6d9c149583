package dev.berth.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Reads a container's json-lines log (written by its shim, docker json-file format) and, when
 * following, keeps reading until the run it follows has exited and the file is drained.
 */
public final class LogFollower {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long POLL_MS = 50;

  /** One chunk of output. */
  public record LogLine(String stream, String time, byte[] data) {}

  private LogFollower() {}

  /** Blocks until done (or {@code cancelled}); call it on a thread that may block. */
  public static void stream(LogHandle handle, boolean follow, Consumer<LogLine> sink, BooleanSupplier cancelled)
      throws IOException, InterruptedException {
    long offset = 0;
    StringBuilder partial = new StringBuilder();
    while (!cancelled.getAsBoolean()) {
      boolean exited = handle.exited().toCompletableFuture().isDone();
      offset = drain(handle, offset, partial, sink);
      if (!follow || exited) {
        if (exited && follow) drain(handle, offset, partial, sink); // the last lines written before the exit
        return;
      }
      Thread.sleep(POLL_MS);
    }
  }

  private static long drain(LogHandle handle, long offset, StringBuilder partial, Consumer<LogLine> sink) throws IOException {
    if (!Files.exists(handle.file())) return offset;
    try (RandomAccessFile f = new RandomAccessFile(handle.file().toFile(), "r")) {
      long len = f.length();
      if (len < offset) offset = 0; // truncated or recreated
      if (len == offset) return offset;
      f.seek(offset);
      byte[] buf = new byte[(int) Math.min(len - offset, 1 << 20)];
      f.readFully(buf);
      offset += buf.length;
      partial.append(new String(buf, StandardCharsets.UTF_8));
      int nl;
      while ((nl = partial.indexOf("\n")) >= 0) {
        String line = partial.substring(0, nl);
        partial.delete(0, nl + 1);
        if (line.isBlank()) continue;
        try {
          JsonNode n = JSON.readTree(line);
          sink.accept(new LogLine(n.path("stream").asText("stdout"), n.path("time").asText(""),
              n.path("log").asText("").getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) {
          // a torn line (the shim died mid-write) is skipped rather than ending the stream
        }
      }
      return offset;
    }
  }
}
