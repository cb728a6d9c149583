package dev.berth.runtime.nativ;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The container output path's libc: FIFOs, splice at an offset, poll, punched holes. */
class SpoolIoTest {
  private final Reaper reaper = TestSupport.REAPER;
  @TempDir Path dir;

  private int openFifoPair(Path fifo, int[] containerSide) {
    SpoolIo.mkfifo(fifo.toString(), 0600);
    int read =
        Posix.open(fifo.toString(), Posix.O_RDONLY | SpoolIo.O_NONBLOCK | Posix.O_CLOEXEC, 0);
    containerSide[0] = Posix.open(fifo.toString(), Posix.O_RDWR | Posix.O_CLOEXEC, 0);
    return read;
  }

  @Test
  void a_fifo_opened_read_write_by_the_child_keeps_it_writing_with_no_reader() throws Exception {
    Path fifo = dir.resolve("stdout.fifo");
    int[] side = new int[1];
    int read = openFifoPair(fifo, side);
    assertEquals("p", type((Integer) Files.getAttribute(fifo, "unix:mode")));
    assertEquals(0600, (Integer) Files.getAttribute(fifo, "unix:mode") & 0777);
    Reaper.Child child =
        reaper.spawn(
            SpawnSpec.of(
                    "sh",
                    "-c",
                    "sleep 0.3; i=0; while [ $i -lt 200 ]; do echo $i; i=$((i+1)); done; exit 7")
                .stdout(Redirect.fd(side[0])));
    Posix.close(side[0]);
    Posix.close(read); // no reader but the child's own read-write end
    // With a plain pipe the first echo after the reader closed gets SIGPIPE (exit 141).
    assertEquals(7, child.exit().get(10, TimeUnit.SECONDS).exitCode());
  }

  @Test
  void splice_moves_fifo_bytes_into_a_file_at_an_explicit_offset_then_reports_the_end()
      throws Exception {
    Path fifo = dir.resolve("stdout.fifo");
    int[] side = new int[1];
    int read = openFifoPair(fifo, side);
    int spool =
        Posix.open(
            dir.resolve("stdout.spool").toString(),
            Posix.O_RDWR | Posix.O_CREAT | Posix.O_CLOEXEC,
            0600);
    try {
      assertEquals(-1, SpoolIo.splice(read, spool, 100, 65536), "empty: EAGAIN, not the end");
      SpoolIo.PollSet polls = new SpoolIo.PollSet(1);
      polls.set(0, read, SpoolIo.POLLIN);
      assertEquals(0, polls.poll(1, 50), "nothing to read yet");
      Reaper.Child child =
          reaper.spawn(
              SpawnSpec.of("sh", "-c", "printf hello; sleep 0.2").stdout(Redirect.fd(side[0])));
      Posix.close(side[0]);
      assertEquals(1, polls.poll(1, 5000));
      assertTrue((polls.revents(0) & SpoolIo.POLLIN) != 0);
      assertEquals(5, SpoolIo.splice(read, spool, 100, 65536));
      byte[] back = new byte[105];
      assertEquals(105, SpoolIo.pread(spool, back, back.length, 0));
      assertArrayEquals(new byte[100], Arrays.copyOf(back, 100));
      assertEquals("hello", new String(back, 100, 5, StandardCharsets.US_ASCII));
      assertEquals(105, Files.size(dir.resolve("stdout.spool")));

      assertEquals(0, child.exit().get(10, TimeUnit.SECONDS).exitCode());
      // The child's read-write end was the last writer: the FIFO now reports its end.
      polls.set(0, read, SpoolIo.POLLIN);
      assertEquals(1, polls.poll(1, 5000));
      assertTrue((polls.revents(0) & SpoolIo.POLLHUP) != 0, "revents " + polls.revents(0));
      assertEquals(0, SpoolIo.splice(read, spool, 105, 65536));
    } finally {
      Posix.close(read);
      Posix.close(spool);
    }
  }

  @Test
  void splice_refuses_an_append_only_target() throws Exception {
    Path fifo = dir.resolve("f.fifo");
    int[] side = new int[1];
    int read = openFifoPair(fifo, side);
    int append =
        Posix.open(
            dir.resolve("append").toString(),
            Posix.O_WRONLY | Posix.O_CREAT | Posix.O_APPEND | Posix.O_CLOEXEC,
            0600);
    try {
      Posix.writeFully(side[0], "x".getBytes(StandardCharsets.US_ASCII));
      NativeException e =
          assertThrows(NativeException.class, () -> SpoolIo.splice(read, append, 0, 10));
      assertEquals(Posix.EINVAL, e.errno(), e.getMessage());
    } finally {
      Posix.close(side[0]);
      Posix.close(read);
      Posix.close(append);
    }
  }

  @Test
  void a_punched_hole_reads_as_zeros_and_keeps_the_size() throws Exception {
    Path file = dir.resolve("spool");
    byte[] data = new byte[3 << 20];
    Arrays.fill(data, (byte) 'a');
    Files.write(file, data);
    int fd = Posix.open(file.toString(), Posix.O_RDWR | Posix.O_CLOEXEC, 0);
    try {
      long blocksBefore = blocks(file);
      SpoolIo.punchHole(fd, 0, 2 << 20);
      assertEquals(3 << 20, Files.size(file));
      assertTrue(blocks(file) < blocksBefore, blocks(file) + " blocks, before " + blocksBefore);
      byte[] head = new byte[4096];
      SpoolIo.pread(fd, head, head.length, 0);
      assertArrayEquals(new byte[4096], head);
      byte[] tail = new byte[4096];
      SpoolIo.pread(fd, tail, tail.length, 2 << 20);
      byte[] as = new byte[4096];
      Arrays.fill(as, (byte) 'a');
      assertArrayEquals(as, tail);
      SpoolIo.pwriteFully(fd, "xyz".getBytes(StandardCharsets.US_ASCII), 10);
      SpoolIo.pread(fd, head, 3, 10);
      assertEquals("xyz", new String(head, 0, 3, StandardCharsets.US_ASCII));
    } finally {
      Posix.close(fd);
    }
  }

  @Test
  void a_wake_pipe_never_blocks_its_writer_and_drains_without_blocking() {
    try (Posix.Pipe wake = SpoolIo.nonBlockingPipe()) {
      for (int i = 0; i < 100_000; i++) {
        SpoolIo.poke(wake.writeFd()); // far more than a pipe holds
      }
      assertTrue(SpoolIo.drain(wake.readFd()));
      assertTrue(!SpoolIo.drain(wake.readFd()));
    }
  }

  private static long blocks(Path file) throws Exception {
    Process p = new ProcessBuilder("stat", "-c", "%b", file.toString()).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
    p.waitFor(5, TimeUnit.SECONDS);
    return Long.parseLong(out);
  }

  private static String type(int mode) {
    return (mode & 0170000) == 0010000 ? "p" : Integer.toOctalString(mode);
  }
}
