package dev.berth.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Reads a container's json-lines log (written by its shim, docker json-file format, plus the exact
 * bytes of output that is not UTF-8 in {@value #RAW_FIELD}) and, when following, keeps reading
 * until the run it follows has exited and the file is drained.
 *
 * <p>The file is opened once and kept open: a --rm container's log is unlinked right after its
 * exit, and an open descriptor still reads it to the end (as docker's json-file followers do).
 *
 * <p>One instance is one reader of one {@link #source}: it reads a chunk only when the Source is
 * pulled, so a consumer that stops pulling stops the reading, and memory stays at one chunk.
 */
public final class LogFollower {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long POLL_MS = 50;
  private static final int CHUNK_BYTES = 64 * 1024;

  /** The shim's field with the exact bytes of a chunk that is not UTF-8 (base64). */
  static final String RAW_FIELD = "log_base64";

  /** One chunk of output. */
  public record LogLine(String stream, String time, byte[] data) {}

  /** What one read of the file found. */
  private enum Read {
    DATA,
    END,
    NOTHING_YET
  }

  private final LogHandle handle;
  private final boolean follow;
  private final Executor io;
  private final byte[] chunk = new byte[CHUNK_BYTES];
  private final ByteArrayOutputStream partial = new ByteArrayOutputStream();

  /** Lines parsed from the last chunk and not taken yet. */
  private final ArrayDeque<LogLine> parsed = new ArrayDeque<>();

  private RandomAccessFile file;

  /** A pass reads to the end of the file; the run's exit is sampled when it starts. */
  private boolean inPass;

  private boolean exitedBeforePass;
  private boolean closed;

  private LogFollower(LogHandle handle, boolean follow, Executor io) {
    this.handle = handle;
    this.follow = follow;
    this.io = io;
  }

  /**
   * The log's lines: what the file holds and, with {@code follow}, what the shim appends until the
   * run the handle follows has exited and the file is drained. File reads run on {@code io};
   * waiting for more output holds no thread (the file is polled every 50 ms). Cancelling the Source
   * closes the file.
   */
  public static Source<LogLine, NotUsed> source(LogHandle handle, boolean follow, Executor io) {
    return Source.unfoldResourceAsync(
        () -> CompletableFuture.completedFuture(new LogFollower(handle, follow, io)),
        LogFollower::next,
        LogFollower::close);
  }

  /**
   * The next line; unfoldResourceAsync asks for one at a time, and closes only between reads or
   * during one.
   */
  private synchronized CompletionStage<Optional<LogLine>> next() {
    LogLine line = parsed.poll();
    if (line != null) return CompletableFuture.completedFuture(Optional.of(line));
    CompletableFuture<Optional<LogLine>> result = new CompletableFuture<>();
    readOn(io, result);
    return result;
  }

  private void readOn(Executor executor, CompletableFuture<Optional<LogLine>> result) {
    try {
      executor.execute(() -> readUntilLine(result));
    } catch (RejectedExecutionException e) { // the daemon is stopping
      result.completeExceptionally(e);
    }
  }

  /** Reads until a line is parsed or the log ended; with nothing new yet, tries again in 50 ms. */
  private synchronized void readUntilLine(CompletableFuture<Optional<LogLine>> result) {
    try {
      while (!closed) {
        switch (readChunk()) {
          case DATA -> {
            LogLine line = parsed.poll();
            if (line != null) {
              result.complete(Optional.of(line));
              return;
            }
            // a chunk inside one long line: read on
          }
          case END -> {
            result.complete(Optional.empty());
            return;
          }
          case NOTHING_YET -> {
            readOn(CompletableFuture.delayedExecutor(POLL_MS, TimeUnit.MILLISECONDS, io), result);
            return;
          }
        }
      }
      result.complete(Optional.empty()); // closed: the Source was cancelled, nobody waits for this
    } catch (IOException | RuntimeException e) {
      result.completeExceptionally(e);
    }
  }

  private Read readChunk() throws IOException {
    if (!inPass) {
      // Sample "exited" before reading: everything the shim wrote before the exit is then read.
      exitedBeforePass = handle.exited().toCompletableFuture().isDone();
      inPass = true;
    }
    if (file == null && Files.exists(handle.file())) {
      file = new RandomAccessFile(handle.file().toFile(), "r");
    }
    int n = file == null ? -1 : file.read(chunk);
    if (n > 0) {
      split(n);
      return Read.DATA;
    }
    inPass = false;
    return !follow || exitedBeforePass ? Read.END : Read.NOTHING_YET;
  }

  private void split(int n) {
    int start = 0;
    for (int i = 0; i < n; i++) {
      if (chunk[i] == '\n') {
        partial.write(chunk, start, i - start);
        parse(partial.toString(StandardCharsets.UTF_8));
        partial.reset();
        start = i + 1;
      }
    }
    partial.write(chunk, start, n - start);
  }

  private void parse(String line) {
    if (line.isBlank()) return;
    try {
      JsonNode n = JSON.readTree(line);
      parsed.add(
          new LogLine(n.path("stream").asText("stdout"), n.path("time").asText(""), data(n)));
    } catch (IOException e) {
      // a torn line (the shim died mid-write) is skipped rather than ending the stream
    }
  }

  /**
   * A line's bytes: exactly as written, from {@value #RAW_FIELD} when the shim wrote one (output
   * that is not UTF-8), else the {@code log} text in UTF-8 (docker's json-file, and every line of
   * older logs).
   */
  static byte[] data(JsonNode line) {
    JsonNode raw = line.get(RAW_FIELD);
    if (raw != null && raw.isTextual()) {
      try {
        return Base64.getDecoder().decode(raw.asText());
      } catch (IllegalArgumentException e) {
        // not base64 (not written by a shim): the text is what there is
      }
    }
    return line.path("log").asText("").getBytes(StandardCharsets.UTF_8);
  }

  /** Closes the file on {@code io}, after a read in progress (it holds the monitor). */
  private CompletionStage<Done> close() {
    try {
      return CompletableFuture.supplyAsync(this::closeNow, io);
    } catch (RejectedExecutionException e) { // the daemon is stopping: close here
      return CompletableFuture.completedFuture(closeNow());
    }
  }

  private synchronized Done closeNow() {
    closed = true;
    if (file != null) {
      try {
        file.close();
      } catch (IOException e) {
        throw new UncheckedIOException("closing " + handle.file(), e);
      } finally {
        file = null;
      }
    }
    return Done.getInstance();
  }
}
