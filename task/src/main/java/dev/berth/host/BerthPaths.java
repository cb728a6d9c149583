package dev.berth.host;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Where everything lives on disk; see DEVELOPERS.md "On-disk layout". */
public record BerthPaths(Path root, Path state, Path socket, Path home, String runtime) {

  public Path images() {
    return root.resolve("images");
  }

  public Path containers() {
    return root.resolve("containers");
  }

  public Path bundle(String id) {
    return containers().resolve(id);
  }

  /** The rootfs's name inside a bundle (config.json names it relative to the bundle). */
  public static final String ROOTFS = "rootfs";

  public Path rootfs(String id) {
    return bundle(id).resolve(ROOTFS);
  }

  public Path upper(String id) {
    return bundle(id).resolve("upper");
  }

  public Path work(String id) {
    return bundle(id).resolve("work");
  }

  public Path log(String id) {
    return bundle(id).resolve("container.log");
  }

  public Path lockFile() {
    return root.resolve("berthd.lock");
  }

  public Path shims() {
    return state.resolve("shims");
  }

  /** Group shims' dirs ({@code groups/<group>}) and the spare's ({@code groups/.spare-XXXX}). */
  public Path groups() {
    return state.resolve("groups");
  }

  public Path shimDir(String id) {
    return shims().resolve(id);
  }

  public Path runtimeRoot() {
    return state.resolve(runtime);
  }

  public Path shimBinary() {
    return home.resolve("bin").resolve("berth-shim");
  }

  /**
   * A short socket path: unix socket paths are limited to 108 bytes, so (like containerd) the
   * socket is named by a hash of the state dir and container id rather than by the id itself.
   */
  public Path shimSocket(String id) {
    try {
      byte[] h =
          MessageDigest.getInstance("SHA-256")
              .digest((state + "/" + id).getBytes(StandardCharsets.UTF_8));
      return state.resolve("s").resolve(HexFormat.of().formatHex(h, 0, 12) + ".sock");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
