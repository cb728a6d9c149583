package dev.berth.runtime.files;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The one rule for a file that must never be seen half written, nor lost or empty after a crash
 * (config.json, spec.json, exit.json, address, shim.pid, auth.json, ...): write a temp file in the
 * same directory, fsync it, rename it over the target, fsync the directory (so the rename itself
 * survives a power loss). A reader sees the old content or the new one, never a mix.
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  public static void write(Path target, String content) throws IOException {
    write(target, content.getBytes(StandardCharsets.UTF_8));
  }

  public static void write(Path target, byte[] content) throws IOException {
    write(target, content, null);
  }

  /**
   * As {@link #write(Path, byte[])}; the temp file is created with {@code permissions} (e.g.
   * "rw-------"), so the content never sits in a more open file, not even briefly.
   */
  public static void write(Path target, byte[] content, String permissions) throws IOException {
    Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    FileAttribute<?>[] attrs = new FileAttribute<?>[0];
    if (permissions != null) {
      Set<PosixFilePermission> perms = PosixFilePermissions.fromString(permissions);
      attrs = new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(perms)};
    }
    try (FileChannel ch =
        FileChannel.open(
            tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attrs)) {
      ByteBuffer buf = ByteBuffer.wrap(content);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    syncDirectory(target.toAbsolutePath().getParent());
  }

  /** fsync(2) of a directory: makes the entries created, renamed or removed in it durable. */
  public static void syncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }
}
