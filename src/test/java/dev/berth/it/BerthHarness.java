package dev.berth.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A private berthd for black-box tests: real {@code bin/berthd}, real {@code bin/berth} calls, real
 * shims and runc. Each harness has its own root ({@code /tmp/berth-it-XXXX/root}), state directory
 * (short, {@code /tmp/bit-XXXX}, because shim socket paths must stay under 108 bytes) and API
 * socket, and imports the busybox test image as {@code busybox:latest}.
 *
 * <p>{@link #close()} removes every trace whatever state the test left: it force-removes the
 * containers through the daemon when it can, stops the daemon, then kills leftover shims, runc
 * containers and container processes, removes cgroups, unmounts what is mounted under the harness's
 * directories and deletes them. Logs (daemon, shims, command transcript) are copied to {@code
 * src/test/target/berth-it-logs/NAME-TIME/} first.
 */
public final class BerthHarness implements AutoCloseable {

  public static final Path HOME =
      Path.of(System.getProperty("berth.home", "../..")).toAbsolutePath().normalize();
  public static final Path BERTHD = HOME.resolve("bin/berthd");
  public static final Path BERTH = HOME.resolve("bin/berth");
  public static final Path BUSYBOX_IMAGE = HOME.resolve("build/images/busybox");
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path LOGS = HOME.resolve("src/test/target/berth-it-logs");

  /** The outcome of one command. */
  public record Result(List<String> command, int exitCode, String stdout, String stderr) {
    /** stdout without the trailing newline(s). */
    public String out() {
      return stdout.strip();
    }

    public List<String> stderrLines() {
      return stderr.lines().filter(l -> !l.isBlank()).collect(Collectors.toList());
    }

    @Override
    public String toString() {
      return "$ "
          + String.join(" ", command)
          + "\n[exit "
          + exitCode
          + "]\n[stdout]\n"
          + stdout
          + "[stderr]\n"
          + stderr;
    }
  }

  private final String name;
  public final Path base;
  public final Path root;
  public final Path state;
  public final Path socket;
  private final Path transcript;
  private final List<String> extraDaemonArgs = new ArrayList<>();
  private final Map<String, String> daemonEnvironment = new HashMap<>();
  private Process daemon;
  private int daemonStarts;
  private boolean closed;

  private BerthHarness(String name) throws IOException {
    this.name = name.replaceAll("[^A-Za-z0-9_.-]", "_");
    this.base = Files.createTempDirectory(Path.of("/tmp"), "berth-it-");
    this.root = base.resolve("root");
    this.state = Files.createTempDirectory(Path.of("/tmp"), "bit-");
    this.socket = state.resolve("berth.sock");
    this.transcript = base.resolve("transcript.log");
    Files.createDirectories(root);
  }

  /** Starts a daemon with fresh directories and imports busybox:latest. */
  public static BerthHarness start(String name) {
    return start(name, List.of());
  }

  /** Like {@link #start(String)}, with more berthd flags (kept for restarts). */
  public static BerthHarness start(String name, List<String> daemonFlags) {
    return start(name, daemonFlags, Map.of());
  }

  /**
   * Like {@link #start(String, List)}, with variables for berthd's environment (e.g.
   * BERTHD_JAVA_OPTS).
   */
  public static BerthHarness start(
      String name, List<String> daemonFlags, Map<String, String> daemonEnvironment) {
    BerthHarness h = null;
    try {
      Path image = busyboxImage();
      h = new BerthHarness(name);
      h.extraDaemonArgs.addAll(daemonFlags);
      h.daemonEnvironment.putAll(daemonEnvironment);
      h.startDaemon();
      Result r = h.berth("image", "import", image.toString(), "--name", "busybox:latest");
      if (r.exitCode() != 0) fail("importing the busybox image failed:\n" + r);
      return h;
    } catch (Throwable t) {
      if (h != null) {
        try {
          h.close();
        } catch (Throwable suppressed) {
          t.addSuppressed(suppressed);
        }
      }
      if (t instanceof IOException io) throw new UncheckedIOException(io);
      if (t instanceof RuntimeException re) throw re;
      if (t instanceof Error e) throw e;
      throw new IllegalStateException(t);
    }
  }

  /**
   * Fresh directories and no daemon yet: for tests that prepare --root/--state first (a small file
   * system mounted on them, an old tree); then {@link #startDaemon()} and {@link #importBusybox()}.
   */
  public static BerthHarness prepare(String name, List<String> daemonFlags) throws IOException {
    BerthHarness h = new BerthHarness(name);
    h.extraDaemonArgs.addAll(daemonFlags);
    return h;
  }

  public void importBusybox() throws IOException, InterruptedException {
    Result r = berth("image", "import", busyboxImage().toString(), "--name", "busybox:latest");
    if (r.exitCode() != 0) fail("importing the busybox image failed:\n" + r);
  }

  /** build/images/busybox, built once (ops/images/make-busybox-image.sh) when missing. */
  public static synchronized Path busyboxImage() throws IOException, InterruptedException {
    if (!Files.isRegularFile(BUSYBOX_IMAGE.resolve("index.json"))) {
      Process p =
          new ProcessBuilder(
                  HOME.resolve("ops/images/make-busybox-image.sh").toString(),
                  BUSYBOX_IMAGE.toString())
              .redirectErrorStream(true)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        fail("ops/images/make-busybox-image.sh failed:\n" + out);
      }
    }
    return BUSYBOX_IMAGE;
  }

  // ------------------------------------------------------------------ daemon

  /** The flags of this harness's daemon. */
  public List<String> daemonArgs() {
    List<String> args =
        new ArrayList<>(
            List.of(
                BERTHD.toString(),
                "--root",
                root.toString(),
                "--state",
                state.toString(),
                "--socket",
                socket.toString()));
    // A test daemon: the CLI's --failpoint needs the test-only service.
    if (failpoints) args.add("--enable-failpoints");
    args.addAll(extraDaemonArgs);
    return args;
  }

  private boolean failpoints = true;

  /** The next start is a production daemon: without the test-only failpoints service. */
  public void withoutFailpoints() {
    failpoints = false;
  }

  /** Replaces the extra berthd flags for the next start. */
  public void setDaemonFlags(List<String> flags) {
    extraDaemonArgs.clear();
    extraDaemonArgs.addAll(flags);
  }

  public Path daemonLog(int start) {
    return base.resolve("berthd-" + start + ".log");
  }

  /** Starts bin/berthd on this harness's directories and waits until it answers `version`. */
  public void startDaemon() throws IOException, InterruptedException {
    startDaemon(null);
  }

  /** Like {@link #startDaemon()}, from a shell whose umask is {@code umask} (e.g. "000"). */
  public void startDaemon(String umask) throws IOException, InterruptedException {
    if (daemon != null && daemon.isAlive())
      throw new IllegalStateException("berthd is already running");
    daemonStarts++;
    Path log = daemonLog(daemonStarts);
    List<String> command = new ArrayList<>();
    if (umask != null)
      command.addAll(List.of("sh", "-c", "umask " + umask + " && exec \"$@\"", "sh"));
    command.addAll(daemonArgs());
    note("# starting berthd (" + daemonStarts + "): " + String.join(" ", command));
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    pb.environment().remove("BERTH_SOCKET");
    pb.environment().putAll(daemonEnvironment);
    daemon = pb.start();
    Instant deadline = Instant.now().plusSeconds(90);
    while (true) {
      if (!daemon.isAlive()) {
        fail(
            "berthd exited with status "
                + daemon.exitValue()
                + " before serving "
                + socket
                + ":\n"
                + tail(log, 60));
      }
      if (Files.exists(socket)) {
        Result v = berth(Duration.ofSeconds(30), "version");
        if (v.exitCode() == 0) return;
      }
      if (Instant.now().isAfter(deadline)) {
        daemon.destroyForcibly();
        fail("berthd does not answer on " + socket + " after 90s:\n" + tail(log, 60));
      }
      Thread.sleep(100);
    }
  }

  public Process daemonProcess() {
    return daemon;
  }

  public long daemonPid() {
    return daemon.pid();
  }

  public boolean daemonAlive() {
    return daemon != null && daemon.isAlive();
  }

  /** SIGKILL to berthd; returns once it is gone. */
  public void kill9Daemon() throws InterruptedException {
    note("# kill -9 berthd " + daemon.pid());
    daemon.destroyForcibly();
    if (!daemon.waitFor(30, TimeUnit.SECONDS)) fail("berthd survived SIGKILL for 30s");
  }

  /**
   * SIGTERM to berthd; returns its exit status (fails when it does not exit within the timeout).
   */
  public int terminateDaemon(Duration timeout) throws InterruptedException {
    note("# kill -TERM berthd " + daemon.pid());
    daemon.destroy();
    if (!daemon.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      fail(
          "berthd did not exit within "
              + timeout
              + " of SIGTERM:\n"
              + tail(daemonLog(daemonStarts), 40));
    }
    return daemon.exitValue();
  }

  public String daemonLogTail() {
    return daemonStarts == 0 ? "" : tail(daemonLog(daemonStarts), 60);
  }

  // ------------------------------------------------------------------ commands

  /** bin/berth --socket S ARGS..., with the default timeout. */
  public Result berth(String... args) {
    return berth(DEFAULT_TIMEOUT, args);
  }

  public Result berth(Duration timeout, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(BERTH.toString());
    cmd.add("--socket");
    cmd.add(socket.toString());
    cmd.addAll(Arrays.asList(args));
    Result r = exec(timeout, cmd);
    note(r.toString());
    return r;
  }

  /** bin/berth ARGS..., which must exit 0; returns trimmed stdout. */
  public String ok(String... args) {
    Result r = berth(args);
    if (r.exitCode() != 0)
      fail("expected exit 0:\n" + r + "\n--- berthd log tail ---\n" + daemonLogTail());
    return r.out();
  }

  /** Runs any command (stdin /dev/null), capturing stdout and stderr. */
  public static Result exec(Duration timeout, List<String> cmd) {
    return exec(timeout, cmd, Path.of("/dev/null"));
  }

  static Result exec(Duration timeout, List<String> cmd, Path stdin) {
    Path out = null;
    Path err = null;
    try {
      out = Files.createTempFile("berth-it-out-", ".txt");
      err = Files.createTempFile("berth-it-err-", ".txt");
      ProcessBuilder pb =
          new ProcessBuilder(cmd)
              .redirectInput(ProcessBuilder.Redirect.from(stdin.toFile()))
              .redirectOutput(out.toFile())
              .redirectError(err.toFile());
      pb.environment().remove("BERTH_SOCKET");
      Process p = pb.start();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
        fail(
            "timed out after "
                + timeout
                + ": "
                + String.join(" ", cmd)
                + "\n[stdout so far]\n"
                + Files.readString(out)
                + "[stderr so far]\n"
                + Files.readString(err));
      }
      return new Result(
          List.copyOf(cmd), p.exitValue(), Files.readString(out), Files.readString(err));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } finally {
      deleteQuietly(out);
      deleteQuietly(err);
    }
  }

  // ------------------------------------------------------------------ queries

  /** `ps -a --format json`, one object per line. */
  public List<JsonNode> psAll() {
    return jsonLines(ok("ps", "-a", "--format", "json"));
  }

  /** `ps --format json` (running only). */
  public List<JsonNode> ps() {
    return jsonLines(ok("ps", "--format", "json"));
  }

  public List<JsonNode> images() {
    return jsonLines(ok("images", "--format", "json"));
  }

  public Optional<JsonNode> find(List<JsonNode> list, String id) {
    return list.stream().filter(n -> n.path("id").asText().equals(id)).findFirst();
  }

  /** `inspect REF`: the single object of the JSON array. */
  public JsonNode inspect(String ref) {
    String out = ok("inspect", ref);
    JsonNode arr = parse(out);
    if (!arr.isArray() || arr.size() != 1)
      fail("inspect " + ref + " did not print a one-element JSON array:\n" + out);
    return arr.get(0);
  }

  public static List<JsonNode> jsonLines(String text) {
    return text.lines()
        .filter(l -> !l.isBlank())
        .map(BerthHarness::parse)
        .collect(Collectors.toList());
  }

  public static JsonNode parse(String json) {
    try {
      return JSON.readTree(json);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + json, e);
    }
  }

  /** Runs a detached container and returns its id (asserting a 64-hex id was printed). */
  public String runDetached(String... args) {
    List<String> all = new ArrayList<>(List.of("run", "-d"));
    all.addAll(Arrays.asList(args));
    String id = ok(all.toArray(String[]::new));
    assertEquals(
        true, id.matches("[0-9a-f]{64}"), "run -d should print the full 64-hex id, got: " + id);
    return id;
  }

  // ------------------------------------------------------------------ host facts

  public static boolean processAlive(long pid) {
    if (pid <= 0) return false;
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      // state is the field after "(comm)"
      String rest = stat.substring(stat.lastIndexOf(')') + 2);
      return rest.charAt(0) != 'Z' && rest.charAt(0) != 'X';
    } catch (IOException e) {
      return false;
    }
  }

  /** How long the process has run (ProcessHandle's start time), or ZERO if it is gone. */
  public static java.time.Duration processAge(long pid) {
    return ProcessHandle.of(pid)
        .flatMap(h -> h.info().startInstant())
        .map(start -> java.time.Duration.between(start, java.time.Instant.now()))
        .orElse(java.time.Duration.ZERO);
  }

  public static String cmdline(long pid) {
    try {
      return new String(
              Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8)
          .replace('\0', ' ');
    } catch (IOException e) {
      return "";
    }
  }

  /** Live processes whose command line contains {@code needle} (the test JVM itself excluded). */
  public static List<Long> processesMatching(String needle) {
    long self = ProcessHandle.current().pid();
    try (Stream<Path> s = Files.list(Path.of("/proc"))) {
      return s.map(p -> p.getFileName().toString())
          .filter(n -> n.chars().allMatch(Character::isDigit))
          .map(Long::parseLong)
          .filter(pid -> pid != self && cmdline(pid).contains(needle) && processAlive(pid))
          .collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Mount points (field 5 of /proc/self/mountinfo) under {@code dir}. */
  public static List<String> mountsUnder(Path dir) {
    String prefix = dir.toString();
    try {
      return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
          .map(l -> l.split(" ")[4].replace("\\040", " "))
          .filter(m -> m.equals(prefix) || m.startsWith(prefix + "/"))
          .collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Existing /sys/fs/cgroup/CONTROLLER/berth/ID directories (v1 hybrid) or /sys/fs/cgroup/berth/ID
   * (v2).
   */
  public static List<Path> cgroupsOf(String id) {
    List<Path> found = new ArrayList<>();
    Path cg = Path.of("/sys/fs/cgroup");
    if (Files.isDirectory(cg.resolve("berth").resolve(id)))
      found.add(cg.resolve("berth").resolve(id));
    try (Stream<Path> s = Files.list(cg)) {
      s.map(c -> c.resolve("berth").resolve(id)).filter(Files::isDirectory).forEach(found::add);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return found;
  }

  public Path containerDir(String id) {
    return root.resolve("containers").resolve(id);
  }

  public Path shimDir(String id) {
    return state.resolve("shims").resolve(id);
  }

  /**
   * The dir holding the container's shim.pid and address: STATE/shims/ID for a shim of its own,
   * STATE/groups/GROUP for a group shim (the group its task.json names).
   */
  public Path shimHome(String id) {
    try {
      String group =
          JSON.readTree(Files.readString(shimDir(id).resolve("task.json")))
              .path("group")
              .asText("");
      if (!group.isEmpty()) return groupDir(group);
    } catch (IOException e) {
      // no task.json: a shim of its own
    }
    return shimDir(id);
  }

  /**
   * The pids of the live shims of auto groups ({@code groups/.auto-<n>}): the only auto group with
   * room is kept, even empty, for the next start, so it outlives its containers.
   */
  public Set<Long> autoGroupShims() {
    Set<Long> pids = new java.util.HashSet<>();
    try (Stream<Path> dirs = Files.list(state.resolve("groups"))) {
      for (Path d : (Iterable<Path>) dirs::iterator) {
        if (!d.getFileName().toString().startsWith(".auto-")) continue;
        try {
          long pid = Long.parseLong(Files.readString(d.resolve("shim.pid")).trim());
          if (processAlive(pid)) pids.add(pid);
        } catch (IOException | NumberFormatException e) {
          // not serving (yet, or any more)
        }
      }
    } catch (IOException e) {
      // no groups dir
    }
    return pids;
  }

  public Path groupDir(String group) {
    return state.resolve("groups").resolve(group);
  }

  /** The container's shim's pid (its own or its group's shim.pid), or -1. */
  public long shimPid(String id) {
    try {
      return Long.parseLong(Files.readString(shimHome(id).resolve("shim.pid")).trim());
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  /** The shim's socket path from STATE/shims/ID/address (a "unix://" prefix dropped), or null. */
  public Path shimSocket(String id) {
    try {
      String a = Files.readString(shimHome(id).resolve("address")).trim();
      if (a.startsWith("unix://")) a = a.substring("unix://".length());
      return Path.of(a);
    } catch (IOException e) {
      return null;
    }
  }

  /** Polls {@code condition} every 100 ms until true or the timeout; returns the last value. */
  public static boolean eventually(Duration timeout, BooleanSupplier condition) {
    Instant deadline = Instant.now().plus(timeout);
    while (true) {
      if (condition.getAsBoolean()) return true;
      if (Instant.now().isAfter(deadline)) return false;
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }

  // ------------------------------------------------------------------ cleanup

  @Override
  public void close() {
    if (closed) return;
    closed = true;
    note("# closing harness");
    // 1. politely, through the daemon (shims do runc delete + unmount + exit)
    try {
      if (daemonAlive()) {
        Result ps = berth(Duration.ofSeconds(30), "ps", "-a", "--format", "json");
        if (ps.exitCode() == 0) {
          for (JsonNode c : jsonLines(ps.stdout())) {
            berth(Duration.ofSeconds(60), "rm", "-f", c.path("id").asText());
          }
        }
      }
    } catch (Throwable t) {
      note("# cleanup through berthd failed: " + t);
    }
    // 2. stop the daemon
    if (daemon != null && daemon.isAlive()) {
      daemon.destroy();
      try {
        if (!daemon.waitFor(20, TimeUnit.SECONDS)) {
          daemon.destroyForcibly();
          daemon.waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    saveLogs();
    // 3. by force: whatever is left
    bruteForceCleanup();
  }

  private Set<String> knownIds() {
    Set<String> ids = new LinkedHashSet<>();
    for (Path dir : List.of(root.resolve("containers"), state.resolve("shims"))) {
      try (Stream<Path> s = Files.list(dir)) {
        s.map(p -> p.getFileName().toString()).forEach(ids::add);
      } catch (IOException ignored) {
        // missing: nothing there
      }
    }
    return ids;
  }

  private void bruteForceCleanup() {
    Set<String> ids = knownIds();
    // shims and any runc/helper started for this state dir or root
    for (String needle : List.of(state + "/", base + "/")) {
      for (long pid : processesMatching(needle)) {
        note("# killing leftover process " + pid + ": " + cmdline(pid));
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
    // container processes: everything in the containers' cgroups
    for (String id : ids) {
      for (Path cg : cgroupsOf(id)) {
        try {
          for (String line : Files.readAllLines(cg.resolve("cgroup.procs"))) {
            if (!line.isBlank()) {
              long pid = Long.parseLong(line.trim());
              note("# killing leftover container process " + pid + " (" + id + ")");
              ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
          }
        } catch (IOException | NumberFormatException ignored) {
          // raced with exit
        }
      }
    }
    // runc's view (state dir runc root)
    Path runcRoot = state.resolve("runc");
    if (Files.isDirectory(runcRoot)) {
      Result list =
          exec(
              Duration.ofSeconds(20), List.of("runc", "--root", runcRoot.toString(), "list", "-q"));
      for (String id :
          list.stdout().lines().filter(l -> !l.isBlank()).collect(Collectors.toList())) {
        note("# runc delete -f " + id);
        exec(
            Duration.ofSeconds(20),
            List.of("runc", "--root", runcRoot.toString(), "delete", "-f", id));
      }
    }
    // cgroups (empty once their processes are gone)
    for (String id : ids) {
      eventually(
          Duration.ofSeconds(5),
          () -> {
            boolean allGone = true;
            for (Path cg : cgroupsOf(id)) {
              try {
                Files.deleteIfExists(cg);
              } catch (IOException e) {
                allGone = false;
              }
            }
            return allGone;
          });
    }
    // mounts, deepest first
    for (Path dir : List.of(base, state)) {
      List<String> mounts = mountsUnder(dir);
      mounts.sort(Comparator.reverseOrder());
      for (String m : mounts) {
        note("# umount -l " + m);
        exec(Duration.ofSeconds(20), List.of("umount", "-l", m));
      }
    }
    for (Path dir : List.of(base, state)) {
      exec(Duration.ofSeconds(60), List.of("rm", "-rf", "--one-file-system", dir.toString()));
    }
  }

  private void saveLogs() {
    try {
      Path dest =
          LOGS.resolve(
              name + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("HHmmss-SSS")));
      Files.createDirectories(dest);
      for (int i = 1; i <= daemonStarts; i++)
        copyIfExists(daemonLog(i), dest.resolve("berthd-" + i + ".log"));
      copyIfExists(transcript, dest.resolve("transcript.log"));
      Path shims = state.resolve("shims");
      if (Files.isDirectory(shims)) {
        try (Stream<Path> s = Files.list(shims)) {
          for (Path d : s.collect(Collectors.toList())) {
            String id = d.getFileName().toString();
            copyIfExists(d.resolve("shim.log"), dest.resolve("shim-" + id + ".log"));
            copyIfExists(d.resolve("runc.log"), dest.resolve("runc-" + id + ".log"));
          }
        }
      }
    } catch (IOException ignored) {
      // logs are a convenience
    }
  }

  private static void copyIfExists(Path from, Path to) throws IOException {
    if (Files.isRegularFile(from)) Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
  }

  private synchronized void note(String text) {
    try {
      Files.writeString(
          transcript,
          text + (text.endsWith("\n") ? "" : "\n"),
          StandardCharsets.UTF_8,
          java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException ignored) {
      // transcript is a convenience
    }
  }

  static String tail(Path file, int lines) {
    try {
      List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(no " + file + ")";
    }
  }

  private static void deleteQuietly(Path p) {
    if (p == null) return;
    try {
      Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // temp file
    }
  }

  /** rm -rf without following symlinks; failures ignored (test scratch space). */
  static void deleteTreeQuietly(Path dir) {
    if (dir == null || !Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(BerthHarness::deleteQuietly);
    } catch (IOException | UncheckedIOException ignored) {
      // scratch space
    }
  }

  /** bin/berth ARGS... with {@code input} on its stdin. */
  public Result berthWithInput(String input, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(BERTH.toString());
    cmd.add("--socket");
    cmd.add(socket.toString());
    cmd.addAll(Arrays.asList(args));
    Path in = null;
    try {
      in = Files.createTempFile("berth-it-in-", ".txt");
      Files.writeString(in, input);
      Result r = exec(DEFAULT_TIMEOUT, cmd, in);
      note(r.toString());
      return r;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      deleteQuietly(in);
    }
  }
}
