package dev.berth.oci;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.images.ImageException;
import dev.berth.images.rootfs.Whiteouts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UsersTest {
  @TempDir Path tmp;
  Path lower;
  Path upper;

  @BeforeEach
  void layers() throws IOException {
    lower = Files.createDirectories(tmp.resolve("lower/etc"));
    Files.writeString(
        lower.resolve("passwd"),
        """
        root:x:0:0:root:/root:/bin/sh
        # a comment
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
        """);
    Files.writeString(
        lower.resolve("group"),
        """
        root:x:0:
        bin:x:1:root,daemon
        wheel:x:10:root
        nogroup:x:65534:
        staff:x:50:app
        """);
    upper = Files.createDirectories(tmp.resolve("upper"));
    lower = lower.getParent();
  }

  private int[] resolve(String user) throws ImageException {
    return Users.resolve(List.of(lower, upper), user);
  }

  @Test
  void resolves_docker_user_forms() throws Exception {
    assertArrayEquals(new int[] {0, 0, 1, 10}, resolve(""), "root and its supplementary groups");
    assertArrayEquals(new int[] {0, 0, 1, 10}, resolve("0"));
    assertArrayEquals(new int[] {0, 0, 1, 10}, resolve("root"));
    assertArrayEquals(new int[] {1000, 1000}, resolve("1000:1000"));
    assertArrayEquals(
        new int[] {1000, 0}, resolve("1000"), "an unknown numeric uid is fine, gid 0");
    assertArrayEquals(new int[] {65534, 65534}, resolve("nobody"));
    assertArrayEquals(new int[] {65534, 65534}, resolve("nobody:nogroup"));
    assertArrayEquals(
        new int[] {1, 10}, resolve("daemon:wheel"), "an explicit group: no supplementary groups");
    assertArrayEquals(new int[] {1, 1}, resolve("daemon"));
    ImageException e = assertThrows(ImageException.class, () -> resolve("ghost"));
    assertEquals("unable to find user ghost: no matching entries in passwd file", e.getMessage());
    e = assertThrows(ImageException.class, () -> resolve("nobody:ghosts"));
    assertEquals("unable to find group ghosts: no matching entries in group file", e.getMessage());
  }

  @Test
  void the_topmost_layer_with_the_file_decides() throws Exception {
    Files.createDirectories(upper.resolve("etc"));
    Files.writeString(
        upper.resolve("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\napp:x:1000:50::/home/app:/bin/sh\n");
    assertArrayEquals(
        new int[] {1000, 50}, resolve("app"), "group file still from the lower layer");
    assertThrows(ImageException.class, () -> resolve("nobody"));
  }

  @Test
  void whiteouts_hide_lower_files() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "mknod needs root");
    Files.createDirectories(upper.resolve("etc"));
    Whiteouts.makeWhiteout(upper.resolve("etc/passwd"));
    ImageException e = assertThrows(ImageException.class, () -> resolve("nobody"));
    assertEquals("unable to find user nobody: no matching entries in passwd file", e.getMessage());
    assertArrayEquals(new int[] {0, 0}, resolve(""));
  }

  @Test
  void no_passwd_file_at_all() throws Exception {
    assertArrayEquals(new int[] {0, 0}, Users.resolve(List.of(upper), ""));
    assertArrayEquals(new int[] {5, 6}, Users.resolve(List.of(upper), "5:6"));
    assertThrows(ImageException.class, () -> Users.resolve(List.of(upper), "nobody"));
  }
}
