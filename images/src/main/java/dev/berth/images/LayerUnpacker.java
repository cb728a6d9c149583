package dev.berth.images;

import dev.berth.images.rootfs.Whiteouts;
import dev.berth.runtime.files.FileTrees;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream;

/**
 * Unpacks a (possibly compressed) tar into a directory, treating the tar as hostile.
 *
 * <p>Safety rules: entry names are normalised and refused when absolute or when ".." would climb
 * out; parent directories are walked one component at a time without following symlinks, and an
 * entry whose parent is a symlink is refused (so nothing is ever written through a link planted by
 * an earlier entry); hardlink targets must be earlier entries inside the directory; an existing
 * entry is removed before its replacement is created (duplicates: the last one wins), so no open()
 * ever follows a link.
 *
 * <p>In {@linkplain Mode#LAYER layer} mode OCI whiteouts become overlayfs whiteouts and ownership,
 * modes, device nodes and mtimes are applied. {@linkplain Mode#ARCHIVE Archive} mode (used for the
 * outer tar of a docker-archive) just materialises files, symlinks and directories.
 */
final class LayerUnpacker {
  enum Mode {
    LAYER,
    ARCHIVE
  }

  /** The digest and length of the uncompressed tar stream (a layer's diff id and size). */
  record Result(String diffId, long size) {}

  private static final String WHITEOUT_PREFIX = ".wh.";
  private static final String OPAQUE = ".wh..wh..opq";

  private final Path root;
  private final Mode mode;
  private final String what;
  private final List<Path> dirsForMtime = new ArrayList<>();
  private final List<TarArchiveEntry> dirEntries = new ArrayList<>();

  private LayerUnpacker(Path root, Mode mode, String what) {
    this.root = root;
    this.mode = mode;
    this.what = what;
  }

  /**
   * Unpacks {@code raw} (tar, tar+gzip or tar+bzip2; detected by magic bytes) into the existing,
   * empty directory {@code dest}. {@code what} names the input in error messages.
   */
  static Result unpack(InputStream raw, Path dest, Mode mode, String what)
      throws ImageException, IOException {
    Counting counted = new Counting(decompress(raw, what));
    LayerUnpacker u = new LayerUnpacker(dest, mode, what);
    try (TarArchiveInputStream tar = new TarArchiveInputStream(counted)) {
      TarArchiveEntry e;
      boolean any = false;
      while (true) {
        try {
          e = tar.getNextEntry();
        } catch (IOException bad) {
          throw new ImageException(what + ": not a valid tar archive (" + message(bad) + ")");
        }
        if (e == null) break;
        any = true;
        u.apply(tar, e);
      }
      if (!any && counted.count == 0)
        throw new ImageException(what + ": empty file, not a tar archive");
      // The diff id covers the whole uncompressed stream, including the end-of-archive padding the
      // tar reader stops short of.
      counted.transferTo(java.io.OutputStream.nullOutputStream());
    }
    u.finishDirectories();
    return new Result(Digests.of(counted.md), counted.count);
  }

  private static InputStream decompress(InputStream raw, String what)
      throws ImageException, IOException {
    BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
    in.mark(8);
    byte[] magic = in.readNBytes(4);
    in.reset();
    if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
      return new GzipCompressorInputStream(in, true);
    }
    if (magic.length >= 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h') {
      return new BZip2CompressorInputStream(in, true);
    }
    if (magic.length == 4
        && (magic[0] & 0xff) == 0x28
        && (magic[1] & 0xff) == 0xb5
        && (magic[2] & 0xff) == 0x2f
        && (magic[3] & 0xff) == 0xfd) {
      return new ZstdCompressorInputStream(in); // through zstd-jni
    }
    if (magic.length >= 3 && (magic[0] & 0xff) == 0xfd && magic[1] == '7' && magic[2] == 'z') {
      throw new ImageException(what + ": xz-compressed layers are not supported");
    }
    return in;
  }

  private void apply(TarArchiveInputStream tar, TarArchiveEntry e)
      throws ImageException, IOException {
    List<String> parts = normalize(e.getName());
    if (parts.isEmpty())
      return; // "./": the layer root itself; its attributes come from the upper dir
    String base = parts.get(parts.size() - 1);
    List<String> parentParts = parts.subList(0, parts.size() - 1);

    if (mode == Mode.LAYER && base.startsWith(WHITEOUT_PREFIX)) {
      Path parent = parentDir(parentParts, e.getName());
      if (base.equals(OPAQUE)) {
        Whiteouts.makeOpaque(parent);
      } else if (!base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) {
        // ".wh..wh.*" other than the opaque marker are aufs bookkeeping (e.g. .wh..wh.plnk):
        // ignored, like docker
        String victim = base.substring(WHITEOUT_PREFIX.length());
        if (victim.isEmpty() || victim.equals(".") || victim.equals("..")) {
          throw new ImageException(what + ": invalid whiteout \"" + e.getName() + "\"");
        }
        Path target = parent.resolve(victim);
        removeExisting(target);
        Whiteouts.makeWhiteout(target);
      }
      return;
    }

    Path parent = parentDir(parentParts, e.getName());
    Path target = parent.resolve(base);
    BasicFileAttributes existing = attrs(target);

    if (e.isDirectory()) {
      if (existing == null || !existing.isDirectory()) {
        if (existing != null) removeExisting(target);
        Files.createDirectory(target);
      }
      if (mode == Mode.LAYER) {
        owner(target, e);
        chmod(target, e.getMode());
        dirsForMtime.add(target);
        dirEntries.add(e);
      }
    } else if (e.isSymbolicLink()) {
      removeExisting(target);
      Path linkTarget;
      try {
        linkTarget = Paths.get(e.getLinkName());
      } catch (InvalidPathException bad) {
        throw new ImageException(what + ": invalid symlink target in \"" + e.getName() + "\"");
      }
      // The target is stored verbatim and never followed here: it only means something inside the
      // container.
      Files.createSymbolicLink(target, linkTarget);
      if (mode == Mode.LAYER) {
        owner(target, e);
        mtime(target, e, true);
      }
    } else if (e.isLink()) {
      List<String> linkParts = normalize(e.getLinkName());
      if (linkParts.isEmpty())
        throw new ImageException(what + ": hardlink \"" + e.getName() + "\" points at the root");
      Path source = existingEntry(linkParts, e);
      if (source.equals(target)) return; // a link to itself: the entry is already there
      removeExisting(target);
      Files.createLink(target, source);
    } else if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
      if (mode == Mode.ARCHIVE)
        return; // an image archive never needs device nodes outside its layers
      removeExisting(target);
      Whiteouts.mknod(
          target,
          e.isFIFO() ? "p" : e.isCharacterDevice() ? "c" : "b",
          e.getDevMajor(),
          e.getDevMinor());
      owner(target, e);
      chmod(target, e.getMode());
      mtime(target, e, false);
    } else if (isRegular(e)) {
      if (!tar.canReadEntryData(e)) {
        throw new ImageException(
            what + ": unsupported tar entry \"" + e.getName() + "\" (sparse format)");
      }
      removeExisting(target);
      Files.copy(tar, target); // CREATE_NEW semantics: fails rather than follow anything at target
      if (mode == Mode.LAYER) {
        owner(target, e); // before chmod: chown clears setuid/setgid bits
        chmod(target, e.getMode());
        mtime(target, e, false);
      }
    } else {
      throw new ImageException(
          what
              + ": unsupported tar entry type '"
              + (char) e.getLinkFlag()
              + "' for \""
              + e.getName()
              + "\"");
    }
  }

  private static boolean isRegular(TarArchiveEntry e) {
    byte f = e.getLinkFlag();
    return f == TarArchiveEntry.LF_NORMAL
        || f == TarArchiveEntry.LF_OLDNORM
        || f == TarArchiveEntry.LF_CONTIG
        || e.isSparse();
  }

  /**
   * Splits and normalises an archive path: "." and empty components go, ".." removes the previous
   * component. Absolute paths and paths that climb above the root are refused.
   */
  private List<String> normalize(String name) throws ImageException {
    if (name == null || name.isEmpty())
      throw new ImageException(what + ": tar entry with an empty name");
    if (name.startsWith("/"))
      throw new ImageException(what + ": unsafe absolute path \"" + name + "\"");
    if (name.indexOf('\0') >= 0) throw new ImageException(what + ": NUL byte in entry name");
    Deque<String> out = new ArrayDeque<>();
    for (String c : name.split("/")) {
      if (c.isEmpty() || c.equals(".")) continue;
      if (c.equals("..")) {
        if (out.isEmpty())
          throw new ImageException(what + ": unsafe path \"" + name + "\" escapes the layer");
        out.removeLast();
      } else {
        out.addLast(c);
      }
    }
    return new ArrayList<>(out);
  }

  /**
   * The directory for {@code parts} under the root, creating missing components (0755, root-owned,
   * like tar does for implicit parents). Refuses to traverse symlinks or non-directories.
   */
  private Path parentDir(List<String> parts, String entryName) throws ImageException, IOException {
    Path cur = root;
    for (String c : parts) {
      cur = cur.resolve(c);
      BasicFileAttributes a = attrs(cur);
      if (a == null) {
        Files.createDirectory(cur);
        if (mode == Mode.LAYER) chmod(cur, 0755);
      } else if (a.isSymbolicLink()) {
        throw new ImageException(
            what
                + ": unsafe entry \""
                + entryName
                + "\" goes through the symlink \""
                + root.relativize(cur)
                + "\"");
      } else if (!a.isDirectory()) {
        throw new ImageException(
            what
                + ": entry \""
                + entryName
                + "\" needs \""
                + root.relativize(cur)
                + "\" to be a directory");
      }
    }
    return cur;
  }

  /**
   * An earlier entry for a hardlink: inside the root, reached without symlinks, not a directory.
   */
  private Path existingEntry(List<String> parts, TarArchiveEntry e) throws ImageException {
    Path cur = root;
    for (int i = 0; i < parts.size(); i++) {
      cur = cur.resolve(parts.get(i));
      BasicFileAttributes a = attrs(cur);
      boolean last = i == parts.size() - 1;
      if (a == null
          || (!last && (a.isSymbolicLink() || !a.isDirectory()))
          || (last && a.isDirectory())) {
        throw new ImageException(
            what
                + ": hardlink \""
                + e.getName()
                + "\" points at \""
                + e.getLinkName()
                + "\", which is not an earlier file in the layer");
      }
    }
    return cur;
  }

  private static BasicFileAttributes attrs(Path p) {
    try {
      return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      return null;
    }
  }

  /** Removes whatever is at {@code p} (recursively for directories, never following symlinks). */
  static void removeExisting(Path p) throws IOException {
    BasicFileAttributes a = attrs(p);
    if (a == null) return;
    if (a.isDirectory()) {
      deleteTree(p);
    } else {
      Files.delete(p);
    }
  }

  /** Deletes a tree without following symlinks; missing is fine. */
  static void deleteTree(Path dir) throws IOException {
    FileTrees.deleteRecursively(dir);
  }

  private void owner(Path p, TarArchiveEntry e) throws ImageException, IOException {
    long uid = e.getLongUserId();
    long gid = e.getLongGroupId();
    if (uid < 0 || uid > Integer.MAX_VALUE || gid < 0 || gid > Integer.MAX_VALUE) {
      throw new ImageException(
          what + ": invalid owner " + uid + ":" + gid + " for \"" + e.getName() + "\"");
    }
    if (uid == 0 && gid == 0) return; // what we created already has; saves two syscalls per file
    // NOFOLLOW_LINKS makes the JDK use lchown, so a symlink's own owner changes, never its target's
    Files.setAttribute(p, "unix:uid", (int) uid, LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(p, "unix:gid", (int) gid, LinkOption.NOFOLLOW_LINKS);
  }

  /** Full mode including setuid/setgid/sticky (PosixFilePermission cannot express those). */
  private static void chmod(Path p, int mode) throws IOException {
    Files.setAttribute(p, "unix:mode", mode & 07777, LinkOption.NOFOLLOW_LINKS);
  }

  private static void mtime(Path p, TarArchiveEntry e, boolean symlink) {
    FileTime t = FileTime.from(e.getLastModifiedDate().toInstant());
    try {
      Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
          .setTimes(t, null, null);
    } catch (IOException | UnsupportedOperationException ignored) {
      // mtimes are cosmetic ("where cheap"); a symlink's time may not be settable on every
      // filesystem
    }
  }

  /** Directory mtimes last: creating children would otherwise bump them again. */
  private void finishDirectories() {
    for (int i = dirsForMtime.size() - 1; i >= 0; i--) {
      if (attrs(dirsForMtime.get(i)) != null) mtime(dirsForMtime.get(i), dirEntries.get(i), false);
    }
  }

  private static String message(Throwable t) {
    String m = t.getMessage();
    return m == null ? t.getClass().getSimpleName() : m;
  }

  /** Hashes and counts every byte read through it. */
  private static final class Counting extends FilterInputStream {
    final MessageDigest md = Digests.sha256();
    long count;

    Counting(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        md.update((byte) b);
        count++;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        md.update(b, off, n);
        count += n;
      }
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      // skipping would bypass the digest: read instead
      byte[] buf = new byte[(int) Math.min(n, 8192)];
      int r = read(buf, 0, buf.length);
      return Math.max(r, 0);
    }

    @Override
    public boolean markSupported() {
      return false;
    }
  }
}
