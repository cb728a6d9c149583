package dev.berth.images.rootfs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Describes a container's rootfs mount; the shim performs it on {@code bundle/rootfs}. */
public final class Rootfs {
  /** mount(2) passes options in one page; the kernel refuses longer data. */
  private static final int MAX_OPTIONS = 4095;

  private Rootfs() {}

  /**
   * An overlay of the image's layers (read-only lowers) with the container's own upper and work
   * dirs. overlayfs wants lowerdir top-first, so the list is reversed. {@code upper} and {@code
   * work} are created (they must be on the same filesystem, e.g. both under the container dir).
   *
   * @throws IllegalArgumentException when there are no layers (overlayfs needs at least one
   *     lowerdir), a path contains ':' or ',' (the option syntax cannot escape them here) or the
   *     options exceed a page
   * @throws UncheckedIOException when upper or work cannot be created
   */
  public static MountSpec overlay(List<Path> layerDirsLowestFirst, Path upper, Path work) {
    if (layerDirsLowestFirst.isEmpty()) {
      throw new IllegalArgumentException("an overlay rootfs needs at least one image layer");
    }
    List<String> lowers = new ArrayList<>();
    for (int i = layerDirsLowestFirst.size() - 1; i >= 0; i--)
      lowers.add(checked(layerDirsLowestFirst.get(i)));
    String up = checked(upper);
    String wk = checked(work);
    try {
      Files.createDirectories(upper);
      Files.createDirectories(work);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot create the overlay upper/work dirs: " + e.getMessage(), e);
    }
    List<String> options =
        List.of("lowerdir=" + String.join(":", lowers), "upperdir=" + up, "workdir=" + wk);
    int length = String.join(",", options).length();
    if (length > MAX_OPTIONS) {
      throw new IllegalArgumentException(
          "overlay mount options are "
              + length
              + " bytes ("
              + lowers.size()
              + " layers); the kernel accepts at most "
              + MAX_OPTIONS);
    }
    return new MountSpec("overlay", "overlay", options);
  }

  private static String checked(Path p) {
    String s = p.toAbsolutePath().normalize().toString();
    if (s.indexOf(':') >= 0 || s.indexOf(',') >= 0) {
      throw new IllegalArgumentException("overlay paths must not contain ':' or ',': " + s);
    }
    return s;
  }
}
