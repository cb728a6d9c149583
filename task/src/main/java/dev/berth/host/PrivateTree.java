package dev.berth.host;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The one rule for the daemon's files: nothing under {@code --root} or {@code --state} is readable,
 * writable or executable by another user. {@code --root} and {@code --state} are 0700, the daemon's
 * own files below them 0600 and its directories 0700 (the daemon runs with umask 077, so new files
 * get those modes by themselves; {@link #enforce} tightens trees an older version left).
 *
 * <p>Container content (unpacked layers, a container's upper dir and mounted rootfs) keeps the
 * modes the image gave it, setuid bits and device nodes included: the container needs them, and the
 * 0700 directories above make them unreachable for host users (docker's fix for CVE-2021-41091 is
 * the same idea).
 */
public final class PrivateTree {
  public static final Set<PosixFilePermission> DIR = PosixFilePermissions.fromString("rwx------");
  public static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

  /** A container's upper dir is the root directory ("/") of its overlay, seen from inside. */
  public static final Set<PosixFilePermission> CONTAINER_ROOT =
      PosixFilePermissions.fromString("rwxr-xr-x");

  /** The umask the daemon runs with (and hands down to shims and runc). */
  public static final int UMASK = 077;

  private PrivateTree() {}

  /**
   * Creates {@code --root} and {@code --state} when missing and makes everything of the daemon's
   * private.
   */
  public static void enforce(BerthPaths paths) throws IOException {
    Files.createDirectories(paths.root());
    Files.createDirectories(paths.state());
    chmod(paths.root(), DIR);
    chmod(paths.state(), DIR);
    tightenRoot(paths);
    tightenState(paths);
  }

  /** A directory the daemon made: created when missing and 0700 either way. */
  public static Path privateDir(Path dir) throws IOException {
    Files.createDirectories(dir);
    chmod(dir, DIR);
    return dir;
  }

  private static void tightenRoot(BerthPaths paths) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(paths.root())) {
      for (Path e : entries) {
        String name = e.getFileName().toString();
        if (Files.isSymbolicLink(e)) continue;
        switch (name) {
          case "containers" -> tightenContainers(e);
          case "images" -> tightenImages(e);
          default -> {
            if (Files.isDirectory(e, LinkOption.NOFOLLOW_LINKS)) tightenAll(e);
            else chmod(e, FILE);
          }
        }
      }
    }
  }

  /**
   * containers/ID/: the bundle's files are private; upper/ and rootfs/ are the container's own "/".
   */
  /** Files of a bundle that are bind-mounted into the container (world-readable, as in docker). */
  static final Set<String> CONTAINER_FILES = Set.of("hosts", "hostname", "resolv.conf");

  private static void tightenContainers(Path containers) throws IOException {
    chmod(containers, DIR);
    try (DirectoryStream<Path> bundles = Files.newDirectoryStream(containers)) {
      for (Path bundle : bundles) {
        if (Files.isSymbolicLink(bundle) || !Files.isDirectory(bundle, LinkOption.NOFOLLOW_LINKS))
          continue;
        chmod(bundle, DIR);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(bundle)) {
          for (Path e : entries) {
            if (Files.isSymbolicLink(e)) continue;
            String name = e.getFileName().toString();
            if (name.equals("upper") || name.equals("rootfs")) continue; // container content
            // the container's /etc/hosts, /etc/hostname, /etc/resolv.conf: its users read them
            if (CONTAINER_FILES.contains(name)) continue;
            if (Files.isDirectory(e, LinkOption.NOFOLLOW_LINKS)) chmod(e, DIR);
            else chmod(e, FILE);
          }
        }
      }
    }
  }

  /** images/: blobs and the index are private; unpacked layers keep their content's modes. */
  private static void tightenImages(Path images) throws IOException {
    chmod(images, DIR);
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(images)) {
      for (Path e : entries) {
        if (Files.isSymbolicLink(e)) continue;
        String name = e.getFileName().toString();
        if (!Files.isDirectory(e, LinkOption.NOFOLLOW_LINKS)) chmod(e, FILE);
        else if (name.equals("layers") || name.equals("tmp")) chmod(e, DIR);
        else tightenAll(e);
      }
    }
  }

  /** state/: everything but the OCI runtime's own tree (its exec FIFOs must keep runc's modes). */
  private static void tightenState(BerthPaths paths) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(paths.state())) {
      for (Path e : entries) {
        if (Files.isSymbolicLink(e)) continue;
        if (e.equals(paths.runtimeRoot())) chmod(e, DIR);
        // pinned network namespaces: nsfs files, whose modes are the kernel's
        else if (e.getFileName().toString().equals("netns")) chmod(e, DIR);
        else if (e.equals(paths.socket())) continue; // the API socket has its own mode
        else if (Files.isDirectory(e, LinkOption.NOFOLLOW_LINKS)) tightenAll(e);
        else chmod(e, FILE);
      }
    }
  }

  /** Every directory 0700 and every file 0600 below {@code dir}; symlinks are never followed. */
  static void tightenAll(Path dir) throws IOException {
    Files.walkFileTree(
        dir,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs)
              throws IOException {
            chmod(d, DIR);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
            if (!attrs.isSymbolicLink()) chmod(f, FILE);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
            if (e instanceof NoSuchFileException) return FileVisitResult.CONTINUE; // gone meanwhile
            throw e;
          }
        });
  }

  /** Only ever narrows: a mode that already has no group/other bits is left as it is. */
  static void chmod(Path p, Set<PosixFilePermission> target) throws IOException {
    try {
      PosixFileAttributeView view =
          Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
      Set<PosixFilePermission> now = view.readAttributes().permissions();
      boolean open =
          now.stream().anyMatch(x -> x.name().startsWith("GROUP") || x.name().startsWith("OTHERS"));
      if (open || !now.containsAll(ownerBits(target))) view.setPermissions(target);
    } catch (NoSuchFileException gone) {
      // removed meanwhile (a container's file, a finished download): nothing to protect
    }
  }

  private static Set<PosixFilePermission> ownerBits(Set<PosixFilePermission> target) {
    return target.stream()
        .filter(x -> x.name().startsWith("OWNER"))
        .collect(java.util.stream.Collectors.toSet());
  }
}
