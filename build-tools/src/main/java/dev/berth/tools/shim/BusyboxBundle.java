package dev.berth.tools.shim;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * A tiny OCI bundle around the static /bin/busybox, for tests and the AppCDS training run: a rootfs
 * source directory (bin/busybox + applet symlinks) that Create bind-mounts on bundle/rootfs, and a
 * minimal config.json with its own pid, mount, ipc, uts and network namespaces, /proc and a tmpfs
 * /dev.
 */
public final class BusyboxBundle {
  public static final Path BUSYBOX = Path.of("/bin/busybox");
  private static final List<String> APPLETS =
      List.of("sh", "echo", "sleep", "true", "cat", "ls", "ps", "kill");

  private BusyboxBundle() {}

  /** Creates dir/rootfs-src with busybox and its applets; returns it. */
  public static Path rootfsSource(Path dir) throws IOException {
    Path root = dir.resolve("rootfs-src");
    Path bin = Files.createDirectories(root.resolve("bin"));
    Files.copy(
        BUSYBOX,
        bin.resolve("busybox"),
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.COPY_ATTRIBUTES);
    for (String applet : APPLETS) {
      Path link = bin.resolve(applet);
      if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        Files.createSymbolicLink(link, Path.of("busybox"));
      }
    }
    for (String d : List.of("proc", "dev", "sys", "tmp")) {
      Files.createDirectories(root.resolve(d));
    }
    return root;
  }

  /** Creates dir/NAME with config.json running args and an empty rootfs mount point. */
  public static Path bundle(Path dir, String name, List<String> args) throws IOException {
    Path bundle = Files.createDirectories(dir.resolve(name));
    Files.createDirectories(bundle.resolve("rootfs"));
    Files.writeString(bundle.resolve("config.json"), config(args, name));
    return bundle;
  }

  /** A minimal OCI runtime spec (1.0.2) for busybox. */
  public static String config(List<String> args, String hostname) {
    JsonObject process = new JsonObject();
    process.addProperty("terminal", false);
    JsonObject user = new JsonObject();
    user.addProperty("uid", 0);
    user.addProperty("gid", 0);
    process.add("user", user);
    process.add("args", strings(args));
    process.add("env", strings(List.of("PATH=/bin", "HOME=/")));
    process.addProperty("cwd", "/");
    process.addProperty("noNewPrivileges", true);

    JsonObject root = new JsonObject();
    root.addProperty("path", "rootfs");
    root.addProperty("readonly", false);

    JsonArray mounts = new JsonArray();
    mounts.add(mount("/proc", "proc", "proc", List.of("nosuid", "noexec", "nodev")));
    mounts.add(
        mount(
            "/dev", "tmpfs", "tmpfs", List.of("nosuid", "strictatime", "mode=755", "size=65536k")));

    JsonArray namespaces = new JsonArray();
    for (String ns : List.of("pid", "mount", "ipc", "uts", "network")) {
      JsonObject n = new JsonObject();
      n.addProperty("type", ns);
      namespaces.add(n);
    }
    JsonObject linux = new JsonObject();
    linux.add("namespaces", namespaces);

    JsonObject spec = new JsonObject();
    spec.addProperty("ociVersion", "1.0.2");
    spec.add("process", process);
    spec.add("root", root);
    spec.addProperty("hostname", hostname);
    spec.add("mounts", mounts);
    spec.add("linux", linux);
    return spec.toString();
  }

  private static JsonObject mount(
      String destination, String type, String source, List<String> options) {
    JsonObject m = new JsonObject();
    m.addProperty("destination", destination);
    m.addProperty("type", type);
    m.addProperty("source", source);
    m.add("options", strings(options));
    return m;
  }

  private static JsonArray strings(List<String> values) {
    JsonArray a = new JsonArray();
    values.forEach(a::add);
    return a;
  }
}
