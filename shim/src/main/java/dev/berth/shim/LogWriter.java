package dev.berth.shim;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;

/**
 * Appends container output to the log file in docker's json-file format, one line per chunk read:
 * {"log":"...","stream":"stdout|stderr","time":"RFC3339 nanos","o":E}, plus {"log_base64":"..."}
 * with the exact bytes of a chunk that is not UTF-8 (see {@link StreamSink}). {@code o} is the end
 * offset, in that stream's spool, of the bytes the line fully carries ({@link LogRecovery} resumes
 * there); readers ignore it, as docker's ignore fields they do not know. Each line goes out in one
 * write(2) on an O_APPEND channel, so the two streams never interleave inside a line.
 */
final class LogWriter implements AutoCloseable {
  private final Path path;
  private final FileChannel channel;
  private static final long RETRY_MILLIS = 500;

  /** The extra field of a line whose chunk is not UTF-8: its exact bytes, base64. */
  static final String RAW_FIELD = "log_base64";

  private boolean closed;

  /** The converter's crash points, for tests; {@link LogConverter.Faults#NONE} in production. */
  private final LogConverter.Faults faults;

  /** Set before close() takes the monitor: a writer waiting for disk space gives up. */
  private volatile boolean closing;

  LogWriter(Path path) throws IOException {
    this(path, LogConverter.Faults.NONE);
  }

  LogWriter(Path path, LogConverter.Faults faults) throws IOException {
    this.path = path;
    this.faults = faults;
    this.channel =
        FileChannel.open(
            path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
  }

  /** A sink for one stream; it keeps the UTF-8 decoding state of that stream. */
  StreamSink stream(String name) {
    return new StreamSink(name);
  }

  /**
   * {@code raw}: the chunk's exact bytes in base64 when they are not UTF-8, else null; {@code end}:
   * the line's spool end offset. Returns false if nothing was written (closed, or closing on a full
   * disk).
   */
  private synchronized boolean append(String stream, CharSequence text, String raw, long end) {
    if (closed || (text.length() == 0 && raw == null)) {
      return false;
    }
    StringBuilder line = new StringBuilder(text.length() + 80);
    line.append("{\"log\":");
    Json.quote(line, text);
    line.append(",\"stream\":\"")
        .append(stream)
        .append("\",\"time\":\"")
        .append(Timestamps.format(Instant.now()))
        .append('"');
    if (raw != null) {
      line.append(",\"" + RAW_FIELD + "\":\"").append(raw).append('"');
    }
    line.append(",\"o\":").append(end).append("}\n");
    ByteBuffer bytes = StandardCharsets.UTF_8.encode(CharBuffer.wrap(line));
    boolean waited = false;
    while (true) {
      long before = -1;
      try {
        before = channel.size();
        if (faults != LogConverter.Faults.NONE) {
          tornAppend(bytes);
        }
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
        if (waited) {
          ShimLog.info("appending to " + path + " again");
        }
        return true;
      } catch (IOException e) {
        // A full disk: take back what part of the line made it (a torn JSON line would
        // break every reader of the log), then wait for space. The pump stops reading
        // meanwhile, so the container's output waits in its pipe instead of being lost.
        bytes.rewind();
        truncateTo(before);
        if (!waited) {
          ShimLog.warn(
              "cannot append to "
                  + path
                  + " ("
                  + e.getMessage()
                  + "); retrying every "
                  + RETRY_MILLIS
                  + " ms");
          waited = true;
        }
        if (closing) {
          ShimLog.warn(
              "dropping "
                  + bytes.remaining()
                  + " bytes of "
                  + stream
                  + " output: the log is closing");
          return false;
        }
        try {
          wait(RETRY_MILLIS); // releases the monitor, so close() can get in
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          return false;
        }
        if (closed) {
          return false;
        }
      }
    }
  }

  /** Test only: half of the line, then the TORN_APPEND crash point. */
  private void tornAppend(ByteBuffer bytes) throws IOException {
    ByteBuffer half = bytes.duplicate();
    half.limit(bytes.position() + bytes.remaining() / 2);
    while (half.hasRemaining()) {
      channel.write(half);
    }
    bytes.position(half.position());
    faults.at(LogConverter.Point.TORN_APPEND);
  }

  private void truncateTo(long size) {
    if (size < 0) {
      return;
    }
    try {
      channel.truncate(size);
    } catch (IOException e) {
      ShimLog.warn("cannot trim a partial line off " + path + ": " + e.getMessage());
    }
  }

  @Override
  public void close() {
    closing = true;
    synchronized (this) {
      notifyAll();
      closeChannel();
    }
  }

  private void closeChannel() {
    if (!closed) {
      closed = true;
      try {
        channel.close();
      } catch (IOException e) {
        ShimLog.warn("closing " + path + ": " + e.getMessage());
      }
    }
  }

  /**
   * One stream's chunks, each written as one line. A pipe read can end in the middle of a
   * multi-byte character; those trailing bytes are carried into the next chunk. A chunk that is
   * valid UTF-8 is a plain docker json-file line; one that is not also carries its exact bytes in
   * {@value #RAW_FIELD} (base64), which Berth's reader prefers, while {@code log} holds the text
   * with U+FFFD for what is not UTF-8 (what docker's readers see): the log is lossless and stays
   * docker-compatible.
   */
  final class StreamSink {
    private final String name;
    private final CharsetDecoder strict =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private byte[] carry = new byte[0];

    private StreamSink(String name) {
      this.name = name;
    }

    /**
     * Writes the chunk that ends at spool offset {@code end} as one line (less a split character's
     * first bytes, carried into the next chunk). Returns the line's {@code o} (end less the carried
     * bytes), or -1 when no line was written.
     */
    long chunk(byte[] buf, int len, long end) {
      byte[] in = new byte[carry.length + len];
      System.arraycopy(carry, 0, in, 0, carry.length);
      System.arraycopy(buf, 0, in, carry.length, len);
      int n = in.length - incompleteTail(in);
      carry = Arrays.copyOfRange(in, n, in.length);
      return emit(in, n, end - carry.length);
    }

    /** The stream ended at spool offset {@code end}: what is carried goes out as it is. */
    long endOfStream(long end) {
      byte[] rest = carry;
      carry = new byte[0];
      return emit(rest, rest.length, end);
    }

    private long emit(byte[] bytes, int n, long end) {
      if (n == 0) {
        return -1;
      }
      ByteBuffer in = ByteBuffer.wrap(bytes, 0, n);
      boolean written;
      try {
        written = append(name, strict.reset().decode(in), null, end);
      } catch (CharacterCodingException notUtf8) {
        in.rewind();
        written =
            append(
                name,
                StandardCharsets.UTF_8.decode(in), // the lossy text, for docker's readers
                Base64.getEncoder().encodeToString(Arrays.copyOf(bytes, n)),
                end);
      }
      return written ? end : -1;
    }
  }

  /**
   * How many bytes at the end of {@code b} begin a UTF-8 sequence that is not complete yet (0 when
   * it ends on a character boundary, or with bytes that can never become one).
   */
  static int incompleteTail(byte[] b) {
    for (int k = 1; k <= Math.min(3, b.length); k++) {
      int c = b[b.length - k] & 0xff;
      if ((c & 0xc0) == 0x80) {
        continue; // a continuation byte: look further back for its lead
      }
      int need = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
      return need > k ? k : 0;
    }
    return 0;
  }
}
