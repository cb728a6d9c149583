package dev.berth.images.rootfs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * overlayfs' native whiteout format, which is what unpacked layers are stored in so they can be
 * used directly as lowerdirs: a deleted entry is a character device 0/0, an opaque directory
 * carries the xattr {@code trusted.overlay.opaque=y}.
 *
 * <p>The JDK can neither mknod nor touch the trusted.* xattr namespace, so this runs {@code mknod}
 * (coreutils) and {@code setfattr}/{@code getfattr} (Debian package {@code attr}). Paths handed to
 * these tools are always absolute, so they can never be mistaken for options.
 */
public final class Whiteouts {
  public static final String OPAQUE_XATTR = "trusted.overlay.opaque";
  private static final int S_IFMT = 0170000;
  private static final int S_IFCHR = 0020000;

  private Whiteouts() {}

  /**
   * True when {@code p} itself (not following symlinks) is an overlay whiteout (char device 0/0).
   */
  public static boolean isWhiteout(Path p) {
    try {
      int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
      return (mode & S_IFMT) == S_IFCHR
          && ((Long) Files.getAttribute(p, "unix:rdev", LinkOption.NOFOLLOW_LINKS)) == 0L;
    } catch (IOException | UnsupportedOperationException e) {
      // Gone meanwhile, or a file system without unix attributes: either way not a whiteout.
      return false;
    }
  }

  /** Creates the whiteout {@code p}; nothing may exist at {@code p}. */
  public static void makeWhiteout(Path p) throws IOException {
    mknod(p, "c", 0, 0);
  }

  /** mknod TYPE (c, b or p) at {@code p}; for p, major and minor are ignored. */
  public static void mknod(Path p, String type, int major, int minor) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("mknod", p.toAbsolutePath().toString(), type));
    if (!type.equals("p")) {
      cmd.add(Integer.toString(major));
      cmd.add(Integer.toString(minor));
    }
    run(cmd);
  }

  /** Marks the directory {@code dir} opaque: lower layers' content of it is hidden. */
  public static void makeOpaque(Path dir) throws IOException {
    run(List.of("setfattr", "-h", "-n", OPAQUE_XATTR, "-v", "y", dir.toAbsolutePath().toString()));
  }

  /** True when the directory {@code dir} is marked opaque. */
  public static boolean isOpaque(Path dir) throws IOException {
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return false;
    Result r =
        exec(
            List.of(
                "getfattr",
                "-h",
                "--absolute-names",
                "--only-values",
                "-n",
                OPAQUE_XATTR,
                dir.toAbsolutePath().toString()));
    // getfattr exits 1 with "No such attribute" when the xattr is absent
    return r.code == 0 && r.out.strip().equals("y");
  }

  private static void run(List<String> cmd) throws IOException {
    Result r = exec(cmd);
    if (r.code != 0) {
      throw new IOException(
          cmd.get(0) + " failed (exit " + r.code + "): " + r.out.strip().replace('\n', ' '));
    }
  }

  private record Result(int code, String out) {}

  private static Result exec(List<String> cmd) throws IOException {
    Process p;
    try {
      p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
              .start();
    } catch (IOException e) {
      String pkg = cmd.get(0).equals("mknod") ? "coreutils" : "attr";
      throw new IOException(cmd.get(0) + " is not installed (Debian package " + pkg + ")", e);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (InputStream in = p.getInputStream()) {
      in.transferTo(out);
    }
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(cmd.get(0) + " timed out");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException(cmd.get(0) + " interrupted", e);
    }
    return new Result(p.exitValue(), out.toString(StandardCharsets.UTF_8));
  }
}
