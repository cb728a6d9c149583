package dev.berth.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.ExitInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host side of ContainerRuntime that needs no shim: host commands and exit files. */
class ContainerRuntimeHostTest {
  @TempDir Path tmp;

  /** A hung host command (runc delete, umount) used to hold its caller until it ended by itself. */
  @Test
  void a_hung_host_command_is_killed_and_reported_at_its_timeout() {
    long before = System.nanoTime();
    IOException e =
        assertTimeoutPreemptively(
            Duration.ofSeconds(15),
            () ->
                assertThrows(
                    IOException.class,
                    () -> ContainerRuntime.exec(List.of("sleep", "60"), Duration.ofMillis(300))));
    assertTrue(e.getMessage().contains("did not finish within 300 ms"), e.getMessage());
    assertTrue(Duration.ofNanos(System.nanoTime() - before).toSeconds() < 10);
  }

  /** A child that keeps the output pipe open (sh runs sleep as a child) must not hold it either. */
  @Test
  void a_hung_command_whose_child_holds_its_output_is_killed_with_the_child() throws Exception {
    Path pidFile = tmp.resolve("child.pid");
    assertTimeoutPreemptively(
        Duration.ofSeconds(15),
        () ->
            assertThrows(
                IOException.class,
                () ->
                    ContainerRuntime.exec(
                        List.of("sh", "-c", "sleep 60 & echo $! > " + pidFile + "; wait"),
                        Duration.ofMillis(500))));
    long child = Long.parseLong(Files.readString(pidFile).strip());
    assertTimeoutPreemptively(
        Duration.ofSeconds(5),
        () -> {
          while (ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false))
            Thread.onSpinWait();
        });
    assertFalse(ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false));
  }

  @Test
  void a_command_that_finishes_is_not_an_error() throws Exception {
    ContainerRuntime.exec(List.of("true"), Duration.ofSeconds(10));
    ContainerRuntime.exec(List.of("sh", "-c", "echo failing; exit 3"), Duration.ofSeconds(10));
  }

  /** A missing exit time used to become "now" silently: now it is when the shim wrote the file. */
  @Test
  void an_exit_file_without_a_time_gives_the_time_it_was_written() throws Exception {
    Path f = tmp.resolve("exit.json");
    Files.writeString(f, "{\"exitCode\":3,\"pid\":77}");
    Instant written = Instant.parse("2025-03-04T05:06:07Z");
    Files.setLastModifiedTime(f, FileTime.from(written));
    ExitInfo exit = ContainerRuntime.readExitFile("c1", f).orElseThrow();
    assertEquals(3, exit.exitCode());
    assertEquals(written, exit.finishedAt());
  }

  @Test
  void an_exit_file_with_a_time_gives_that_time() throws Exception {
    Path f = tmp.resolve("exit.json");
    Files.writeString(f, "{\"exitCode\":0,\"exitedAt\":\"2026-01-02T03:04:05.123456789Z\"}");
    assertEquals(
        Instant.parse("2026-01-02T03:04:05.123456789Z"),
        ContainerRuntime.readExitFile("c1", f).orElseThrow().finishedAt());
  }

  @Test
  void an_unreadable_exit_time_gives_the_best_known_time() {
    Instant best = Instant.parse("2024-01-01T00:00:00Z");
    assertEquals(best, ExitTimes.parse("yesterday", "test", best, "a test time"));
    assertEquals(best, ExitTimes.parse("", "test", best, "a test time"));
    assertEquals(
        Instant.parse("2026-01-01T00:00:00Z"),
        ExitTimes.parse("2026-01-01T00:00:00Z", "test", best, "a test time"));
  }
}
