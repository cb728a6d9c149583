package dev.berth.shim;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * Appends container output to the log file in docker's json-file format, one line per chunk read:
 * {"log":"...","stream":"stdout|stderr","time":"RFC3339 nanos"}. Each line goes out in one write(2)
 * on an O_APPEND channel, so the two streams never interleave inside a line.
 */
final class LogWriter implements AutoCloseable {
  private final Path path;
  private final FileChannel channel;
  private static final long RETRY_MILLIS = 500;
  private boolean closed;

  /** Set before close() takes the monitor: a writer waiting for disk space gives up. */
  private volatile boolean closing;

  LogWriter(Path path) throws IOException {
    this.path = path;
    this.channel =
        FileChannel.open(
            path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
  }

  /** A sink for one stream; it keeps the UTF-8 decoding state of that stream. */
  StreamSink stream(String name) {
    return new StreamSink(name);
  }

  private synchronized void append(String stream, CharSequence text) {
    if (closed || text.length() == 0) {
      return;
    }
    StringBuilder line = new StringBuilder(text.length() + 80);
    line.append("{\"log\":");
    Json.quote(line, text);
    line.append(",\"stream\":\"")
        .append(stream)
        .append("\",\"time\":\"")
        .append(Timestamps.format(Instant.now()))
        .append("\"}\n");
    ByteBuffer bytes = StandardCharsets.UTF_8.encode(CharBuffer.wrap(line));
    boolean waited = false;
    while (true) {
      long before = -1;
      try {
        before = channel.size();
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
        if (waited) {
          ShimLog.info("appending to " + path + " again");
        }
        return;
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
          return;
        }
        try {
          wait(RETRY_MILLIS); // releases the monitor, so close() can get in
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          return;
        }
        if (closed) {
          return;
        }
      }
    }
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
   * Decodes one stream's chunks as UTF-8. A pipe read can end in the middle of a multi-byte
   * character; those trailing bytes are carried into the next chunk instead of becoming U+FFFD.
   */
  final class StreamSink implements StreamPump.Sink {
    private final String name;
    private final CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private ByteBuffer carry = ByteBuffer.allocate(0);

    private StreamSink(String name) {
      this.name = name;
    }

    @Override
    public void chunk(byte[] buf, int len) {
      ByteBuffer in = ByteBuffer.allocate(carry.remaining() + len);
      in.put(carry).put(buf, 0, len).flip();
      CharBuffer out = CharBuffer.allocate(in.remaining() + 1);
      decoder.decode(in, out, false); // stops before an incomplete trailing sequence
      carry = in.slice();
      append(name, out.flip());
    }

    @Override
    public void endOfStream() {
      CharBuffer out = CharBuffer.allocate(carry.remaining() + 1);
      decoder.decode(carry, out, true);
      decoder.flush(out);
      carry = ByteBuffer.allocate(0);
      append(name, out.flip());
    }
  }
}
