package dev.berth.network;

import dev.berth.core.BerthException;
import dev.berth.runtime.files.FileTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Pinned network namespaces: a new namespace bind-mounted on a file ({@code unshare --net=FILE},
 * util-linux's own way, as {@code ip netns add} does), so it outlives every process in it: it
 * exists before the container's process (runc joins it by path), survives the daemon, and is still
 * there for CNI DEL after the process is gone. Removing one is unmounting and deleting the file.
 */
public final class NetnsFiles {
  static final Duration TIMEOUT = Duration.ofSeconds(10);

  private NetnsFiles() {}

  public static boolean pinned(Path file) {
    try {
      return FileTrees.mountPoints().contains(file.toAbsolutePath().normalize().toString());
    } catch (IOException e) {
      return false;
    }
  }

  /** Creates the namespace file; one already pinned is kept. */
  public static void create(Path file) {
    if (pinned(file)) return;
    try {
      Files.createDirectories(file.getParent());
      if (!Files.exists(file)) Files.createFile(file);
      run(List.of("unshare", "--net=" + file, "true"));
    } catch (IOException | RuntimeException e) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException ignored) {
        // nothing was mounted on it: a leftover empty file is harmless and removed next time
      }
      throw BerthException.internal(
          "cannot create the network namespace "
              + file
              + ": "
              + BerthException.from(e).getMessage());
    }
  }

  /** Unmounts and deletes the namespace file; idempotent. */
  public static void remove(Path file) {
    try {
      if (pinned(file)) run(List.of("umount", file.toString()));
      Files.deleteIfExists(file);
    } catch (IOException e) {
      throw BerthException.internal(
          "cannot remove the network namespace " + file + ": " + e.getMessage());
    }
  }

  private static void run(List<String> cmd) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    var out = CniPlugins.drain(p.getInputStream(), "netns-output");
    try {
      if (!p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IOException(
            String.join(" ", cmd) + " timed out after " + TIMEOUT.toSeconds() + "s");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    }
    if (p.exitValue() != 0) {
      String text;
      try {
        text = new String(out.get(1, TimeUnit.SECONDS), StandardCharsets.UTF_8);
      } catch (Exception e) {
        text = "";
      }
      throw new IOException(
          String.join(" ", cmd)
              + " exited "
              + p.exitValue()
              + ": "
              + BerthException.oneLine(text.isBlank() ? "-" : text));
    }
  }
}
