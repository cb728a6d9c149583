package dev.berth.runtime.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileHelpersTest {
  @TempDir Path dir;

  @Test
  void atomic_write_replaces_the_file_and_leaves_no_temp_file() throws Exception {
    Path f = dir.resolve("config.json");
    AtomicFiles.write(f, "one");
    AtomicFiles.write(f, "two");
    assertEquals("two", Files.readString(f));
    AtomicFiles.write(dir.resolve("auth.json"), new byte[] {1}, "rw-------");
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("auth.json"))));
    try (var files = Files.list(dir)) {
      assertEquals(2, files.count(), "no temp file left");
    }
  }

  @Test
  void delete_recursively_removes_the_tree_but_not_what_aLink_points_to() throws Exception {
    Path outside = Files.createDirectories(dir.resolve("outside"));
    Files.writeString(outside.resolve("keep"), "x");
    Path tree = Files.createDirectories(dir.resolve("tree/a/b"));
    Files.writeString(tree.resolve("f"), "x");
    Files.createSymbolicLink(dir.resolve("tree/link"), outside);
    FileTrees.deleteRecursively(dir.resolve("tree"));
    assertFalse(Files.exists(dir.resolve("tree")));
    assertTrue(Files.exists(outside.resolve("keep")));
    FileTrees.deleteRecursively(dir.resolve("tree")); // missing is fine
  }
}
