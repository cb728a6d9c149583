package dev.berth.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Reads a container's json-lines log (written by its shim, docker json-file format) and, when
 * following, keeps reading until the run it follows has exited and the file is drained.
 *
 * <p>The file is opened once and kept open: a --rm container's log is unlinked right after its
 * exit, and an open descriptor still reads it to the end (as docker's json-file followers do).
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
    RandomAccessFile file = null;
    try {
      ByteArrayOutputStream partial = new ByteArrayOutputStream();
      while (!cancelled.getAsBoolean()) {
        // Sample "exited" before reading: everything the shim wrote before the exit is then read.
        boolean exited = handle.exited().toCompletableFuture().isDone();
        if (file == null && Files.exists(handle.file())) {
          file = new RandomAccessFile(handle.file().toFile(), "r");
        }
        if (file != null) drain(file, partial, sink);
        if (!follow || exited) return;
        Thread.sleep(POLL_MS);
      }
    } finally {
      if (file != null) file.close();
    }
  }

  private static void drain(RandomAccessFile file, ByteArrayOutputStream partial, Consumer<LogLine> sink) throws IOException {
    byte[] buf = new byte[64 * 1024];
    int n;
    while ((n = file.read(buf)) > 0) {
      int start = 0;
      for (int i = 0; i < n; i++) {
        if (buf[i] == '\n') {
          partial.write(buf, start, i - start);
          emit(partial.toString(StandardCharsets.UTF_8), sink);
          partial.reset();
          start = i + 1;
        }
      }
      partial.write(buf, start, n - start);
    }
  }

  private static void emit(String line, Consumer<LogLine> sink) {
    if (line.isBlank()) return;
    try {
      JsonNode n = JSON.readTree(line);
      sink.accept(new LogLine(n.path("stream").asText("stdout"), n.path("time").asText(""),
          n.path("log").asText("").getBytes(StandardCharsets.UTF_8)));
    } catch (IOException e) {
      // a torn line (the shim died mid-write) is skipped rather than ending the stream
    }
  }
}
