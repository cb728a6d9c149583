package dev.berth.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.it.BerthHarness.Result;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A local user must get nothing from the daemon's trees: not a setuid binary a container made, not
 * a device node from a layer, not a secret in a config, log or journal. Checked as the user
 * `nobody` walking every path under --root and --state, with the trees' parents opened up (as
 * /var/lib and /run are), and for a daemon started under umask 000 over an old, open tree.
 */
@Timeout(300)
class SecurityIT {
  private static final Set<PosixFilePermission> GROUP_OR_OTHER =
      Set.of(
          PosixFilePermission.GROUP_READ,
          PosixFilePermission.GROUP_WRITE,
          PosixFilePermission.GROUP_EXECUTE,
          PosixFilePermission.OTHERS_READ,
          PosixFilePermission.OTHERS_WRITE,
          PosixFilePermission.OTHERS_EXECUTE);

  @Test
  void nobody_can_read_write_or_execute_anything_under_root_or_state() throws Exception {
    try (BerthHarness b = BerthHarness.start("SecurityIT-walk")) {
      openUp(b.base);
      String id =
          b.runDetached(
              "--name",
              "secret",
              "-e",
              "SECRET_TOKEN=hunter2",
              "busybox",
              "sh",
              "-c",
              "echo token=$SECRET_TOKEN; cp /bin/busybox /suid-shell && chmod 4755 /suid-shell"
                  + " && mknod -m 666 /full c 1 7 && echo planted; sleep 600");
      assertTrue(
          BerthHarness.eventually(
              Duration.ofSeconds(20), () -> b.ok("logs", id).contains("planted")),
          "the container planted its files");
      // The hole exists as far as modes inside the container go: only the directories above protect
      // it.
      Path suid = b.containerDir(id).resolve("upper/suid-shell");
      assertTrue(Files.getPosixFilePermissions(suid).contains(PosixFilePermission.OTHERS_EXECUTE));
      assertEquals(
          04755,
          (int) Files.getAttribute(suid, "unix:mode") & 07777,
          "setuid kept for the container");

      List<String> reachable = reachableByNobody(List.of(b.root, b.state));
      assertEquals(List.of(), reachable, "paths nobody can read, write or execute");
      assertPrivate(b);
      // And nobody cannot reach the setuid binary through the mounted rootfs either.
      Result shell =
          BerthHarness.exec(
              Duration.ofSeconds(20),
              List.of(
                  "setpriv",
                  "--reuid=65534",
                  "--regid=65534",
                  "--clear-groups",
                  b.containerDir(id).resolve("rootfs/suid-shell").toString(),
                  "id",
                  "-u"));
      assertTrue(
          shell.exitCode() != 0 && !shell.stdout().strip().equals("0"), "no root shell: " + shell);
    }
  }

  @Test
  void a_daemon_started_under_umask_000_over_an_old_open_tree_makes_and_leaves_everything_private()
      throws Exception {
    BerthHarness b = BerthHarness.prepare("SecurityIT-umask", List.of());
    try (b) {
      openUp(b.base);
      // An old tree, as an earlier version left it: open directories and readable files.
      Files.createDirectories(b.root.resolve("containers"));
      Files.setPosixFilePermissions(b.root, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.setPosixFilePermissions(
          b.root.resolve("containers"), PosixFilePermissions.fromString("rwx--x--x"));
      Files.writeString(b.root.resolve("auth.json"), "{\"auths\":{}}");
      Files.setPosixFilePermissions(
          b.root.resolve("auth.json"), PosixFilePermissions.fromString("rw-r--r--"));
      Files.setPosixFilePermissions(b.state, PosixFilePermissions.fromString("rwxrwxrwx"));

      b.startDaemon("000");
      b.importBusybox();
      String id =
          b.runDetached(
              "--name",
              "secret",
              "-e",
              "SECRET_TOKEN=hunter2",
              "busybox",
              "sh",
              "-c",
              "echo token=$SECRET_TOKEN; sleep 600");
      assertTrue(
          BerthHarness.eventually(
              Duration.ofSeconds(20), () -> b.ok("logs", id).contains("token=")));
      // a container running as a user still sees a usable "/" (its upper dir keeps a root dir's
      // modes)
      assertEquals(
          "ok",
          b.ok("run", "--rm", "-u", "nobody", "busybox", "sh", "-c", "ls / >/dev/null && echo ok"));

      assertEquals(List.of(), reachableByNobody(List.of(b.root, b.state)));
      assertPrivate(b);
      assertEquals(
          "rw-------",
          PosixFilePermissions.toString(
              Files.getPosixFilePermissions(b.root.resolve("auth.json"))));
    }
  }

  /**
   * The harness makes its temp dirs 0700; open them, as /var/lib and /run are, so the walk means
   * something.
   */
  private static void openUp(Path base) throws IOException {
    Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  /**
   * Every path under {@code trees} that nobody can read, write or execute (access(2) as uid 65534).
   */
  private static List<String> reachableByNobody(List<Path> trees) throws IOException {
    List<String> paths = new ArrayList<>();
    for (Path tree : trees) {
      Files.walkFileTree(
          tree,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
              paths.add(d.toString());
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) {
              paths.add(f.toString());
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path f, IOException e) {
              return FileVisitResult.CONTINUE;
            }
          });
    }
    assertTrue(paths.size() > 100, "walked " + paths.size() + " paths");
    Path list = Files.createTempFile("berth-walk-", ".txt");
    try {
      Files.write(list, paths);
      Result r =
          BerthHarness.exec(
              Duration.ofSeconds(120),
              List.of(
                  "setpriv",
                  "--reuid=65534",
                  "--regid=65534",
                  "--clear-groups",
                  "sh",
                  "-c",
                  "while IFS= read -r p; do if [ -r \"$p\" ] || [ -w \"$p\" ] || [ -x \"$p\" ]; then echo \"$p\"; fi; done"),
              list);
      assertEquals(0, r.exitCode(), r.toString());
      return r.stdout().lines().toList();
    } finally {
      Files.deleteIfExists(list);
    }
  }

  /**
   * The daemon's own files and directories have no group or other bits (container content aside).
   */
  private static void assertPrivate(BerthHarness b) throws IOException {
    List<Path> own =
        new ArrayList<>(
            List.of(
                b.root,
                b.state,
                b.root.resolve("containers"),
                b.root.resolve("images"),
                b.root.resolve("journal"),
                b.root.resolve("images/layers"),
                b.root.resolve("images/blobs")));
    try (var s = Files.list(b.root.resolve("journal"))) {
      s.forEach(own::add);
    }
    try (var s = Files.list(b.root.resolve("containers"))) {
      for (Path bundle : s.toList()) {
        own.add(bundle);
        for (String f : List.of("config.json", "container.log", "spec.json"))
          own.add(bundle.resolve(f));
      }
    }
    try (var s = Files.walk(b.state)) {
      // pinned network namespaces are nsfs files whose mode is the kernel's (r--r--r--): their
      // 0700 directory is what keeps others out
      s.filter(
              p ->
                  !p.startsWith(b.state.resolve("runc"))
                      && !p.equals(b.socket)
                      && !p.getParent().equals(b.state.resolve("netns")))
          .forEach(own::add);
    }
    for (Path p : own) {
      if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) continue;
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
      Set<PosixFilePermission> open = new java.util.HashSet<>(perms);
      open.retainAll(GROUP_OR_OTHER);
      assertTrue(open.isEmpty(), p + " is " + PosixFilePermissions.toString(perms));
    }
  }
}
