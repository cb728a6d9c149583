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

  /**
   * Which part of the log to read: with {@code follow}, on until the run ends; only the last {@code
   * tail} lines of what the file holds when it is opened (-1: all); only lines timed at or after
   * {@code since} and up to {@code until} (null: unbounded; a followed read ends at {@code until}).
   */
  public record Window(boolean follow, int tail, java.time.Instant since, java.time.Instant until) {
    public static Window all(boolean follow) {
      return new Window(follow, -1, null, null);
    }
  }

  /** What one read of the file found. */
  private enum Read {
    DATA,
    END,
    NOTHING_YET
  }

  private final LogHandle handle;
  private final Window window;
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

  /** Output lines of the first entry read that are before the tail's start. */
  private int skipLines;

  /** A line past {@link Window#until} was read: the stream ends after what was parsed before. */
  private boolean pastUntil;

  private LogFollower(LogHandle handle, Window window, Executor io) {
    this.handle = handle;
    this.window = window;
    this.io = io;
  }

  /**
   * The log's lines: what the file holds and, with {@code follow}, what the shim appends until the
   * run the handle follows has exited and the file is drained. File reads run on {@code io};
   * waiting for more output holds no thread (the file is polled every 50 ms). Cancelling the Source
   * closes the file.
   */
  public static Source<LogLine, NotUsed> source(LogHandle handle, boolean follow, Executor io) {
    return source(handle, Window.all(follow), io);
  }

  /**
   * The part of the log that {@code window} selects (see {@link #source(LogHandle, boolean,
   * Executor)}).
   */
  public static Source<LogLine, NotUsed> source(LogHandle handle, Window window, Executor io) {
    return Source.unfoldResourceAsync(
        () -> CompletableFuture.completedFuture(new LogFollower(handle, window, io)),
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
    if (pastUntil) return CompletableFuture.completedFuture(Optional.empty());
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
            if (pastUntil) {
              result.complete(Optional.empty());
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
      if (window.tail() >= 0) {
        TailStart t = tailStart(file, window.tail());
        file.seek(t.position());
        skipLines = t.skipLines();
      }
    }
    int n = file == null ? -1 : file.read(chunk);
    if (n > 0) {
      split(n);
      return Read.DATA;
    }
    inPass = false;
    boolean untilPassed = window.until() != null && java.time.Instant.now().isAfter(window.until());
    return !window.follow() || exitedBeforePass || untilPassed ? Read.END : Read.NOTHING_YET;
  }

  /** Where a tail starts: an entry of the file, and how many output lines of it to skip. */
  record TailStart(long position, int skipLines) {}

  /** An entry (one JSON line of the file) is never longer than this; a longer one is skipped. */
  private static final int MAX_ENTRY_BYTES = 1 << 20;

  /**
   * Where the last {@code lines} output lines start. An entry carries what one read of the
   * container's pipe got, which can be several lines: entries are walked backwards from the end of
   * the file (one seek per entry, a long log is never read whole) and their lines counted, as
   * docker counts lines; the excess lines are in the first entry taken.
   */
  static TailStart tailStart(RandomAccessFile f, int lines) throws IOException {
    long length = f.length();
    if (lines == 0) return new TailStart(length, 0);
    int counted = 0;
    long entryEnd = length;
    byte[] buf = new byte[CHUNK_BYTES];
    long scanEnd = length - 1; // the newline ending the last entry does not start one
    while (entryEnd > 0) {
      long newline = -1;
      while (scanEnd > 0 && newline < 0) {
        int n = (int) Math.min(buf.length, scanEnd);
        long start = scanEnd - n;
        f.seek(start);
        f.readFully(buf, 0, n);
        for (int i = n - 1; i >= 0; i--) {
          if (buf[i] == '\n') {
            newline = start + i;
            break;
          }
        }
        scanEnd = newline >= 0 ? newline : start;
      }
      long entryStart = newline + 1;
      int l = outputLines(f, entryStart, entryEnd);
      if (counted + l >= lines) return new TailStart(entryStart, counted + l - lines);
      counted += l;
      entryEnd = entryStart;
      if (newline < 0) break;
    }
    return new TailStart(0, 0);
  }

  /** Output lines in the entry at [start, end): its newlines, and an unfinished last line. */
  private static int outputLines(RandomAccessFile f, long start, long end) throws IOException {
    if (end - start > MAX_ENTRY_BYTES || end <= start) return 0;
    byte[] entry = new byte[(int) (end - start)];
    f.seek(start);
    f.readFully(entry);
    String text = new String(entry, StandardCharsets.UTF_8).strip();
    if (text.isEmpty()) return 0;
    byte[] data;
    try {
      data = data(JSON.readTree(text));
    } catch (IOException | RuntimeException torn) {
      return 0;
    }
    int n = 0;
    for (byte b : data) if (b == '\n') n++;
    return data.length > 0 && data[data.length - 1] != '\n' ? n + 1 : n;
  }

  /** Drops the first {@code skip} lines of {@code data}. */
  private static byte[] dropLines(byte[] data, int skip) {
    int at = 0;
    for (int i = 0; i < data.length && skip > 0; i++) {
      if (data[i] == '\n') {
        skip--;
        at = i + 1;
      }
    }
    return skip > 0 ? new byte[0] : java.util.Arrays.copyOfRange(data, at, data.length);
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
      String time = n.path("time").asText("");
      if (window.since() != null || window.until() != null) {
        java.time.Instant at = instant(time);
        if (at != null && window.since() != null && at.isBefore(window.since())) return;
        if (at != null && window.until() != null && at.isAfter(window.until())) {
          pastUntil = true;
          return;
        }
      }
      if (pastUntil) return;
      byte[] data = data(n);
      if (skipLines > 0) {
        data = dropLines(data, skipLines);
        skipLines = 0;
        if (data.length == 0) return;
      }
      parsed.add(new LogLine(n.path("stream").asText("stdout"), time, data));
    } catch (IOException e) {
      // a torn line (the shim died mid-write) is skipped rather than ending the stream
    }
  }

  /** A line's time, or null when it has none that parses (such a line is never filtered out). */
  private static java.time.Instant instant(String rfc3339) {
    try {
      return rfc3339.isEmpty() ? null : java.time.Instant.parse(rfc3339);
    } catch (java.time.format.DateTimeParseException e) {
      return null;
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
