package dev.berth.images;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** sha256 digests: validation, hashing and verified copies. */
final class Digests {
  private static final Pattern SHA256 = Pattern.compile("sha256:[0-9a-f]{64}");

  private Digests() {}

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  static String of(byte[] data) {
    return "sha256:" + HexFormat.of().formatHex(sha256().digest(data));
  }

  static String of(MessageDigest md) {
    return "sha256:" + HexFormat.of().formatHex(md.digest());
  }

  static boolean valid(String digest) {
    return digest != null && SHA256.matcher(digest).matches();
  }

  /**
   * Checks the form of a digest taken from untrusted JSON. Only sha256 is accepted; the hex part is
   * used as a file name, so this check is also what keeps blob paths inside their directory.
   */
  static String require(String digest, String what) throws ImageException {
    if (digest == null || digest.isEmpty()) throw new ImageException(what + ": missing digest");
    if (!valid(digest)) {
      if (digest.startsWith("sha256:") || !digest.contains(":")) {
        throw new ImageException(what + ": invalid digest \"" + abbreviate(digest) + "\"");
      }
      throw new ImageException(
          what + ": unsupported digest algorithm in \"" + abbreviate(digest) + "\"");
    }
    return digest;
  }

  /**
   * {@link #require} for digests already validated upstream; a bad one here is a programming error.
   */
  static String requireUnchecked(String digest) {
    if (!valid(digest)) throw new IllegalArgumentException("invalid digest " + digest);
    return digest;
  }

  static String hex(String digest) {
    return digest.substring("sha256:".length());
  }

  /** "sha256:0123456789ab", for messages. */
  static String shortForm(String digest) {
    return digest.length() > 19 ? digest.substring(0, 19) : digest;
  }

  private static String abbreviate(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }

  /** Result of a hashed copy. */
  record Copied(String digest, long size) {}

  /**
   * Copies {@code src} to the new file {@code dst}, hashing while copying. When {@code expected} is
   * given and does not match (digest or, if >= 0, size), {@code dst} is deleted and an exception
   * thrown.
   */
  static Copied copy(Path src, Path dst, String expected, long expectedSize, String what)
      throws ImageException, IOException {
    MessageDigest md = sha256();
    long n = 0;
    byte[] buf = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(src, LinkOption.NOFOLLOW_LINKS);
        OutputStream out =
            Files.newOutputStream(dst, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      int r;
      while ((r = in.read(buf)) > 0) {
        md.update(buf, 0, r);
        out.write(buf, 0, r);
        n += r;
      }
    } catch (IOException e) {
      Files.deleteIfExists(dst);
      throw e;
    }
    String got = of(md);
    if (expected != null && !expected.equals(got)) {
      Files.deleteIfExists(dst);
      throw new ImageException(what + ": digest mismatch: expected " + expected + ", got " + got);
    }
    if (expected != null && expectedSize >= 0 && expectedSize != n) {
      Files.deleteIfExists(dst);
      throw new ImageException(
          what + ": size mismatch: expected " + expectedSize + " bytes, got " + n);
    }
    return new Copied(got, n);
  }

  /** Reads a small file (JSON document) fully, refusing anything larger than {@code max} bytes. */
  static byte[] readSmall(Path file, long max, String what) throws ImageException, IOException {
    if (!Files.isRegularFile(file)) throw new ImageException(what + ": missing " + file);
    long size = Files.size(file);
    if (size > max)
      throw new ImageException(what + ": " + file + " is too large (" + size + " bytes)");
    return Files.readAllBytes(file);
  }
}
