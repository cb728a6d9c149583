package dev.berth.shim;

import dev.berth.api.shim.v1.TaskGrpc;
import dev.berth.tools.shim.BusyboxBundle;
import dev.berth.tools.shim.ShimClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One real shim process (a JVM started with the launcher's flags on the test classpath) plus a
 * grpc-java client, in a short /tmp/bs-XXXX directory. close() leaves nothing behind: the runc
 * container is force-deleted, the shim killed, the rootfs unmounted, the directory removed.
 */
final class ShimHarness implements AutoCloseable {
  final String id;
  final Path dir;
  final Path stateDir;
  final Path socket;
  final Path runcRoot;
  final Path logPath;
  final Path rootfsSource;
  final Process process;
  final ShimClient client;
  private final List<Path> bundles = new ArrayList<>();

  /** Container ids besides {@link #id} that close() must clean from runc (an adopted spare's). */
  final List<String> alsoDelete = new ArrayList<>();

  ShimHarness(String id) throws Exception {
    this(id, false);
  }

  ShimHarness(String id, boolean spare) throws Exception {
    this(id, spare, Map.of(), List.of());
  }

  /**
   * @param env added to the shim's environment (e.g. a PATH that finds a fake runc first)
   * @param extraArgs appended to the shim's command line (e.g. a shorter --runtime-timeout)
   */
  ShimHarness(String id, boolean spare, Map<String, String> env, List<String> extraArgs)
      throws Exception {
    this.id = id;
    this.dir = Files.createTempDirectory(Path.of("/tmp"), "bs-");
    this.stateDir = dir.resolve("state");
    this.socket = dir.resolve("s/" + id + ".sock");
    this.runcRoot = dir.resolve("runc");
    this.logPath = dir.resolve("container.log");
    this.rootfsSource = BusyboxBundle.rootfsSource(dir);
    List<String> cmd = new ArrayList<>(spare ? List.of("nice", "-n", "10") : List.of());
    cmd.addAll(command(id, stateDir, socket, runcRoot));
    // "TASKS" stands for this harness's dir/shims (a group shim's task dirs)
    extraArgs.forEach(a -> cmd.add(a.equals("TASKS") ? dir.resolve("shims").toString() : a));
    if (spare) {
      // like the daemon: the spare's parent is this JVM (nice execs the shim's java)
      cmd.addAll(List.of("--spare", "--parent-pid", Long.toString(ProcessHandle.current().pid())));
    }
    ProcessBuilder builder =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("shim.log").toFile()));
    builder.environment().putAll(env);
    this.process = builder.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.exists(stateDir.resolve("address"))) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        String log = Files.readString(dir.resolve("shim.log"));
        close();
        throw new IllegalStateException("shim did not come up: " + log);
      }
      Thread.sleep(10);
    }
    this.client = new ShimClient(socket);
  }

  /** The shim's command line (a JVM with the launcher's main flags on the test classpath). */
  static List<String> command(String id, Path stateDir, Path socket, Path runcRoot) {
    return List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Xss256k",
        "-Xmx24m",
        "-XX:-UsePerfData",
        "-cp",
        System.getProperty("java.class.path"),
        ShimMain.class.getName(),
        "--id",
        id,
        "--state-dir",
        stateDir.toString(),
        "--socket",
        socket.toString(),
        "--runtime",
        "runc",
        "--runtime-root",
        runcRoot.toString());
  }

  /** Alive and not a zombie (an orphan's zombie waits for init, which may take its time). */
  static boolean isRunning(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
    } catch (IOException gone) {
      return false;
    }
  }

  TaskGrpc.TaskBlockingStub shim() {
    return client.blocking(30, TimeUnit.SECONDS);
  }

  Path bundle(String name, List<String> args) throws IOException {
    Path b = BusyboxBundle.bundle(dir, name, args);
    bundles.add(b);
    return b;
  }

  String shimLog() throws IOException {
    return Files.readString(dir.resolve("shim.log"));
  }

  /** Every live process whose parent is the shim: zombies would show up here. */
  List<String> childrenOfShim() throws IOException {
    List<String> children = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : (Iterable<Path>) procs::iterator) {
        if (!p.getFileName().toString().matches("\\d+")) {
          continue;
        }
        String stat;
        try {
          stat = Files.readString(p.resolve("stat"));
        } catch (IOException gone) {
          continue;
        }
        String[] after = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        if (Long.parseLong(after[1]) == process.pid()) {
          children.add(
              p.getFileName()
                  + " "
                  + stat.substring(stat.indexOf('('), stat.lastIndexOf(')') + 1)
                  + " state "
                  + after[0]);
        }
      }
    }
    return children;
  }

  static boolean isMounted(Path target) throws IOException {
    return Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + target + " ");
  }

  @Override
  public void close() throws Exception {
    if (client != null) {
      client.close();
    }
    run("runc", "--root", runcRoot.toString(), "delete", "--force", id);
    for (String other : alsoDelete) {
      run("runc", "--root", runcRoot.toString(), "delete", "--force", other);
    }
    if (process.isAlive()) {
      process.destroyForcibly();
      process.waitFor(5, TimeUnit.SECONDS);
    }
    for (Path b : bundles) {
      while (isMounted(b.resolve("rootfs"))) {
        run("umount", "-l", b.resolve("rootfs").toString());
      }
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static void run(String... cmd) throws Exception {
    new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start()
        .waitFor(10, TimeUnit.SECONDS);
  }
}
