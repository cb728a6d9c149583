package dev.berth.runtime.nativ;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpawnerTest {
  private final Reaper reaper = TestSupport.REAPER;

  @Test
  void captures_stdout_and_stderr_through_pipes() throws Exception {
    try (Posix.Pipe out = Posix.pipe();
        Posix.Pipe err = Posix.pipe()) {
      Reaper.Child child =
          reaper.spawn(
              SpawnSpec.of("sh", "-c", "echo hello; echo oops >&2; exit 2")
                  .stdout(Redirect.fd(out.writeFd()))
                  .stderr(Redirect.fd(err.writeFd())));
      // Our copies of the write ends must go, or the reads below never see end of file.
      out.closeWrite();
      err.closeWrite();
      assertEquals("hello\n", TestSupport.readAll(out.detachRead()));
      assertEquals("oops\n", TestSupport.readAll(err.detachRead()));
      assertEquals(2, child.exit().get(5, TimeUnit.SECONDS).exitCode());
    }
  }

  @Test
  void output_outlives_the_direct_child() throws Exception {
    // Like runc create: the direct child exits at once, a grandchild keeps writing to the pipe.
    try (Posix.Pipe out = Posix.pipe()) {
      Reaper.Child child =
          reaper.spawn(
              SpawnSpec.of("sh", "-c", "(sleep 0.3; echo late) &")
                  .stdout(Redirect.fd(out.writeFd())));
      out.closeWrite();
      assertEquals(0, child.exit().get(5, TimeUnit.SECONDS).exitCode());
      assertEquals("late\n", TestSupport.readAll(out.detachRead()));
    }
  }

  @Test
  void a_new_process_group_is_killed_with_everything_it_started() throws Exception {
    // Like a hung runc: a child that started another process holding the output pipe.
    try (Posix.Pipe out = Posix.pipe()) {
      Reaper.Child child =
          reaper.spawn(
              SpawnSpec.of("sh", "-c", "sleep 300 & wait")
                  .newProcessGroup(true)
                  .stdout(Redirect.fd(out.writeFd())));
      out.closeWrite();
      String stat = Files.readString(Path.of("/proc/" + child.pid() + "/stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      assertEquals(Integer.toString(child.pid()), fields[2], "leads its own process group");
      assertTrue(Posix.kill(-child.pid(), 9));
      assertEquals(137, child.exit().get(5, TimeUnit.SECONDS).exitCode());
      // the pipe ends: the grandchild that held it died with the group
      assertEquals("", TestSupport.readAll(out.detachRead()));
    }
  }

  @Test
  void redirects_to_files_and_environment(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("out.log");
    Files.writeString(log, "first\n");
    Reaper.Child child =
        reaper.spawn(
            SpawnSpec.of("sh", "-c", "echo $GREETING")
                .env(List.of("PATH=/usr/bin:/bin", "GREETING=hi there"))
                .stdout(Redirect.appendTo(log.toString())));
    assertEquals(0, child.exit().get(5, TimeUnit.SECONDS).exitCode());
    assertEquals("first\nhi there\n", Files.readString(log));
  }

  @Test
  void child_gets_no_extra_fds_and_an_empty_signal_mask() throws Exception {
    try (Posix.Pipe leak = Posix.pipe()) {
      Posix.setCloseOnExec(leak.readFd(), false); // as the JDK leaves its own fds
      assertFalse(Posix.isCloseOnExec(leak.readFd()));
      // Each program reports on itself (/proc/self): a shell in between would show its own
      // transient masks (dash blocks every signal around vfork), not what posix_spawn set.
      List<String> fds = List.of(runAndRead("ls", "/proc/self/fd").trim().split("\\s+"));
      assertFalse(fds.contains(Integer.toString(leak.readFd())), "leaked fd: " + fds);
      assertTrue(fds.size() <= 4, "fds: " + fds); // 0, 1, 2 and ls's own directory fd
      String[] lines = runAndRead("grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status").split("\n");
      assertEquals("SigBlk:\t0000000000000000", lines[0]);
      // glibc itself ignores its two internal real-time signals (32, 33); 1-31 must be default.
      long ignored = Long.parseLong(lines[1].substring("SigIgn:\t".length()), 16);
      assertEquals(0, ignored & 0x7fffffffL, lines[1]);
    }
  }

  private String runAndRead(String... argv) throws Exception {
    try (Posix.Pipe out = Posix.pipe()) {
      Reaper.Child child = reaper.spawn(SpawnSpec.of(argv).stdout(Redirect.fd(out.writeFd())));
      out.closeWrite();
      String text = TestSupport.readAll(out.detachRead());
      assertEquals(0, child.exit().get(5, TimeUnit.SECONDS).exitCode(), text);
      return text;
    }
  }

  @Test
  void missing_binary_fails_with_one_line_error() {
    NativeException e =
        assertThrows(
            NativeException.class, () -> reaper.spawn(SpawnSpec.of("/nonexistent/berth-binary")));
    assertEquals(2, e.errno());
    assertFalse(e.getMessage().contains("\n"));
  }

  @Test
  void bind_mount_and_detach(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
    Path src = Files.createDirectory(dir.resolve("src"));
    Path dst = Files.createDirectory(dir.resolve("dst"));
    Files.writeString(src.resolve("marker"), "x");
    Posix.mount(src.toString(), dst.toString(), null, Posix.MS_BIND, null);
    try {
      assertTrue(Files.exists(dst.resolve("marker")));
      assertTrue(Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + dst + " "));
    } finally {
      assertTrue(Posix.umount2(dst.toString(), Posix.MNT_DETACH));
    }
    assertFalse(Files.exists(dst.resolve("marker")));
    assertFalse(Posix.umount2(dst.toString(), Posix.MNT_DETACH), "second unmount is a no-op");
    NativeException e =
        assertThrows(
            NativeException.class, () -> Posix.mount("none", dst.toString(), "nosuchfs", 0, null));
    assertFalse(e.getMessage().contains("\n"));
  }

  @Test
  void setsid_reports_group_leadership() {
    // The surefire fork is not a group leader unless started so; either answer is legal, the
    // call must simply not throw.
    Posix.setsid();
    assertEquals(ProcessHandle.current().pid(), Posix.getpid());
  }
}
