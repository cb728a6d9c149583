package dev.berth.images.rootfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RootfsTest {
  @TempDir Path tmp;

  @Test
  void lowerdir_is_top_first_and_dirs_are_created() {
    Path l1 = tmp.resolve("layers/a");
    Path l2 = tmp.resolve("layers/b");
    Path l3 = tmp.resolve("layers/c");
    MountSpec m =
        Rootfs.overlay(List.of(l1, l2, l3), tmp.resolve("c/upper"), tmp.resolve("c/work"));
    assertEquals("overlay", m.type());
    assertEquals("overlay", m.source());
    assertEquals(
        List.of(
            "lowerdir=" + l3 + ":" + l2 + ":" + l1,
            "upperdir=" + tmp.resolve("c/upper"),
            "workdir=" + tmp.resolve("c/work")),
        m.options());
    assertTrue(Files.isDirectory(tmp.resolve("c/upper")));
    assertTrue(Files.isDirectory(tmp.resolve("c/work")));
  }

  @Test
  void refuses_what_overlay_cannot_express() {
    assertThrows(
        IllegalArgumentException.class,
        () -> Rootfs.overlay(List.of(), tmp.resolve("u"), tmp.resolve("w")));
    assertThrows(
        IllegalArgumentException.class,
        () -> Rootfs.overlay(List.of(tmp.resolve("a:b")), tmp.resolve("u"), tmp.resolve("w")));
    assertThrows(
        IllegalArgumentException.class,
        () -> Rootfs.overlay(List.of(tmp.resolve("a,b")), tmp.resolve("u"), tmp.resolve("w")));
  }
}
