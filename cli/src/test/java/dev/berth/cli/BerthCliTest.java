package dev.berth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import dev.berth.api.v1.Container;
import dev.berth.api.v1.CreateRequest;
import dev.berth.api.v1.DeleteRequest;
import dev.berth.api.v1.Event;
import dev.berth.api.v1.ExecOutput;
import dev.berth.api.v1.ExecRequest;
import dev.berth.api.v1.Image;
import dev.berth.api.v1.ImportRequest;
import dev.berth.api.v1.KillRequest;
import dev.berth.api.v1.ListRequest;
import dev.berth.api.v1.LogEntry;
import dev.berth.api.v1.LogsRequest;
import dev.berth.api.v1.RemoveImageRequest;
import dev.berth.api.v1.StartRequest;
import dev.berth.api.v1.StopRequest;
import dev.berth.api.v1.SubscribeRequest;
import dev.berth.api.v1.WaitRequest;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI against a real grpc-java server on a unix socket, in-process through BerthCli.run. */
class BerthCliTest {
  @TempDir Path dir;
  FakeBerthd daemon;
  final Map<String, String> env = new HashMap<>();
  final ObjectMapper json = new ObjectMapper();

  record Result(int code, String out, String err) {
    List<String> errLines() {
      return err.isEmpty() ? List.of() : List.of(err.split("\n"));
    }
  }

  /** grpc sets SO_KEEPALIVE on every channel; netty warns that unix sockets have no such option. */
  static final java.util.logging.Logger NETTY_BOOTSTRAP_LOG =
      java.util.logging.Logger.getLogger("io.grpc.netty.shaded.io.netty.bootstrap");

  @org.junit.jupiter.api.BeforeAll
  static void quietNetty() {
    NETTY_BOOTSTRAP_LOG.setLevel(java.util.logging.Level.SEVERE);
  }

  @BeforeEach
  void start() throws Exception {
    daemon = new FakeBerthd(dir.resolve("berth.sock"));
    env.put("BERTH_SOCKET", daemon.socket.toString());
  }

  @AfterEach
  void stop() throws Exception {
    daemon.close();
  }

  Result berth(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        BerthCli.run(
            args,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            env);
    return new Result(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  static LogEntry log(String stream, String text) {
    return LogEntry.newBuilder()
        .setStream(stream)
        .setTime("2024-01-01T00:00:00.000000001Z")
        .setData(ByteString.copyFromUtf8(text))
        .build();
  }

  // --- run / create ---------------------------------------------------------------------------

  @Test
  void run_detached_creates_starts_and_prints_the_full_id() {
    Result r =
        berth(
            "run",
            "-d",
            "--rm",
            "--name",
            "web",
            "-e",
            "A=1",
            "-e",
            "B=two words",
            "-w",
            "/srv",
            "-u",
            "1000:1000",
            "--hostname",
            "h1",
            "--entrypoint",
            "/bin/sh",
            "busybox",
            "-c",
            "echo hi");
    assertEquals(0, r.code(), r.err());
    assertEquals(FakeBerthd.ID + "\n", r.out());
    assertEquals("", r.err());
    CreateRequest c = daemon.requests(CreateRequest.class).get(0);
    assertEquals("busybox", c.getImage());
    assertEquals("web", c.getName());
    assertTrue(c.getAutoRemove());
    assertEquals("h1", c.getHostname());
    assertEquals(List.of("/bin/sh"), c.getProcess().getEntrypointList());
    assertEquals(List.of("-c", "echo hi"), c.getProcess().getCmdList());
    assertEquals(List.of("A=1", "B=two words"), c.getProcess().getEnvList());
    assertEquals("/srv", c.getProcess().getWorkingDir());
    assertEquals("1000:1000", c.getProcess().getUser());
    assertEquals(FakeBerthd.ID, daemon.requests(StartRequest.class).get(0).getRef());
    // Detached: nobody waits or streams.
    assertTrue(daemon.requests(WaitRequest.class).isEmpty());
    assertTrue(daemon.requests(LogsRequest.class).isEmpty());
  }

  @Test
  void run_keeps_flags_after_the_image_as_container_arguments() {
    Result r = berth("run", "-d", "busybox", "sh", "-c", "echo hi", "--rm", "-d");
    assertEquals(0, r.code(), r.err());
    CreateRequest c = daemon.requests(CreateRequest.class).get(0);
    assertEquals(List.of("sh", "-c", "echo hi", "--rm", "-d"), c.getProcess().getCmdList());
    assertFalse(c.getAutoRemove());
    assertEquals("", c.getName());
  }

  @Test
  void bare_env_name_copies_the_callers_value_or_is_dropped() {
    env.put("FROM_SHELL", "yes");
    assertEquals(0, berth("run", "-d", "-e", "FROM_SHELL", "-e", "NOT_SET", "busybox").code());
    assertEquals(
        List.of("FROM_SHELL=yes"),
        daemon.requests(CreateRequest.class).get(0).getProcess().getEnvList());
  }

  @Test
  void attached_run_streams_both_streams_and_exits_with_the_containers_code() {
    daemon.logs = List.of(log("stdout", "hi\n"), log("stderr", "oops\n"), log("stdout", "bye\n"));
    daemon.exitCode = 3;
    Result r = berth("run", "--rm", "busybox", "sh", "-c", "echo hi");
    assertEquals(3, r.code(), r.err());
    assertEquals("hi\nbye\n", r.out());
    assertEquals("oops\n", r.err());
    assertEquals(
        List.of("sh", "-c", "echo hi"),
        daemon.requests(CreateRequest.class).get(0).getProcess().getCmdList());
    assertTrue(daemon.requests(CreateRequest.class).get(0).getAutoRemove());
    assertEquals(FakeBerthd.ID, daemon.requests(WaitRequest.class).get(0).getRef());
    LogsRequest logs = daemon.requests(LogsRequest.class).get(0);
    assertEquals(FakeBerthd.ID, logs.getRef());
    assertTrue(logs.getFollow());
    // The CLI attaches (Wait, Logs) before Start, but the server may run the handlers in any
    // order; the daemon copes with either (a follow opened on a created container lasts through
    // its next run, and a wait after a --rm removal is answered from the tombstone).
    assertTrue(
        daemon.methods().containsAll(List.of("Create", "Wait", "Logs", "Start")),
        daemon.methods().toString());
  }

  @Test
  void attached_run_still_reports_the_exit_code_when_the_removed_containers_log_is_gone() {
    daemon.logsEnd = Status.NOT_FOUND.withDescription("no such container: x");
    daemon.exitCode = 0;
    Result r = berth("run", "--rm", "busybox", "true");
    assertEquals(0, r.code());
    assertEquals("", r.err());
  }

  @Test
  void run_whose_start_fails_prints_one_error_and125() {
    daemon.failures.put(
        "Start",
        Status.FAILED_PRECONDITION.withDescription(
            "runc create failed: exec: \"nope\": executable file not found in $PATH"));
    Result r = berth("run", "busybox", "nope");
    assertEquals(125, r.code());
    assertEquals(
        List.of("Error: runc create failed: exec: \"nope\": executable file not found in $PATH"),
        r.errLines());
    assertEquals("", r.out());
  }

  @Test
  void create_prints_the_id_and_accepts_rm() {
    Result r = berth("create", "--rm", "--name", "db", "-l", "tier=db", "busybox", "sleep", "1000");
    assertEquals(0, r.code(), r.err());
    assertEquals(FakeBerthd.ID + "\n", r.out());
    CreateRequest c = daemon.requests(CreateRequest.class).get(0);
    assertTrue(c.getAutoRemove());
    assertEquals(Map.of("tier", "db"), c.getLabelsMap());
    assertEquals(List.of("sleep", "1000"), c.getProcess().getCmdList());
    assertTrue(daemon.requests(StartRequest.class).isEmpty());
  }

  @Test
  void restart_policy_and_failpoints_are_sent_as_given() {
    Result r =
        berth(
            "run",
            "-d",
            "--restart",
            "on-failure:3",
            "--failpoint",
            "Start=delay(200)",
            "--failpoint",
            "Kill=1*error",
            "busybox",
            "true");
    assertEquals(0, r.code(), r.err());
    CreateRequest c = daemon.requests(CreateRequest.class).get(0);
    assertEquals("on-failure", c.getRestart().getName());
    assertEquals(3, c.getRestart().getMaxRetries());
    assertEquals(Map.of("Start", "delay(200)", "Kill", "1*error"), c.getFailpointsMap());
  }

  @Test
  void malformed_restart_and_failpoint_are_one_line_errors_and_send_nothing() {
    Result r = berth("run", "--restart", "on-failure:x", "busybox", "true");
    assertEquals(125, r.code());
    assertEquals(
        List.of(
            "Error: invalid restart policy \"on-failure:x\": the maximum retry count must be a number >= 0"),
        r.errLines());
    Result f = berth("create", "--failpoint", "Kill", "busybox", "true");
    assertEquals(125, f.code());
    assertEquals(List.of("Error: invalid failpoint \"Kill\": expected RPC=ACTION"), f.errLines());
    assertTrue(daemon.requests(CreateRequest.class).isEmpty());
    // The names too: the CLI parses with the daemon's parser (core's RestartPolicy).
    Result n = berth("run", "--restart", "sometimes", "busybox", "true");
    assertEquals(125, n.code());
    assertEquals(
        List.of(
            "Error: invalid restart policy \"sometimes\": use no, on-failure[:MAX], always or unless-stopped"),
        n.errLines());
    assertTrue(daemon.requests(CreateRequest.class).isEmpty());
  }

  @Test
  void unknown_signals_are_refused_per_container_and_send_nothing() {
    Result kill = berth("kill", "-s", "FOO", "web", "db");
    assertEquals(125, kill.code());
    assertEquals("", kill.out());
    assertEquals(
        List.of("Error: invalid signal: FOO", "Error: invalid signal: FOO"), kill.errLines());
    assertTrue(daemon.requests(KillRequest.class).isEmpty());
    Result stop = berth("stop", "-s", "65", "web");
    assertEquals(125, stop.code());
    assertEquals(List.of("Error: invalid signal: 65"), stop.errLines());
    assertTrue(daemon.requests(StopRequest.class).isEmpty());
  }

  @Test
  void seccomp_profile_files_are_sent_as_their_content() throws Exception {
    Path profile = dir.resolve("profile.json");
    String content = "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": []}\n";
    java.nio.file.Files.writeString(profile, content);
    Result r =
        berth(
            "create",
            "--security-opt",
            "seccomp=" + profile,
            "--security-opt",
            "no-new-privileges",
            "busybox",
            "true");
    assertEquals(0, r.code(), r.err());
    assertEquals(
        List.of("seccomp=" + content, "no-new-privileges"),
        daemon.requests(CreateRequest.class).get(0).getSecurityOptsList());
    r =
        berth(
            "run",
            "-d",
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "apparmor=x",
            "busybox",
            "true");
    assertEquals(0, r.code(), r.err());
    // the daemon judges what it does not know (here the fake accepts it)
    assertEquals(
        List.of("seccomp=unconfined", "apparmor=x"),
        daemon.requests(CreateRequest.class).get(1).getSecurityOptsList());
  }

  @Test
  void unreadable_seccomp_profiles_are_one_line_errors_and_send_nothing() throws Exception {
    Path missing = dir.resolve("missing.json");
    Result r = berth("run", "--security-opt", "seccomp=" + missing, "busybox", "true");
    assertEquals(125, r.code());
    assertEquals(
        List.of("Error: cannot read seccomp profile " + missing + ": no such file"), r.errLines());
    r = berth("create", "--security-opt", "seccomp=" + dir, "busybox", "true");
    assertEquals(125, r.code());
    assertEquals(1, r.errLines().size(), r.err());
    assertTrue(
        r.errLines().get(0).startsWith("Error: cannot read seccomp profile " + dir + ": "),
        r.err());
    Path big = dir.resolve("big.json");
    java.nio.file.Files.write(big, new byte[ContainerCommands.MAX_SECCOMP_PROFILE_BYTES + 1]);
    r = berth("create", "--security-opt", "seccomp=" + big, "busybox", "true");
    assertEquals(125, r.code());
    assertEquals(
        List.of("Error: seccomp profile " + big + " is larger than 1024 KiB"), r.errLines());
    assertTrue(daemon.requests(CreateRequest.class).isEmpty());
  }

  // --- events ---------------------------------------------------------------------------------

  @Test
  void events_json_has_exit_code_only_on_exits_and_passes_since_and_filters() throws Exception {
    daemon.events =
        List.of(
            Event.newBuilder()
                .setSeq(1)
                .setTime("2026-01-01T00:00:00Z")
                .setType("start")
                .setContainer(FakeBerthd.ID)
                .setPid(42)
                .build(),
            Event.newBuilder()
                .setSeq(2)
                .setTime("2026-01-01T00:00:01Z")
                .setType("exit")
                .setContainer(FakeBerthd.ID)
                .setExitCode(0)
                .build());
    Result r =
        berth(
            "events",
            "--since",
            "0",
            "--filter",
            "container=web",
            "--format",
            "json",
            "--no-follow");
    assertEquals(0, r.code(), r.err());
    List<String> lines = r.out().lines().toList();
    assertEquals(2, lines.size());
    var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
    var start = mapper.readTree(lines.get(0));
    assertEquals(42, start.get("pid").asInt());
    assertFalse(start.has("exitCode"));
    var exit = mapper.readTree(lines.get(1));
    assertEquals(2, exit.get("seq").asLong());
    assertEquals("exit", exit.get("type").asText());
    assertEquals(0, exit.get("exitCode").asInt(), "an exit code of 0 is present, not omitted");
    SubscribeRequest sent = daemon.requests(SubscribeRequest.class).get(0);
    assertEquals(List.of("container=web"), sent.getFiltersList());
    assertTrue(sent.getHistoryOnly());
    Result plain = berth("events", "--since", "1", "--no-follow");
    assertEquals("2026-01-01T00:00:01Z seq=2 exit " + FakeBerthd.ID + " exitCode=0\n", plain.out());
  }

  // --- lifecycle ------------------------------------------------------------------------------

  @Test
  void lifecycle_commands_echo_the_refs_they_were_given() {
    Result start = berth("start", "web", "4f3c");
    assertEquals(0, start.code(), start.err());
    assertEquals("web\n4f3c\n", start.out());
    assertEquals(
        List.of("web", "4f3c"),
        daemon.requests(StartRequest.class).stream().map(StartRequest::getRef).toList());

    Result stop = berth("stop", "-t", "3", "web");
    assertEquals("web\n", stop.out());
    StopRequest s = daemon.requests(StopRequest.class).get(0);
    assertEquals(3, s.getTimeoutSeconds());
    assertEquals(
        -1, berthAndGet(() -> berth("stop", "db"), StopRequest.class, 1).getTimeoutSeconds());

    Result kill = berth("kill", "-s", "HUP", "web");
    assertEquals("web\n", kill.out());
    assertEquals("HUP", daemon.requests(KillRequest.class).get(0).getSignal());
    assertEquals("KILL", berthAndGet(() -> berth("kill", "web"), KillRequest.class, 1).getSignal());

    Result rm = berth("rm", "-f", "web");
    assertEquals("web\n", rm.out());
    DeleteRequest d = daemon.requests(DeleteRequest.class).get(0);
    assertEquals("web", d.getRef());
    assertTrue(d.getForce());
  }

  private <T> T berthAndGet(Runnable call, Class<T> type, int index) {
    call.run();
    return daemon.requests(type).get(index);
  }

  @Test
  void wait_prints_one_exit_code_per_container() {
    daemon.started.countDown();
    daemon.exitCode = 137;
    Result r = berth("wait", "a", "b");
    assertEquals(0, r.code());
    assertEquals("137\n137\n", r.out());
  }

  @Test
  void not_found_from_the_daemon_is_one_error_line_and125() {
    daemon.failures.put("Start", Status.NOT_FOUND.withDescription("no such container: nope"));
    Result r = berth("start", "nope");
    assertEquals(125, r.code());
    assertEquals("Error: no such container: nope\n", r.err());
    assertEquals("", r.out());
  }

  @Test
  void a_failure_for_one_ref_does_not_stop_the_others() {
    daemon.containers =
        List.of(
            Container.newBuilder().setId(FakeBerthd.ID).setName("web").setState("running").build());
    Result r = berth("inspect", "web", "ghost");
    assertEquals(125, r.code());
    assertEquals(List.of("Error: no such container: ghost"), r.errLines());
    assertEquals(1, parse(r.out()).size());
  }

  // --- ps / inspect ---------------------------------------------------------------------------

  private void threeContainers() {
    Instant now = Instant.now();
    daemon.containers =
        List.of(
            Container.newBuilder()
                .setId("a".repeat(64))
                .setName("runner")
                .setImage("busybox")
                .setState("running")
                .setPid(42)
                .setExitCode(-1)
                .setCreatedAt(now.minusSeconds(10).toString())
                .setStartedAt(now.minusSeconds(3).toString())
                .addAllCommand(List.of("sh", "-c", "while true; do sleep 1; done"))
                .putLabels("b", "2")
                .putLabels("a", "1")
                .setBundle("/var/lib/berth/containers/" + "a".repeat(64))
                .setShimPid(41)
                .setShimAddress("/run/berth/s/x.sock")
                .build(),
            Container.newBuilder()
                .setId("b".repeat(64))
                .setName("done")
                .setImage("alpine:3")
                .setState("stopped")
                .setExitCode(0)
                .setCreatedAt(now.minusSeconds(20).toString())
                .setStartedAt(now.minusSeconds(15).toString())
                .setFinishedAt(now.minusSeconds(2).toString())
                .addAllCommand(List.of("true"))
                .setAutoRemove(true)
                .build(),
            Container.newBuilder()
                .setId("c".repeat(64))
                .setName("fresh")
                .setImage("busybox")
                .setState("created")
                .setCreatedAt(now.minusSeconds(5).toString())
                .addAllCommand(List.of("echo", "hi"))
                .build());
  }

  @Test
  void ps_shows_running_containers_as_aDocker_style_table() {
    threeContainers();
    Result r = berth("ps");
    assertEquals(0, r.code(), r.err());
    assertFalse(daemon.requests(ListRequest.class).get(0).getAll());
    String[] lines = r.out().split("\n");
    assertEquals(2, lines.length, r.out());
    assertTrue(lines[0].matches("CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +NAMES"), lines[0]);
    assertTrue(
        lines[1].matches(
            "a{12} +busybox +\"sh -c while true; d…\" +10 seconds ago +Up 3 seconds +runner"),
        lines[1]);
    // Columns line up: each header starts where its values start.
    assertEquals(lines[0].indexOf("STATUS"), lines[1].indexOf("Up 3"));
  }

  @Test
  void ps_all_includes_stopped_and_created_newest_first() {
    threeContainers();
    Result r = berth("ps", "-a");
    assertTrue(daemon.requests(ListRequest.class).get(0).getAll());
    String[] lines = r.out().split("\n");
    assertEquals(4, lines.length, r.out());
    assertTrue(lines[1].contains("Created") && lines[1].endsWith("fresh"), lines[1]);
    assertTrue(lines[2].contains("Up 3 seconds"), lines[2]);
    assertTrue(
        lines[3].contains("\"true\"") && lines[3].contains("Exited (0) 2 seconds ago"), lines[3]);
  }

  @Test
  void ps_json_is_one_object_per_line() throws Exception {
    threeContainers();
    Result r = berth("ps", "-a", "--format", "json");
    assertEquals(0, r.code(), r.err());
    String[] lines = r.out().split("\n");
    assertEquals(3, lines.length);
    JsonNode fresh = json.readTree(lines[0]);
    assertEquals(
        List.of(
            "id",
            "name",
            "image",
            "imageId",
            "state",
            "pid",
            "exitCode",
            "createdAt",
            "startedAt",
            "finishedAt",
            "command",
            "autoRemove",
            "restartCount",
            "restartPolicy"),
        fieldNames(fresh));
    assertEquals("c".repeat(64), fresh.get("id").asText());
    assertEquals("created", fresh.get("state").asText());
    assertEquals("", fresh.get("startedAt").asText());
    assertEquals(0, fresh.get("restartCount").asInt());
    JsonNode running = json.readTree(lines[1]);
    assertEquals(42, running.get("pid").asInt());
    assertEquals("while true; do sleep 1; done", running.get("command").get(2).asText());
    assertTrue(json.readTree(lines[2]).get("autoRemove").asBoolean());
  }

  @Test
  void ps_rejects_unknown_formats() {
    Result r = berth("ps", "--format", "{{.ID}}");
    assertEquals(125, r.code());
    assertEquals(1, r.errLines().size());
  }

  @Test
  void inspect_prints_aPretty_json_array_with_the_full_fields() throws Exception {
    threeContainers();
    Result r = berth("inspect", "runner", "bbbb");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("[\n    {\n        \"id\": \""), r.out());
    JsonNode arr = parse(r.out());
    assertEquals(2, arr.size());
    JsonNode runner = arr.get(0);
    assertEquals(
        List.of(
            "id",
            "name",
            "image",
            "imageId",
            "state",
            "pid",
            "exitCode",
            "createdAt",
            "startedAt",
            "finishedAt",
            "command",
            "autoRemove",
            "restartCount",
            "restartPolicy",
            "bundle",
            "shimPid",
            "shimAddress",
            "labels",
            "error",
            "seccomp"),
        fieldNames(runner));
    assertEquals(41, runner.get("shimPid").asInt());
    assertEquals("1", runner.get("labels").get("a").asText());
    assertEquals(List.of("a", "b"), fieldNames(runner.get("labels")));
    assertEquals("done", arr.get(1).get("name").asText());
  }

  @Test
  void inspect_of_aMissing_container_prints_an_empty_array_and_one_error() throws Exception {
    Result r = berth("inspect", "ghost");
    assertEquals(125, r.code());
    assertEquals(0, parse(r.out()).size());
    assertEquals("Error: no such container: ghost\n", r.err());
  }

  // --- logs / exec ----------------------------------------------------------------------------

  @Test
  void logs_splits_stdout_and_stderr() {
    daemon.logs = List.of(log("stdout", "one\n"), log("stderr", "warn\n"), log("stdout", "two"));
    Result r = berth("logs", "-f", "web");
    assertEquals(0, r.code(), r.err());
    assertEquals("one\ntwo", r.out());
    assertEquals("warn\n", r.err());
    assertTrue(daemon.requests(LogsRequest.class).get(0).getFollow());
    berth("logs", "web");
    assertFalse(daemon.requests(LogsRequest.class).get(1).getFollow());
  }

  @Test
  void exec_streams_output_and_exits_with_the_process_code() {
    daemon.execOutput =
        List.of(
            ExecOutput.newBuilder().setStdout(ByteString.copyFromUtf8("out\n")).build(),
            ExecOutput.newBuilder().setStderr(ByteString.copyFromUtf8("err\n")).build(),
            ExecOutput.newBuilder().setExitCode(7).build());
    Result r =
        berth("exec", "-e", "X=1", "-w", "/tmp", "-u", "nobody", "web", "sh", "-c", "exit 7");
    assertEquals(7, r.code(), r.err());
    assertEquals("out\n", r.out());
    assertEquals("err\n", r.err());
    ExecRequest e = daemon.requests(ExecRequest.class).get(0);
    assertEquals("web", e.getRef());
    assertEquals(List.of("sh", "-c", "exit 7"), e.getArgsList());
    assertEquals(List.of("X=1"), e.getEnvList());
    assertEquals("/tmp", e.getWorkingDir());
    assertEquals("nobody", e.getUser());
  }

  @Test
  void exec_without_an_exit_code_is_an_error() {
    daemon.execOutput =
        List.of(ExecOutput.newBuilder().setStdout(ByteString.copyFromUtf8("partial")).build());
    Result r = berth("exec", "web", "true");
    assertEquals(125, r.code());
    assertEquals(List.of("Error: exec stream ended without an exit code"), r.errLines());
  }

  // --- images ---------------------------------------------------------------------------------

  private void twoImages() {
    Instant now = Instant.now();
    daemon.images =
        List.of(
            Image.newBuilder()
                .setId("sha256:" + "1".repeat(64))
                .addNames("busybox:latest")
                .addNames("registry:5000/tools/busybox:1.36")
                .setSize(4_261_000)
                .setCreatedAt(now.minusSeconds(3 * 86400).toString())
                .setManifestDigest("sha256:" + "9".repeat(64))
                .build(),
            Image.newBuilder()
                .setId("sha256:" + "2".repeat(64))
                .setSize(145_000_000)
                .setCreatedAt(now.minusSeconds(7200).toString())
                .build());
  }

  @Test
  void images_table_has_one_row_per_name() {
    twoImages();
    Result r = berth("images");
    assertEquals(0, r.code(), r.err());
    String[] lines = r.out().split("\n");
    assertTrue(lines[0].matches("REPOSITORY +TAG +IMAGE ID +CREATED +SIZE"), lines[0]);
    assertTrue(lines[1].matches("<none> +<none> +2{12} +2 hours ago +145MB"), lines[1]);
    assertTrue(lines[2].matches("busybox +latest +1{12} +3 days ago +4.26MB"), lines[2]);
    assertTrue(
        lines[3].matches("registry:5000/tools/busybox +1.36 +1{12} +3 days ago +4.26MB"), lines[3]);
  }

  @Test
  void images_json_is_one_object_per_line() throws Exception {
    twoImages();
    Result r = berth("images", "--format", "json");
    String[] lines = r.out().split("\n");
    assertEquals(2, lines.length);
    JsonNode busybox = json.readTree(lines[1]);
    assertEquals(
        List.of("id", "names", "size", "createdAt", "manifestDigest", "repoDigests"),
        fieldNames(busybox));
    assertEquals("busybox:latest", busybox.get("names").get(0).asText());
    assertEquals(4_261_000, busybox.get("size").asLong());
  }

  @Test
  void import_sends_an_absolute_path_and_prints_name_and_id() {
    twoImages();
    Result r = berth("image", "import", "images/busybox.tar", "--name", "busybox:latest");
    assertEquals(0, r.code(), r.err());
    ImportRequest req = daemon.requests(ImportRequest.class).get(0);
    assertEquals(
        Path.of("images/busybox.tar").toAbsolutePath().normalize().toString(), req.getPath());
    assertEquals("busybox:latest", req.getName());
    String id1 = "sha256:" + "1".repeat(64);
    assertEquals(
        "busybox:latest ("
            + id1
            + ")\nregistry:5000/tools/busybox:1.36 ("
            + id1
            + ")\n<none> (sha256:"
            + "2".repeat(64)
            + ")\n",
        r.out());
  }

  @Test
  void rmi_prints_untagged_and_deleted() {
    daemon.removed = List.of("busybox:latest", "sha256:" + "1".repeat(64));
    Result r = berth("rmi", "-f", "busybox");
    assertEquals(0, r.code(), r.err());
    assertEquals("Untagged: busybox:latest\nDeleted: sha256:" + "1".repeat(64) + "\n", r.out());
    RemoveImageRequest req = daemon.requests(RemoveImageRequest.class).get(0);
    assertEquals("busybox", req.getRef());
    assertTrue(req.getForce());
  }

  @Test
  void rmi_of_an_image_in_use_is_one_error_line() {
    daemon.failures.put(
        "RemoveImage",
        Status.FAILED_PRECONDITION.withDescription(
            "image busybox:latest is used by container web"));
    Result r = berth("rmi", "busybox");
    assertEquals(125, r.code());
    assertEquals("Error: image busybox:latest is used by container web\n", r.err());
  }

  // --- connection, usage, version -------------------------------------------------------------

  @Test
  void no_daemon_is_the_exact_cannot_connect_line() {
    String missing = dir.resolve("missing.sock").toString();
    Result r = berth("--socket", missing, "ps");
    assertEquals(125, r.code());
    assertEquals("Error: cannot connect to berthd at " + missing + ": is it running?\n", r.err());
    assertEquals("", r.out());
  }

  @Test
  void a_connection_that_breaks_mid_call_is_one_lost_connection_line_and_is_not_retried()
      throws Exception {
    // A listener that takes the connection, reads the client's first bytes and hangs up, as a
    // berthd killed mid-call does. The call must fail (grpc must not send it again on a new
    // connection) with one line that says what happened.
    java.nio.file.Path path = dir.resolve("dying.sock");
    java.util.concurrent.atomic.AtomicInteger accepted =
        new java.util.concurrent.atomic.AtomicInteger();
    try (java.nio.channels.ServerSocketChannel server =
        java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
      server.bind(java.net.UnixDomainSocketAddress.of(path));
      Thread t =
          new Thread(
              () -> {
                try {
                  while (true) {
                    try (java.nio.channels.SocketChannel c = server.accept()) {
                      accepted.incrementAndGet();
                      // The whole request (preface, settings, headers, message) has arrived when
                      // the
                      // client goes quiet; then the "daemon" dies without an answer.
                      java.nio.ByteBuffer in = java.nio.ByteBuffer.allocate(1 << 16);
                      // An HTTP/2 server's first frame, an empty SETTINGS: the connection is then
                      // ready.
                      c.write(java.nio.ByteBuffer.wrap(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}));
                      c.configureBlocking(false);
                      long quietSince = System.nanoTime();
                      while (System.nanoTime() - quietSince < 300_000_000L) {
                        if (c.read(in) > 0) quietSince = System.nanoTime();
                        Thread.sleep(10);
                      }
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                } catch (java.io.IOException closed) {
                  // the test is over
                }
              });
      t.setDaemon(true);
      t.start();
      Result r = berth("--socket", path.toString(), "start", "abc");
      assertEquals(125, r.code());
      assertEquals(
          "Error: lost the connection to berthd at " + path + " (did it stop?)\n", r.err());
      assertEquals(1, accepted.get(), "the call was sent again");
    }
  }

  @Test
  void no_daemon_from_the_environment_socket_too() {
    String missing = dir.resolve("gone.sock").toString();
    env.put("BERTH_SOCKET", missing);
    Result r = berth("rm", "a", "b", "c");
    assertEquals(125, r.code());
    // One line, not one per ref.
    assertEquals("Error: cannot connect to berthd at " + missing + ": is it running?\n", r.err());
  }

  @Test
  void unknown_flag_is_aShort_usage_error_with125() {
    Result r = berth("ps", "--bogus");
    assertEquals(125, r.code());
    assertEquals(List.of("Error: Unknown option: '--bogus' (see 'berth ps --help')"), r.errLines());
    assertTrue(daemon.requests.isEmpty());
  }

  @Test
  void missing_image_and_unknown_command_are_usage_errors() {
    Result noImage = berth("run", "-d");
    assertEquals(125, noImage.code());
    assertEquals(
        List.of("Error: Missing required parameter: 'IMAGE' (see 'berth run --help')"),
        noImage.errLines());
    Result unknown = berth("frobnicate");
    assertEquals(125, unknown.code());
    assertEquals(
        List.of("Error: unknown command \"frobnicate\" for \"berth\" (see 'berth --help')"),
        unknown.errLines());
    assertTrue(daemon.requests.isEmpty());
  }

  @Test
  void only_the_invoked_command_is_registered_but_help_lists_all() {
    assertEquals("ps", BerthCli.invokedCommand(new String[] {"--socket", "/s", "ps", "-a"}));
    assertEquals(
        "run", BerthCli.invokedCommand(new String[] {"--socket=/s", "run", "busybox", "ps"}));
    assertEquals(null, BerthCli.invokedCommand(new String[] {"--help"}));
    assertEquals(null, BerthCli.invokedCommand(new String[] {"frobnicate"}));
    assertEquals(null, BerthCli.invokedCommand(new String[] {"--socket"}));
    Result r = berth("--socket=" + daemon.socket, "ps", "-q");
    assertEquals(0, r.code(), r.err());
    String help = berth("--help").out();
    for (String name : BerthCli.COMMANDS) assertTrue(help.contains("  " + name + " "), name);
  }

  @Test
  void help_needs_no_daemon() {
    env.put("BERTH_SOCKET", dir.resolve("missing.sock").toString());
    Result r = berth("--help");
    assertEquals(0, r.code());
    assertTrue(r.out().contains("Usage: berth"), r.out());
    assertEquals("", r.err());
    Result run = berth("run", "--help");
    assertEquals(0, run.code());
    assertTrue(run.out().contains("IMAGE"), run.out());
  }

  @Test
  void version_shows_client_and_server() {
    Result r = berth("version");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("Client:\n Version:"), r.out());
    assertTrue(r.out().contains(" Runtime:      runc 1.1.12\n"), r.out());
  }

  @Test
  void at_sign_arguments_are_not_expanded_as_argument_files() {
    assertEquals(0, berth("run", "-d", "busybox", "echo", "@user").code());
    assertEquals(
        List.of("echo", "@user"),
        daemon.requests(CreateRequest.class).get(0).getProcess().getCmdList());
  }

  private JsonNode parse(String s) {
    try {
      return json.readTree(s);
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + s, e);
    }
  }

  private static List<String> fieldNames(JsonNode n) {
    List<String> names = new ArrayList<>();
    n.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
