package dev.berth.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.it.BerthHarness;
import dev.berth.it.BerthHarness.Result;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The promises checked after every fault, against what the daemon says (ps, events) and what the
 * host shows (/proc, mounts, cgroups, the state directory). Host leaks are judged after a grace
 * period, since an exit's cleanup legitimately runs a moment after the exit is recorded.
 */
final class Invariants {
  private static final Duration SETTLE = Duration.ofSeconds(30);
  private static final Duration LEAK_GRACE = Duration.ofSeconds(10);
  private static final Duration SHIM_START_GRACE = Duration.ofSeconds(60);

  private final BerthHarness berth;
  private final SoakModel model;
  private final SoakReport report;

  Invariants(BerthHarness berth, SoakModel model, SoakReport report) {
    this.berth = berth;
    this.model = model;
    this.report = report;
  }

  void check(String after) {
    report.checks++;
    List<JsonNode> ps = settledPs(after);
    if (ps == null) return;
    Map<String, JsonNode> byId = new LinkedHashMap<>();
    ps.forEach(c -> byId.put(c.path("id").asText(), c));
    accounted(ps, after);
    Map<String, Long> suspects = events(byId, after, null);
    if (!suspects.isEmpty()) {
      // A stopped container whose last start has no exit may just have been started again
      // between the two reads: only a mismatch that stays is a missing exit.
      sleep(1500);
      Map<String, JsonNode> again = new LinkedHashMap<>();
      BerthHarness.jsonLines(berth.ok("ps", "-a", "--format", "json"))
          .forEach(c -> again.put(c.path("id").asText(), c));
      events(again, after, suspects);
    }
    zombies(after);
    leaks(after);
  }

  /** ps -a once nothing is "unknown" any more (a restarted daemon has reconciled everything). */
  private List<JsonNode> settledPs(String after) {
    Instant deadline = Instant.now().plus(SETTLE);
    List<JsonNode> ps = List.of();
    while (Instant.now().isBefore(deadline)) {
      Result r = berth.berth("ps", "-a", "--format", "json");
      if (r.exitCode() == 0) {
        ps = BerthHarness.jsonLines(r.stdout());
        if (ps.stream().noneMatch(c -> c.path("state").asText().equals("unknown"))) return ps;
      }
      sleep(200);
    }
    report.violation(
        "unreconciled", after + ": still unknown after " + SETTLE.toSeconds() + " s: " + ps);
    return null;
  }

  private void accounted(List<JsonNode> ps, String after) {
    Map<String, JsonNode> byName = new HashMap<>();
    ps.forEach(c -> byName.put(c.path("name").asText(), c));
    for (SoakModel.Tracked t : model.all()) {
      JsonNode listed = byName.get(t.name);
      if (listed != null && t.id == null) t.id = listed.path("id").asText();
      if (t.mustExist() && listed == null)
        report.violation("lost-container", after + ": " + t.name + " (" + t.id + ") is not listed");
      if (t.mustBeGone() && listed != null)
        report.violation(
            "resurrected-container", after + ": removed " + t.name + " is listed again");
    }
    for (JsonNode c : ps) {
      if (model.byName(c.path("name").asText()) == null)
        report.violation("unexpected-container", after + ": " + c);
    }
  }

  /**
   * Gap-free history; per container create < start < exit ... < delete, one exit per start; codes
   * plausible. Returns containers whose listed state disagrees with their last start (container →
   * seq of that start); on the second pass ({@code suspects} given) only those are judged.
   */
  private Map<String, Long> events(
      Map<String, JsonNode> ps, String after, Map<String, Long> suspects) {
    Result r = berth.berth("events", "--since", "0", "--no-follow", "--format", "json");
    if (r.exitCode() != 0) {
      report.violation("events-unavailable", after + ": " + r);
      return Map.of();
    }
    List<JsonNode> all = BerthHarness.jsonLines(r.stdout());
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i).path("seq").asLong() != i + 1) {
        report.violation(
            "event-gap",
            after + ": position " + (i + 1) + " has seq " + all.get(i).path("seq").asLong());
        break;
      }
    }
    Map<String, List<JsonNode>> perContainer = new LinkedHashMap<>();
    all.forEach(
        e ->
            perContainer
                .computeIfAbsent(e.path("container").asText(), k -> new ArrayList<>())
                .add(e));
    Map<String, Long> mismatched = new LinkedHashMap<>();
    List<JsonNode> daemonEvents = perContainer.remove("");
    if (daemonEvents != null && suspects == null) {
      // Events of the daemon itself (journal-damaged): no fault of the soak damages the journal.
      for (JsonNode e : daemonEvents) {
        report.violation(
            "journal-damaged",
            after + ": seq " + e.path("seq").asLong() + " " + e.path("detail").asText());
      }
    }
    perContainer.forEach(
        (id, events) -> {
          if (suspects != null) {
            if (!suspects.containsKey(id)) return;
            long lastStart = lastStart(events);
            if (lastStart == suspects.get(id) && stateMismatch(events, ps.get(id))) {
              report.violation(
                  "exit-missing",
                  after
                      + ": "
                      + id.substring(0, 12)
                      + " is "
                      + ps.get(id).path("state").asText()
                      + " but its start at seq "
                      + lastStart
                      + " has no exit event");
            }
            return;
          }
          if (containerEvents(id, events, ps.get(id), after)) mismatched.put(id, lastStart(events));
        });
    return mismatched;
  }

  private static long lastStart(List<JsonNode> events) {
    long seq = -1;
    for (JsonNode e : events)
      if (e.path("type").asText().equals("start")) seq = e.path("seq").asLong();
    return seq;
  }

  /** Listed as not running, yet the last start in the history has no exit after it. */
  private static boolean stateMismatch(List<JsonNode> events, JsonNode listed) {
    if (listed == null || !Set.of("stopped", "created").contains(listed.path("state").asText()))
      return false;
    boolean running = false;
    for (JsonNode e : events) {
      String type = e.path("type").asText();
      if (type.equals("start")) running = true;
      else if (type.equals("exit")) running = false;
    }
    return running;
  }

  /**
   * Checks one container's history; true if its listed state disagrees with it (judged again
   * later).
   */
  private boolean containerEvents(String id, List<JsonNode> events, JsonNode listed, String after) {
    SoakModel.Tracked t = model.byId(id);
    String who = (t != null ? t.name : id.substring(0, 12));
    boolean running = false;
    boolean deleted = false;
    for (int i = 0; i < events.size(); i++) {
      JsonNode e = events.get(i);
      String type = e.path("type").asText();
      String bad = null;
      if (deleted) bad = "event after delete";
      else if (i == 0 && !type.equals("create")) bad = "first event is not create";
      else
        switch (type) {
          case "create" -> {
            if (i != 0) bad = "second create";
          }
          case "start" -> {
            if (running) bad = "start while running (an exit is missing)";
            running = true;
          }
          case "exit" -> {
            if (!running) bad = "exit without a start (a duplicate exit)";
            running = false;
            int code = e.path("exitCode").asInt();
            if (t != null && !t.codes.contains(code))
              report.violation(
                  "exit-code",
                  after + ": " + who + " exited " + code + ", expected one of " + t.codes);
          }
          case "shim-lost" -> {
            if (!running) bad = "shim-lost while not running";
          }
          case "start-failed", "restart" -> {
            if (running) bad = type + " while running";
          }
          case "delete" -> {
            if (running) bad = "delete while running (its exit is missing)";
            deleted = true;
          }
          case "reconciled" -> {}
          default -> bad = "unknown type " + type;
        }
      if (bad != null) {
        report.violation(
            "event-order", after + ": " + who + ": " + bad + " at seq " + e.path("seq").asLong());
        return false;
      }
    }
    if (listed != null && deleted)
      report.violation("event-order", after + ": " + who + " is listed but has a delete event");
    return stateMismatch(events, listed);
  }

  /**
   * A zombie that outlives half a second under a shim was not reaped (a fresh exit is reaped in
   * ms).
   */
  private void zombies(String after) {
    List<Long> first = zombiesUnderShims();
    if (first.isEmpty()) return;
    sleep(500);
    for (long pid : zombiesUnderShims()) {
      if (first.contains(pid))
        report.violation("zombie", after + ": pid " + pid + " stays a zombie under a shim");
    }
  }

  private List<Long> zombiesUnderShims() {
    Set<Long> shims = new HashSet<>(shimPids());
    List<Long> out = new ArrayList<>();
    for (long pid : allPids()) {
      String[] stat = stat(pid);
      if (stat != null && stat[0].equals("Z") && shims.contains(Long.parseLong(stat[1])))
        out.add(pid);
    }
    return out;
  }

  /** Host resources of tasks that no longer run, judged after a grace period. */
  private void leaks(String after) {
    Instant deadline = Instant.now().plus(LEAK_GRACE);
    List<String> found;
    while (true) {
      found = findLeaks();
      if (found.isEmpty() || Instant.now().isAfter(deadline)) break;
      sleep(300);
    }
    for (String leak : found)
      report.violation(
          leak.substring(0, leak.indexOf(':')),
          after + ": " + leak.substring(leak.indexOf(':') + 2));
  }

  private List<String> findLeaks() {
    List<String> leaks = new ArrayList<>();
    Result r = berth.berth("ps", "-a", "--format", "json");
    if (r.exitCode() != 0) return List.of("leak-check-failed: " + r.stderr().strip());
    Map<String, String> state = new HashMap<>();
    Set<String> liveSockets = new HashSet<>();
    for (JsonNode c : BerthHarness.jsonLines(r.stdout()))
      state.put(c.path("id").asText(), c.path("state").asText());
    for (SoakModel.Tracked t : model.all()) {
      if (t.id == null) continue;
      String s = state.get(t.id);
      if (s != null && (s.equals("running") || s.equals("unknown") || s.equals("removing")))
        continue;
      Path shimDir = berth.shimDir(t.id);
      if (Files.exists(shimDir))
        leaks.add("leak-shim-dir: " + t.name + " (" + s + ") still has " + shimDir);
      if (Files.exists(berth.state.resolve("runc").resolve(t.id)))
        leaks.add("leak-runc-state: " + t.name + " (" + s + ")");
      if (!BerthHarness.mountsUnder(berth.containerDir(t.id)).isEmpty())
        leaks.add("leak-mount: " + t.name + " (" + s + ")");
      if (!BerthHarness.cgroupsOf(t.id).isEmpty())
        leaks.add("leak-cgroup: " + t.name + " (" + s + "): " + BerthHarness.cgroupsOf(t.id));
      if (s == null && Files.exists(berth.containerDir(t.id)))
        leaks.add("leak-bundle: removed " + t.name + " left " + berth.containerDir(t.id));
    }
    // Every shim socket belongs to a live shim (a container's or the spare's); every live shim to
    // a running container or is the spare.
    Map<Long, String> shimDirs = new HashMap<>();
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(berth.state.resolve("shims"))) {
      for (Path dir : dirs) {
        long pid = readLong(dir.resolve("shim.pid"));
        if (pid > 0 && BerthHarness.processAlive(pid)) {
          shimDirs.put(pid, dir.getFileName().toString());
          try {
            liveSockets.add(Files.readString(dir.resolve("address")).strip());
          } catch (IOException ignored) {
            // not serving yet
          }
        }
      }
    } catch (IOException ignored) {
      // no shims dir yet
    }
    // Group shims (and the spare) live in groups/<group>: a group's is legitimate while one of its
    // containers runs (their task.json names it); an auto group may also be kept empty.
    Set<String> groupsInUse = new HashSet<>();
    state.forEach(
        (id, s) -> {
          if (s.equals("running") || s.equals("unknown") || s.equals("removing")) {
            Path home = berth.shimHome(id);
            if (home.getParent().equals(berth.state.resolve("groups")))
              groupsInUse.add(home.getFileName().toString());
          }
        });
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(berth.state.resolve("groups"))) {
      for (Path dir : dirs) {
        long pid = readLong(dir.resolve("shim.pid"));
        if (pid > 0 && BerthHarness.processAlive(pid)) {
          String name = dir.getFileName().toString();
          shimDirs.put(pid, name.startsWith(".spare") ? name : "group:" + name);
          try {
            liveSockets.add(Files.readString(dir.resolve("address")).strip());
          } catch (IOException ignored) {
            // not serving yet
          }
        }
      }
    } catch (IOException ignored) {
      // no groups dir yet
    }
    try (Stream<Path> socks = Files.list(berth.state.resolve("s"))) {
      socks
          .map(Path::toString)
          .filter(p -> !liveSockets.contains(p))
          .forEach(p -> leaks.add("leak-socket: " + p + " has no live shim"));
    } catch (IOException ignored) {
      // no socket dir yet
    }
    for (long shim : shimPids()) {
      String dir = shimDirs.get(shim);
      if (dir != null && dir.startsWith(".spare")) continue;
      if (dir != null && dir.startsWith("group:")) {
        String group = dir.substring("group:".length());
        if (group.startsWith(".auto-") || groupsInUse.contains(group)) continue;
        leaks.add(
            "orphan-shim: shim " + shim + " of group " + group + " lives but has no container");
        continue;
      }
      // A shim writes its shim.pid only once it serves: a JVM still starting (seconds on a loaded
      // machine) has no state dir yet. One that never gets one is caught by a later check.
      if (dir == null && BerthHarness.processAge(shim).compareTo(SHIM_START_GRACE) < 0) continue;
      String s = dir == null ? null : state.get(dir);
      if (s == null || !(s.equals("running") || s.equals("unknown") || s.equals("removing"))) {
        leaks.add(
            "orphan-shim: shim "
                + shim
                + (dir == null
                    ? " has no state dir"
                    : " of " + dir + " lives but its container is " + (s == null ? "gone" : s)));
      }
    }
    return leaks;
  }

  /** Shim processes of this daemon (their state dir is under the harness's state dir). */
  private List<Long> shimPids() {
    String marker = "--state-dir " + berth.state;
    return BerthHarness.processesMatching("dev.berth.shim.ShimMain").stream()
        .filter(p -> BerthHarness.cmdline(p).contains(marker))
        .toList();
  }

  private static List<Long> allPids() {
    try (Stream<Path> s = Files.list(Path.of("/proc"))) {
      return s.map(p -> p.getFileName().toString())
          .filter(n -> n.chars().allMatch(Character::isDigit))
          .map(Long::parseLong)
          .toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  /** [state, ppid] of a process, or null if it is gone. */
  private static String[] stat(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return new String[] {rest[0], rest[1]};
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static long readLong(Path f) {
    try {
      return Long.parseLong(Files.readString(f).strip());
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
