package dev.berth.runtime.files;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.Set;

/** The one recursive delete. */
public final class FileTrees {
  private FileTrees() {}

  /**
   * Deletes {@code root} and everything under it; a missing root is fine. Never follows symlinks (a
   * link is removed, not what it points to), never descends into a mount point (a rootfs still
   * mounted must not be emptied through the mount; the mount point and its parents stay, and the
   * delete fails with DirectoryNotEmptyException on them), and tolerates entries that vanish while
   * it walks (a concurrent delete).
   */
  public static void deleteRecursively(Path root) throws IOException {
    delete(root, true);
  }

  private static void delete(Path root, boolean retry) throws IOException {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    @SuppressWarnings("unchecked")
    Set<String>[] mounts = new Set[1];
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs)
              throws IOException {
            if (mounts[0] == null) {
              mounts[0] = mountPoints();
            }
            return mounts[0].contains(dir.toAbsolutePath().normalize().toString())
                ? FileVisitResult.SKIP_SUBTREE
                : FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            Files.deleteIfExists(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
            if (exc instanceof NoSuchFileException) {
              return FileVisitResult.CONTINUE;
            }
            throw exc;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
            if (exc != null && !(exc instanceof NoSuchFileException)) {
              throw exc;
            }
            try {
              Files.deleteIfExists(dir);
            } catch (DirectoryNotEmptyException race) {
              // something was created in it meanwhile (or a mount point below it stays)
              if (!retry) {
                throw race;
              }
              delete(dir, false);
            }
            return FileVisitResult.CONTINUE;
          }
        });
  }

  /** The mount points of this process's mount namespace (field 5 of /proc/self/mountinfo). */
  public static Set<String> mountPoints() throws IOException {
    Set<String> points = new HashSet<>();
    for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
      String[] f = line.split(" ");
      if (f.length > 4) {
        points.add(f[4]);
      }
    }
    return points;
  }
}
