package dev.berth.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.it.BerthHarness;
import dev.berth.it.BerthHarness.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

/**
 * The chaos soak: a mixed workload through the CLI against a private berthd while faults are
 * injected — kill -9 of berthd (also in the middle of an RPC), kill -9 of shims and of container
 * processes, failpoints in shim RPCs — with the invariants checked after every fault. The seed
 * fixes the sequence of actions and faults (not the timing of the machine).
 */
public final class ChaosSoak {
  private static final List<String> FAILPOINTS =
      List.of(
          "Start=delay(500)",
          "Kill=1*error",
          "State=1*error",
          "WaitExit=1*error",
          "Delete=crash",
          "Kill=delay(300)",
          "Create=delay(300)");
  private static final int MAX_LIVE = 6;

  private final int faults;
  private final long seed;

  /** Long-running containers the plan started minus the stops and removals it asked for. */
  private int plannedLive;

  /** Enough for the soak's containers and the busybox image; the disk-full phase fills the rest. */
  private static final String ROOT_SIZE = "384m";

  private final Random random;
  private final SoakModel model = new SoakModel();
  private final SoakReport report = new SoakReport();

  public ChaosSoak(int faults, long seed) {
    this.faults = faults;
    this.seed = seed;
    this.random = new Random(seed);
  }

  /** Runs the soak; returns the report text. {@link #violations()} tells whether it passed. */
  public String run() throws Exception {
    Instant t0 = Instant.now();
    // --root on its own small file system, so the disk-full phase fills that, not the host's disk.
    // One shim per container: the model expects a shim kill to cost only its own container, which
    // holds for a group shim only once group members are re-adopted (the soak's group faults come
    // with that).
    BerthHarness berth =
        BerthHarness.prepare(
            "soak-" + seed, List.of("--min-free-space", "16m", "--shim-group-size", "1"));
    boolean mounted = false;
    try (berth) {
      Result mount =
          BerthHarness.exec(
              Duration.ofSeconds(30),
              List.of(
                  "mount",
                  "-t",
                  "tmpfs",
                  "-o",
                  "size=" + ROOT_SIZE + ",mode=0700",
                  "tmpfs",
                  berth.root.toString()));
      if (mount.exitCode() != 0)
        throw new IllegalStateException("cannot mount a tmpfs on --root: " + mount);
      mounted = true;
      berth.startDaemon();
      berth.importBusybox();
      Invariants invariants = new Invariants(berth, model, report);
      boolean diskFullDone = false;
      while (report.faultCount() < faults) {
        workloadStep(berth);
        if (random.nextInt(2) == 0) continue; // about one fault per two actions
        String fault = injectFault(berth);
        invariants.check("after fault " + report.faultCount() + " (" + fault + ")");
        if (!diskFullDone && report.faultCount() >= faults / 2) {
          diskFullDone = true;
          diskFullPhase(berth, invariants);
        }
      }
      // a last daemon restart: everything must still add up
      berth.kill9Daemon();
      berth.startDaemon();
      report.fault("kill9-berthd");
      invariants.check("final restart");
    } finally {
      if (mounted) {
        BerthHarness.exec(Duration.ofSeconds(30), List.of("umount", "-l", berth.root.toString()));
        BerthHarness.exec(Duration.ofSeconds(30), List.of("rm", "-rf", berth.base.toString()));
      }
    }
    String text = report.render(seed, Duration.between(t0, Instant.now()), model.all().size());
    System.out.println(text);
    return text;
  }

  public int violations() {
    return report.violations.size();
  }

  // ------------------------------------------------------------------ workload

  private void workloadStep(BerthHarness berth) {
    // Every step draws the same number of random values whatever the daemon's state, so a seed
    // always yields the same plan (what to do, with which parameters); only victims depend on
    // state.
    // The cap on long-running containers uses the plan's own count (started minus stops and
    // removals asked for), not the daemon's list, so it never makes two runs of a seed diverge.
    int pick = random.nextInt(10);
    int instead = 5 + random.nextInt(5);
    if (plannedLive >= MAX_LIVE && pick < 5) pick = instead;
    switch (pick) {
      case 0, 1 -> runShort(berth, null);
      case 2, 3 -> runLong(berth, null, random.nextInt(5));
      case 4 -> runAttachedRm(berth);
      case 5, 6 -> stopOne(berth);
      default -> removeOne(berth);
    }
  }

  private void runShort(BerthHarness berth, String failpoint) {
    int code = random.nextInt(4);
    String policy = random.nextInt(3) == 0 ? "on-failure:2" : "no";
    SoakModel.Tracked t = model.add(code, false);
    List<String> args =
        new ArrayList<>(List.of("run", "-d", "--name", t.name, "--restart", policy));
    if (failpoint != null) args.addAll(List.of("--failpoint", failpoint));
    args.addAll(
        List.of("busybox", "sh", "-c", "sleep 0." + (1 + random.nextInt(9)) + "; exit " + code));
    created(t, berth.berth(args.toArray(String[]::new)));
    report.action("run-short");
  }

  private void runLong(BerthHarness berth, String failpoint, int policyIndex) {
    plannedLive++;
    String policy = List.of("no", "no", "always", "unless-stopped", "on-failure").get(policyIndex);
    SoakModel.Tracked t = model.add(-1, false);
    List<String> args =
        new ArrayList<>(List.of("run", "-d", "--name", t.name, "--restart", policy));
    if (failpoint != null) args.addAll(List.of("--failpoint", failpoint));
    args.addAll(List.of("busybox", "sleep", "3600"));
    created(t, berth.berth(args.toArray(String[]::new)));
    report.action("run-long");
  }

  private void runAttachedRm(BerthHarness berth) {
    int code = random.nextInt(4);
    SoakModel.Tracked t = model.add(code, true);
    Result r =
        berth.berth(
            "run", "--rm", "--name", t.name, "busybox", "sh", "-c", "echo soak; exit " + code);
    t.createConfirmed = true;
    if (r.exitCode() != code)
      report.violation("run-rm-exit", t.name + " expected exit " + code + ": " + r);
    t.removed = true;
    report.action("run-rm");
  }

  private void created(SoakModel.Tracked t, Result r) {
    if (r.exitCode() == 0) {
      t.id = r.out();
      t.createConfirmed = true;
    } else {
      // A failpoint on Start may legitimately fail the start; the container exists then (created).
      t.createConfirmed = r.stderr().contains("failpoint");
    }
  }

  private void stopOne(BerthHarness berth) {
    report.action("stop"); // the plan, whether or not something was running to stop
    plannedLive = Math.max(0, plannedLive - 1);
    SoakModel.Tracked t = pick(live(berth));
    if (t == null) return;
    berth.berth(Duration.ofSeconds(60), "stop", "-t", "1", t.id);
  }

  private void removeOne(BerthHarness berth) {
    List<SoakModel.Tracked> candidates = new ArrayList<>();
    for (SoakModel.Tracked t : model.all())
      if (t.id != null && !t.removed && !t.autoRemove) candidates.add(t);
    report.action("rm-f");
    plannedLive = Math.max(0, plannedLive - 1);
    SoakModel.Tracked t = pick(candidates);
    if (t == null) return;
    Result r = berth.berth(Duration.ofSeconds(60), "rm", "-f", t.id);
    if (r.exitCode() == 0) t.removed = true;
    else t.removalUncertain = true;
  }

  // ------------------------------------------------------------------ faults

  private String injectFault(BerthHarness berth) throws Exception {
    int pick = random.nextInt(10);
    String kind;
    if (pick < 2) kind = killDaemon(berth, false);
    else if (pick < 3) kind = killDaemon(berth, true);
    else if (pick < 5) kind = killShim(berth);
    else if (pick < 7) kind = killContainerProcess(berth);
    else kind = failpointContainer(berth);
    report.fault(kind);
    return kind;
  }

  /**
   * A container fills --root's file system: berthd refuses creates with one line, keeps every
   * invariant while full and across a kill -9 and restart on the full disk, and accepts writes
   * again by itself once the filler is removed. Draws no random numbers (the plan stays the same).
   */
  private void diskFullPhase(BerthHarness berth, Invariants invariants) throws Exception {
    SoakModel.Tracked t = model.add(-1, false);
    created(
        t,
        berth.berth(
            "run",
            "-d",
            "--name",
            t.name,
            "busybox",
            "sh",
            "-c",
            "dd if=/dev/zero of=/fill bs=1M; echo full; sleep 3600"));
    report.fault("disk-full");
    if (t.id == null) {
      report.violation("disk-full", "the filler did not start");
      return;
    }
    if (!BerthHarness.eventually(
        Duration.ofSeconds(90), () -> berth.berth("logs", t.id).stdout().contains("full"))) {
      report.violation("disk-full", "the filler did not fill --root in 90 s");
    }
    Result refused = berth.berth("create", "busybox", "true");
    if (refused.exitCode() != 125
        || refused.stderrLines().size() != 1
        || !refused.stderr().contains("no space left on device")) {
      report.violation("disk-full-refusal", "a create on a full disk: " + refused);
    }
    invariants.check("disk full");
    berth.kill9Daemon();
    berth.startDaemon();
    invariants.check("disk full, after a kill -9 and restart");
    Result rm = berth.berth(Duration.ofSeconds(60), "rm", "-f", t.id);
    if (rm.exitCode() == 0) t.removed = true;
    else report.violation("disk-full", "removing the filler: " + rm);
    if (!BerthHarness.eventually(
        Duration.ofSeconds(30),
        () -> berth.berth("run", "--rm", "busybox", "true").exitCode() == 0)) {
      report.violation("disk-full-recovery", "writes still refused 30 s after space returned");
    }
    invariants.check("disk full, space back");
  }

  /** kill -9 berthd, idle or while a CLI call is in flight, then start it again. */
  private String killDaemon(BerthHarness berth, boolean midRpc) throws Exception {
    CompletableFuture<Void> inFlight = CompletableFuture.completedFuture(null);
    SoakModel.Tracked victim = null;
    if (midRpc) {
      int what = random.nextInt(3);
      SoakModel.Tracked running = pick(live(berth));
      if (what == 0 || running == null) {
        SoakModel.Tracked t = model.add(-1, false);
        inFlight =
            CompletableFuture.runAsync(
                () ->
                    created(
                        t, berth.berth("run", "-d", "--name", t.name, "busybox", "sleep", "3600")));
      } else if (what == 1) {
        victim = running;
        SoakModel.Tracked v = running;
        inFlight = CompletableFuture.runAsync(() -> berth.berth("stop", "-t", "1", v.id));
      } else {
        victim = running;
        victim.removalUncertain = true; // the answer may never come
        SoakModel.Tracked v = running;
        inFlight =
            CompletableFuture.runAsync(
                () -> {
                  if (berth.berth("rm", "-f", v.id).exitCode() == 0) v.removed = true;
                });
      }
      Thread.sleep(50 + random.nextInt(400));
    }
    berth.kill9Daemon();
    inFlight.get();
    berth.startDaemon();
    return midRpc ? "kill9-berthd-mid-rpc" : "kill9-berthd";
  }

  private String killShim(BerthHarness berth) throws Exception {
    SoakModel.Tracked t = runningVictim(berth);
    if (t == null) return killDaemon(berth, false);
    long shim = berth.shimPid(t.id);
    if (shim > 0) ProcessHandle.of(shim).ifPresent(ProcessHandle::destroyForcibly);
    awaitNotRunningOrRestarted(berth, t);
    return "kill9-shim";
  }

  private String killContainerProcess(BerthHarness berth) throws Exception {
    SoakModel.Tracked t = runningVictim(berth);
    if (t == null) return killDaemon(berth, false);
    long pid = berth.inspect(t.id).path("pid").asLong();
    if (pid > 0)
      BerthHarness.exec(Duration.ofSeconds(10), List.of("kill", "-9", Long.toString(pid)));
    awaitNotRunningOrRestarted(berth, t);
    return "kill9-container-init";
  }

  /**
   * A running container to hurt; when none runs, one is started first. Null if even that failed.
   */
  private SoakModel.Tracked runningVictim(BerthHarness berth) {
    int first = random.nextInt(Integer.MAX_VALUE);
    int policy = random.nextInt(5);
    int second = random.nextInt(Integer.MAX_VALUE);
    SoakModel.Tracked t = pickWith(first, live(berth));
    if (t != null) return t;
    runLong(berth, null, policy);
    plannedLive--; // started because nothing ran: the daemon's state, not the plan, asked for it
    return pickWith(second, live(berth));
  }

  private String failpointContainer(BerthHarness berth) {
    String fp = FAILPOINTS.get(random.nextInt(FAILPOINTS.size()));
    if (random.nextBoolean()) runShort(berth, fp);
    else runLong(berth, fp, random.nextInt(5));
    return "failpoint " + fp.substring(0, fp.indexOf('='));
  }

  // ------------------------------------------------------------------ helpers

  private void awaitNotRunningOrRestarted(BerthHarness berth, SoakModel.Tracked t) {
    long before = berth.inspect(t.id).path("restartCount").asLong();
    BerthHarness.eventually(
        Duration.ofSeconds(10),
        () -> {
          JsonNode c = berth.inspect(t.id);
          return !c.path("state").asText().equals("running")
              || c.path("restartCount").asLong() > before;
        });
  }

  /** Containers of the model that the daemon lists as running. */
  private List<SoakModel.Tracked> live(BerthHarness berth) {
    List<SoakModel.Tracked> out = new ArrayList<>();
    Result r = berth.berth("ps", "--format", "json");
    if (r.exitCode() != 0) return out;
    for (JsonNode c : BerthHarness.jsonLines(r.stdout())) {
      SoakModel.Tracked t = model.byName(c.path("name").asText());
      if (t != null && !t.removed) {
        if (t.id == null) t.id = c.path("id").asText();
        out.add(t);
      }
    }
    return out;
  }

  /** One random draw whether or not the list is empty (see workloadStep). */
  private <T> T pick(List<T> list) {
    return pickWith(random.nextInt(Integer.MAX_VALUE), list);
  }

  private static <T> T pickWith(int draw, List<T> list) {
    return list.isEmpty() ? null : list.get(draw % list.size());
  }

  /** ops/chaos/soak.sh runs this through ChaosSoakIT; the report also goes to a file. */
  static void writeReport(Path file, String text) throws Exception {
    Files.createDirectories(file.getParent());
    Files.writeString(file, text);
  }
}
