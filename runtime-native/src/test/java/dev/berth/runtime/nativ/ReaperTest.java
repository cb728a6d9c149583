package dev.berth.runtime.nativ;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ReaperTest {
  private final Reaper reaper = TestSupport.REAPER;

  @Test
  void subreaper_reaps_orphaned_grandchild() throws Exception {
    assertTrue(Posix.isChildSubreaper());
    long before = System.nanoTime();
    try (Posix.Pipe out = Posix.pipe()) {
      Reaper.Child sh =
          reaper.spawn(
              SpawnSpec.of("sh", "-c", "sleep 0.2 & echo $!").stdout(Redirect.fd(out.writeFd())));
      out.closeWrite();
      // sh exits at once; its background sleep is orphaned and re-parented to us.
      assertEquals(0, sh.exit().get(5, TimeUnit.SECONDS).exitCode());
      int grandchild = Integer.parseInt(readLine(out.detachRead()));
      WaitStatus orphan = reaper.watch(grandchild, before).get(5, TimeUnit.SECONDS);
      assertEquals(grandchild, orphan.pid());
      assertEquals(0, orphan.exitCode());
    }
  }

  @Test
  void exit_code_and_signal_are_decoded() throws Exception {
    WaitStatus exited =
        reaper.spawn(SpawnSpec.of("sh", "-c", "exit 7")).exit().get(5, TimeUnit.SECONDS);
    assertFalse(exited.signaled());
    assertEquals(7, exited.exitCode());

    WaitStatus killed =
        reaper.spawn(SpawnSpec.of("sh", "-c", "kill -KILL $$")).exit().get(5, TimeUnit.SECONDS);
    assertTrue(killed.signaled());
    assertEquals(9, killed.signal());
    assertEquals(137, killed.exitCode());

    Reaper.Child sleeper = reaper.spawn(SpawnSpec.of("sleep", "100"));
    assertTrue(Posix.kill(sleeper.pid(), 15));
    assertEquals(143, sleeper.exit().get(5, TimeUnit.SECONDS).exitCode());
  }

  @Test
  void raw_status_decoding() {
    assertEquals(3, WaitStatus.decode(1, 0x0300).exitCode());
    assertEquals(0, WaitStatus.decode(1, 0).exitCode());
    WaitStatus term = WaitStatus.decode(1, 0x0f);
    assertEquals(15, term.signal());
    assertEquals(143, term.exitCode());
    WaitStatus core = WaitStatus.decode(1, 0x86); // SIGABRT with core dump
    assertTrue(core.coreDumped());
    assertEquals(134, core.exitCode());
  }

  @Test
  void watch_after_exit_completes_from_remembered_exit() throws Exception {
    long before = System.nanoTime();
    try (Posix.Pipe out = Posix.pipe()) {
      reaper
          .spawn(
              SpawnSpec.of("sh", "-c", "sleep 0.05 & echo $!").stdout(Redirect.fd(out.writeFd())))
          .exit()
          .get(5, TimeUnit.SECONDS);
      out.closeWrite();
      int orphan = Integer.parseInt(readLine(out.detachRead()));
      Thread.sleep(400); // the orphan has long been reaped, with no one registered for it
      assertEquals(0, reaper.watch(orphan, before).get(1, TimeUnit.SECONDS).exitCode());
    }
  }

  @Test
  void remembered_exit_older_than_the_caller_is_ignored() throws Exception {
    try (Posix.Pipe out = Posix.pipe()) {
      reaper
          .spawn(
              SpawnSpec.of("sh", "-c", "sleep 0.05 & echo $!").stdout(Redirect.fd(out.writeFd())))
          .exit()
          .get(5, TimeUnit.SECONDS);
      out.closeWrite();
      int orphan = Integer.parseInt(readLine(out.detachRead()));
      Thread.sleep(400);
      // A watcher that only cares about processes created from now on must not get it.
      assertFalse(reaper.watch(orphan, System.nanoTime()).isDone());
    }
  }

  private static String readLine(int fd) throws Exception {
    return TestSupport.readAll(fd).trim();
  }
}
