package dev.berth.shim;

import dev.berth.runtime.nativ.Posix;
import dev.berth.runtime.nativ.SpoolIo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * One container's output path, in its task dir: {@code stdout.fifo}/{@code stderr.fifo} (the
 * container holds them read-write, the shim reads them), {@code stdout.spool}/{@code stderr.spool}
 * (the {@link OutputPoller} splices FIFO bytes there at explicit offsets), {@code log.offsets} (how
 * far each spool is converted into the log, written by the {@link LogConverter} after each line)
 * and the {@link LogWriter}. Registered with one shim's {@link OutputPoller}; the FIFO and spool
 * fds are closed only once both threads have let go of them ({@link OutputPoller#unregister}).
 */
final class ContainerOutput {
  static final String OFFSETS = "log.offsets";
  static final String[] NAMES = {"stdout", "stderr"};

  /** log.offsets is rewritten in place, padded to one size: no stale digits survive a pwrite. */
  private static final int OFFSETS_SIZE = 42;

  final String id;
  final Path taskDir;
  final LogWriter log;
  final Stream[] streams;
  private final int offsetsFd;
  private final CompletableFuture<Void> ended = new CompletableFuture<>();

  /** One stream's fds and offsets: who writes a field is named beside it. */
  static final class Stream {
    final String name;
    final int fifoFd;
    final int spoolFd;
    final LogWriter.StreamSink sink;

    /** Poller: the spool's write offset (everything before it was spliced in). */
    volatile long spliced;

    /** Poller: the FIFO reached its end (no writer left, nothing buffered). */
    volatile boolean eof;

    /** Poller: left out of poll(2) because its backlog is over the limit. */
    volatile boolean paused;

    /** Converter: the end offset of the bytes carried by the lines written (the last "o"). */
    volatile long converted;

    /** Converter only: how far the spool has been read, and punched. */
    long read;

    long punched;
    boolean done;

    /** Poller only: a full --state, retry splicing after this time (System.nanoTime). */
    long retryAt;

    boolean warned;

    Stream(String name, int fifoFd, int spoolFd, LogWriter.StreamSink sink, long offset, long end) {
      this.name = name;
      this.fifoFd = fifoFd;
      this.spoolFd = spoolFd;
      this.sink = sink;
      this.converted = offset;
      this.read = offset;
      this.punched = offset & ~4095L;
      this.spliced = end;
    }

    long backlog() {
      return spliced - converted;
    }
  }

  private ContainerOutput(
      String id, Path taskDir, LogWriter log, int[] fifos, int[] spools, long[] at, int offsetsFd)
      throws IOException {
    this.id = id;
    this.taskDir = taskDir;
    this.log = log;
    this.offsetsFd = offsetsFd;
    this.streams = new Stream[2];
    for (int i = 0; i < 2; i++) {
      long end = Files.size(taskDir.resolve(NAMES[i] + ".spool"));
      streams[i] = new Stream(NAMES[i], fifos[i], spools[i], log.stream(NAMES[i]), at[i], end);
    }
  }

  /**
   * A new container's output: makes the FIFOs (0600) and empty spools, opens the FIFOs' read ends
   * (O_RDONLY|O_NONBLOCK: before any writer, so their end is reported only after one came and went)
   * and the log. The container side is {@link #openContainerSide()}.
   */
  static ContainerOutput create(String id, Path taskDir, Path logPath, LogConverter.Faults faults)
      throws IOException {
    int[] fifos = {-1, -1};
    int[] spools = {-1, -1};
    int offsets = -1;
    LogWriter log = null;
    try {
      for (int i = 0; i < 2; i++) {
        Path fifo = taskDir.resolve(NAMES[i] + ".fifo");
        Files.deleteIfExists(fifo);
        SpoolIo.mkfifo(fifo.toString(), 0600);
        fifos[i] = openReadEnd(fifo);
        spools[i] =
            Posix.open(
                taskDir.resolve(NAMES[i] + ".spool").toString(),
                Posix.O_RDWR | Posix.O_CREAT | Posix.O_TRUNC | Posix.O_CLOEXEC,
                0600);
      }
      offsets = openOffsets(taskDir);
      log = new LogWriter(logPath, faults);
      ContainerOutput out =
          new ContainerOutput(id, taskDir, log, fifos, spools, new long[] {0, 0}, offsets);
      out.writeOffsets();
      return out;
    } catch (IOException | RuntimeException e) {
      closeAll(fifos, spools, offsets, log);
      throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
    }
  }

  /**
   * The entry point of a shim that takes over a running container's output (re-adoption): opens the
   * FIFOs' read ends by path, finds where conversion stopped ({@link LogRecovery#resume}:
   * log.offsets, or the log's last line when it is further on; a torn last line is trimmed) and
   * continues from there: bytes already in the spool are converted first, then the FIFOs'. Register
   * the result with an {@link OutputPoller}.
   */
  static ContainerOutput recover(String id, Path taskDir, Path logPath, LogConverter.Faults faults)
      throws IOException {
    long[] at = LogRecovery.resume(taskDir, logPath);
    int[] fifos = {-1, -1};
    int[] spools = {-1, -1};
    int offsets = -1;
    LogWriter log = null;
    try {
      for (int i = 0; i < 2; i++) {
        fifos[i] = openReadEnd(taskDir.resolve(NAMES[i] + ".fifo"));
        spools[i] =
            Posix.open(
                taskDir.resolve(NAMES[i] + ".spool").toString(),
                Posix.O_RDWR | Posix.O_CREAT | Posix.O_CLOEXEC,
                0600);
      }
      offsets = openOffsets(taskDir);
      log = new LogWriter(logPath, faults);
      ContainerOutput out = new ContainerOutput(id, taskDir, log, fifos, spools, at, offsets);
      out.writeOffsets();
      ShimLog.info(
          "output of "
              + id
              + " resumed at stdout "
              + at[0]
              + "/"
              + out.streams[0].spliced
              + ", stderr "
              + at[1]
              + "/"
              + out.streams[1].spliced);
      return out;
    } catch (IOException | RuntimeException e) {
      closeAll(fifos, spools, offsets, log);
      throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
    }
  }

  private static int openReadEnd(Path fifo) {
    return Posix.open(fifo.toString(), Posix.O_RDONLY | SpoolIo.O_NONBLOCK | Posix.O_CLOEXEC, 0);
  }

  private static int openOffsets(Path taskDir) {
    return Posix.open(
        taskDir.resolve(OFFSETS).toString(), Posix.O_RDWR | Posix.O_CREAT | Posix.O_CLOEXEC, 0600);
  }

  /**
   * The container's stdout and stderr: the FIFOs opened read-write, so the container also holds a
   * reader of its own pipes and a write never meets SIGPIPE, whatever happens to the shim (a full
   * pipe blocks instead). The caller passes them to runc and closes them.
   */
  int[] openContainerSide() {
    int out = Posix.open(fifo(0), Posix.O_RDWR | Posix.O_CLOEXEC, 0);
    try {
      return new int[] {out, Posix.open(fifo(1), Posix.O_RDWR | Posix.O_CLOEXEC, 0)};
    } catch (RuntimeException e) {
      Posix.close(out);
      throw e;
    }
  }

  private String fifo(int i) {
    return taskDir.resolve(NAMES[i] + ".fifo").toString();
  }

  /** Converter thread: "<stdout converted> <stderr converted>", in place. */
  void writeOffsets() {
    String text = streams[0].converted + " " + streams[1].converted;
    byte[] line =
        (text + " ".repeat(OFFSETS_SIZE - 1 - text.length()) + "\n")
            .getBytes(StandardCharsets.US_ASCII);
    SpoolIo.pwriteFully(offsetsFd, line, 0);
  }

  /** Completes once both streams reached their end and every byte is in the log. */
  CompletableFuture<Void> ended() {
    return ended;
  }

  void markEnded() {
    ended.complete(null);
  }

  /** Closes every fd; only once no thread uses them (after unregistering, or never registered). */
  void closeFiles() {
    log.close();
    closeAll(
        new int[] {streams[0].fifoFd, streams[1].fifoFd},
        new int[] {streams[0].spoolFd, streams[1].spoolFd},
        offsetsFd,
        null);
  }

  private static void closeAll(int[] fifos, int[] spools, int offsets, LogWriter log) {
    for (int fd : fifos) {
      Posix.close(fd);
    }
    for (int fd : spools) {
      Posix.close(fd);
    }
    Posix.close(offsets);
    if (log != null) {
      log.close();
    }
  }
}
