package dev.berth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import dev.berth.api.test.v1.CreateContainerWithFailpointsRequest;
import dev.berth.api.v1.Container;
import dev.berth.api.v1.ContainerLogsRequest;
import dev.berth.api.v1.ContainerLogsResponse;
import dev.berth.api.v1.ContainerState;
import dev.berth.api.v1.CreateContainerRequest;
import dev.berth.api.v1.CreateExecRequest;
import dev.berth.api.v1.DeleteContainerRequest;
import dev.berth.api.v1.Event;
import dev.berth.api.v1.EventType;
import dev.berth.api.v1.Exec;
import dev.berth.api.v1.ExecState;
import dev.berth.api.v1.Image;
import dev.berth.api.v1.ImportImageRequest;
import dev.berth.api.v1.KillContainerRequest;
import dev.berth.api.v1.KillExecRequest;
import dev.berth.api.v1.ListContainersRequest;
import dev.berth.api.v1.ListEventsRequest;
import dev.berth.api.v1.ListExecsRequest;
import dev.berth.api.v1.ListImagesRequest;
import dev.berth.api.v1.LogStream;
import dev.berth.api.v1.PullImageRequest;
import dev.berth.api.v1.RemoveImageRequest;
import dev.berth.api.v1.RestartPolicyKind;
import dev.berth.api.v1.SaveImageRequest;
import dev.berth.api.v1.StartContainerRequest;
import dev.berth.api.v1.StartExecRequest;
import dev.berth.api.v1.StartExecResponse;
import dev.berth.api.v1.StopContainerRequest;
import dev.berth.api.v1.SubscribeEventsRequest;
import dev.berth.api.v1.WaitContainerRequest;
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
    return berthWithStdin(java.io.InputStream.nullInputStream(), args);
  }

  Result berthWithStdin(java.io.InputStream in, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        BerthCli.run(
            args,
            in,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            env);
    return new Result(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  static ContainerLogsResponse log(String stream, String text) {
    return ContainerLogsResponse.newBuilder()
        .setStream(
            stream.equals("stderr") ? LogStream.LOG_STREAM_STDERR : LogStream.LOG_STREAM_STDOUT)
        .setTime(Timestamp.newBuilder().setSeconds(1704067200).setNanos(1))
        .setData(ByteString.copyFromUtf8(text))
        .build();
  }

  static Timestamp ts(Instant i) {
    return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
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
    CreateContainerRequest c = daemon.requests(CreateContainerRequest.class).get(0);
    assertEquals("busybox", c.getImage());
    assertEquals("web", c.getName());
    assertTrue(c.getAutoRemove());
    assertEquals("h1", c.getHostname());
    assertEquals(List.of("/bin/sh"), c.getProcess().getEntrypointList());
    assertEquals(List.of("-c", "echo hi"), c.getProcess().getCmdList());
    assertEquals(List.of("A=1", "B=two words"), c.getProcess().getEnvList());
    assertEquals("/srv", c.getProcess().getWorkingDir());
    assertEquals("1000:1000", c.getProcess().getUser());
    assertEquals(FakeBerthd.ID, daemon.requests(StartContainerRequest.class).get(0).getRef());
    // Detached: nobody waits or streams.
    assertTrue(daemon.requests(WaitContainerRequest.class).isEmpty());
    assertTrue(daemon.requests(ContainerLogsRequest.class).isEmpty());
  }

  @Test
  void run_keeps_flags_after_the_image_as_container_arguments() {
    Result r = berth("run", "-d", "busybox", "sh", "-c", "echo hi", "--rm", "-d");
    assertEquals(0, r.code(), r.err());
    CreateContainerRequest c = daemon.requests(CreateContainerRequest.class).get(0);
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
        daemon.requests(CreateContainerRequest.class).get(0).getProcess().getEnvList());
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
        daemon.requests(CreateContainerRequest.class).get(0).getProcess().getCmdList());
    assertTrue(daemon.requests(CreateContainerRequest.class).get(0).getAutoRemove());
    assertEquals(FakeBerthd.ID, daemon.requests(WaitContainerRequest.class).get(0).getRef());
    ContainerLogsRequest logs = daemon.requests(ContainerLogsRequest.class).get(0);
    assertEquals(FakeBerthd.ID, logs.getRef());
    assertTrue(logs.getFollow());
    // The CLI attaches (Wait, Logs) before Start, but the server may run the handlers in any
    // order; the daemon copes with either (a follow opened on a created container lasts through
    // its next run, and a wait after a --rm removal is answered from the tombstone).
    assertTrue(
        daemon
            .methods()
            .containsAll(
                List.of("CreateContainer", "WaitContainer", "ContainerLogs", "StartContainer")),
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
  void attached_run_that_loses_the_daemon_says_so_once() {
    daemon.logs = List.of(log("stdout", "hi\n"));
    daemon.logsEnd = io.grpc.Status.UNAVAILABLE.withDescription("connection closed");
    daemon.failures.put(
        "WaitContainer",
        io.grpc.Status.UNAVAILABLE.withDescription("connection closed").asRuntimeException());
    Result r = berth("run", "busybox", "echo", "hi");
    assertEquals(125, r.code(), r.err());
    assertEquals(1, r.errLines().size(), r.err());
  }

  @Test
  void attached_run_whose_output_stream_breaks_reports_it_and_still_the_exit_code() {
    daemon.logs = List.of(log("stdout", "hi\n"));
    daemon.logsEnd = io.grpc.Status.INTERNAL.withDescription("log file unreadable");
    daemon.exitCode = 3;
    Result r = berth("run", "busybox", "echo", "hi");
    assertEquals(3, r.code(), r.err());
    assertEquals(1, r.errLines().size(), r.err());
    assertTrue(r.err().contains("log file unreadable"), r.err());
  }

  @Test
  void run_whose_start_fails_prints_one_error_and125() {
    daemon.failures.put(
        "StartContainer",
        Status.FAILED_PRECONDITION
            .withDescription(
                "runc create failed: exec: \"nope\": executable file not found in $PATH")
            .asRuntimeException());
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
    CreateContainerRequest c = daemon.requests(CreateContainerRequest.class).get(0);
    assertTrue(c.getAutoRemove());
    assertEquals(Map.of("tier", "db"), c.getLabelsMap());
    assertEquals(List.of("sleep", "1000"), c.getProcess().getCmdList());
    assertTrue(daemon.requests(StartContainerRequest.class).isEmpty());
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
    // With failpoints the create goes through the test-only FailpointsService.
    assertTrue(daemon.requests(CreateContainerRequest.class).isEmpty());
    CreateContainerWithFailpointsRequest fp =
        daemon.requests(CreateContainerWithFailpointsRequest.class).get(0);
    CreateContainerRequest c = fp.getContainer();
    assertEquals(RestartPolicyKind.RESTART_POLICY_KIND_ON_FAILURE, c.getRestartPolicy().getKind());
    assertEquals(3, c.getRestartPolicy().getMaxRetries());
    assertEquals(Map.of("Start", "delay(200)", "Kill", "1*error"), fp.getFailpointsMap());
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
    assertTrue(daemon.requests(CreateContainerRequest.class).isEmpty());
    // The names too: the CLI parses with the daemon's parser (core's RestartPolicy).
    Result n = berth("run", "--restart", "sometimes", "busybox", "true");
    assertEquals(125, n.code());
    assertEquals(
        List.of(
            "Error: invalid restart policy \"sometimes\": use no, on-failure[:MAX], always or unless-stopped"),
        n.errLines());
    assertTrue(daemon.requests(CreateContainerRequest.class).isEmpty());
  }

  @Test
  void unknown_signals_are_refused_per_container_and_send_nothing() {
    Result kill = berth("kill", "-s", "FOO", "web", "db");
    assertEquals(125, kill.code());
    assertEquals("", kill.out());
    assertEquals(
        List.of("Error: invalid signal: FOO", "Error: invalid signal: FOO"), kill.errLines());
    assertTrue(daemon.requests(KillContainerRequest.class).isEmpty());
    Result stop = berth("stop", "-s", "65", "web");
    assertEquals(125, stop.code());
    assertEquals(List.of("Error: invalid signal: 65"), stop.errLines());
    assertTrue(daemon.requests(StopContainerRequest.class).isEmpty());
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
        daemon.requests(CreateContainerRequest.class).get(0).getSecurityOptsList());
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
        daemon.requests(CreateContainerRequest.class).get(1).getSecurityOptsList());
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
    assertTrue(daemon.requests(CreateContainerRequest.class).isEmpty());
  }

  // --- events ---------------------------------------------------------------------------------

  @Test
  void events_json_has_exit_code_only_on_exits_and_passes_since_and_filters() throws Exception {
    daemon.events =
        List.of(
            Event.newBuilder()
                .setSeq(1)
                .setTime(ts(Instant.parse("2026-01-01T00:00:00Z")))
                .setType(EventType.EVENT_TYPE_START)
                .setContainerId(FakeBerthd.ID)
                .setPid(42)
                .build(),
            Event.newBuilder()
                .setSeq(2)
                .setTime(ts(Instant.parse("2026-01-01T00:00:01Z")))
                .setType(EventType.EVENT_TYPE_EXIT)
                .setContainerId(FakeBerthd.ID)
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
    // --no-follow reads the history only: ListEvents, not SubscribeEvents.
    assertTrue(daemon.requests(SubscribeEventsRequest.class).isEmpty());
    ListEventsRequest sent = daemon.requests(ListEventsRequest.class).get(0);
    assertEquals(List.of("web"), sent.getFilter().getContainersList());
    assertEquals(List.of(), sent.getFilter().getTypesList());
    Result plain = berth("events", "--since", "1", "--no-follow");
    assertEquals("2026-01-01T00:00:01Z seq=2 exit " + FakeBerthd.ID + " exitCode=0\n", plain.out());
  }

  @Test
  void events_filters_become_the_typed_filter_and_history_is_read_page_by_page() {
    List<Event> history = new ArrayList<>();
    for (int i = 1; i <= 5; i++) {
      history.add(
          Event.newBuilder()
              .setSeq(i)
              .setTime(ts(Instant.parse("2026-01-01T00:00:00Z").plusSeconds(i)))
              .setType(i % 2 == 0 ? EventType.EVENT_TYPE_EXIT : EventType.EVENT_TYPE_START)
              .setContainerId(FakeBerthd.ID)
              .build());
    }
    daemon.events = history;
    daemon.pageSize = 2;
    Result r =
        berth(
            "events",
            "--no-follow",
            "--filter",
            "container=web",
            "--filter",
            "container=db",
            "--filter",
            "type=exit",
            "-f",
            "type=start-failed");
    assertEquals(0, r.code(), r.err());
    assertEquals(5, r.out().lines().count(), r.out());
    assertTrue(r.out().lines().toList().get(4).startsWith("2026-01-01T00:00:05Z seq=5 start "));
    List<ListEventsRequest> pages = daemon.requests(ListEventsRequest.class);
    assertEquals(List.of(0L, 2L, 4L), pages.stream().map(ListEventsRequest::getSinceSeq).toList());
    assertEquals(List.of("web", "db"), pages.get(0).getFilter().getContainersList());
    assertEquals(
        List.of(EventType.EVENT_TYPE_EXIT, EventType.EVENT_TYPE_START_FAILED),
        pages.get(0).getFilter().getTypesList());
    // Following: SubscribeEvents with the same filter.
    Result follow = berth("events", "--since", "3", "--filter", "type=exit");
    assertEquals(0, follow.code(), follow.err());
    SubscribeEventsRequest sub = daemon.requests(SubscribeEventsRequest.class).get(0);
    assertEquals(3, sub.getSinceSeq());
    assertEquals(List.of(EventType.EVENT_TYPE_EXIT), sub.getFilter().getTypesList());
  }

  @Test
  void bad_event_filters_are_one_line_errors_and_send_nothing() {
    Result type = berth("events", "--filter", "type=explode");
    assertEquals(125, type.code());
    assertEquals(
        List.of(
            "Error: invalid filter \"type=explode\": unknown event type explode (one of create,"
                + " start, start-failed, exit, restart, shim-lost, reconciled, delete, journal-damaged)"),
        type.errLines());
    Result key = berth("events", "--filter", "label=a");
    assertEquals(
        List.of("Error: invalid filter \"label=a\": unknown key label (container or type)"),
        key.errLines());
    Result empty = berth("events", "--filter", "container=");
    assertEquals(
        List.of("Error: invalid filter \"container=\": expected KEY=VALUE"), empty.errLines());
    assertTrue(daemon.requests.isEmpty());
  }

  // --- lifecycle ------------------------------------------------------------------------------

  @Test
  void lifecycle_commands_echo_the_refs_they_were_given() {
    Result start = berth("start", "web", "4f3c");
    assertEquals(0, start.code(), start.err());
    assertEquals("web\n4f3c\n", start.out());
    assertEquals(
        List.of("web", "4f3c"),
        daemon.requests(StartContainerRequest.class).stream()
            .map(StartContainerRequest::getRef)
            .toList());

    Result stop = berth("stop", "-t", "3", "web");
    assertEquals("web\n", stop.out());
    StopContainerRequest s = daemon.requests(StopContainerRequest.class).get(0);
    assertEquals(3, s.getTimeout().getSeconds());
    // Without -t the timeout is unset: the daemon's default, not 0 (SIGKILL at once).
    assertFalse(berthAndGet(() -> berth("stop", "db"), StopContainerRequest.class, 1).hasTimeout());
    StopContainerRequest zero =
        berthAndGet(() -> berth("stop", "-t", "0", "db"), StopContainerRequest.class, 2);
    assertTrue(zero.hasTimeout());
    assertEquals(0, zero.getTimeout().getSeconds());

    Result kill = berth("kill", "-s", "HUP", "web");
    assertEquals("web\n", kill.out());
    assertEquals("HUP", daemon.requests(KillContainerRequest.class).get(0).getSignal());
    assertEquals(
        "KILL", berthAndGet(() -> berth("kill", "web"), KillContainerRequest.class, 1).getSignal());

    Result rm = berth("rm", "-f", "web");
    assertEquals("web\n", rm.out());
    DeleteContainerRequest d = daemon.requests(DeleteContainerRequest.class).get(0);
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
    daemon.failures.put(
        "StartContainer",
        FakeBerthd.error(Status.Code.NOT_FOUND, "CONTAINER_NOT_FOUND", "no such container: nope"));
    Result r = berth("start", "nope");
    assertEquals(125, r.code());
    assertEquals("Error: no such container: nope\n", r.err());
    assertEquals("", r.out());
  }

  @Test
  void a_failure_for_one_ref_does_not_stop_the_others() {
    daemon.containers =
        List.of(
            Container.newBuilder()
                .setId(FakeBerthd.ID)
                .setName("web")
                .setState(ContainerState.CONTAINER_STATE_RUNNING)
                .build());
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
                .setState(ContainerState.CONTAINER_STATE_RUNNING)
                .setPid(42)
                .setCreatedAt(ts(now.minusSeconds(10)))
                .setStartedAt(ts(now.minusSeconds(3)))
                .addAllCommand(List.of("sh", "-c", "while true; do sleep 1; done"))
                .putLabels("b", "2")
                .putLabels("a", "1")
                .setBundle("/var/lib/berth/containers/" + "a".repeat(64))
                .setShimPid(41)
                .setShimGroup("web")
                .setShimAddress("/run/berth/s/x.sock")
                .build(),
            Container.newBuilder()
                .setId("b".repeat(64))
                .setName("done")
                .setImage("alpine:3")
                .setState(ContainerState.CONTAINER_STATE_STOPPED)
                .setExitCode(0)
                .setCreatedAt(ts(now.minusSeconds(20)))
                .setStartedAt(ts(now.minusSeconds(15)))
                .setFinishedAt(ts(now.minusSeconds(2)))
                .addAllCommand(List.of("true"))
                .setAutoRemove(true)
                .build(),
            Container.newBuilder()
                .setId("c".repeat(64))
                .setName("fresh")
                .setImage("busybox")
                .setState(ContainerState.CONTAINER_STATE_CREATED)
                .setCreatedAt(ts(now.minusSeconds(5)))
                .addAllCommand(List.of("echo", "hi"))
                .build());
  }

  @Test
  void ps_shows_running_containers_as_aDocker_style_table() {
    threeContainers();
    Result r = berth("ps");
    assertEquals(0, r.code(), r.err());
    assertFalse(daemon.requests(ListContainersRequest.class).get(0).getAll());
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
    assertTrue(daemon.requests(ListContainersRequest.class).get(0).getAll());
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
  void ps_and_info_page_through_every_container() {
    threeContainers();
    daemon.pageSize = 2;
    Result r = berth("ps", "-a", "-q");
    assertEquals(0, r.code(), r.err());
    assertEquals(3, r.out().lines().count(), r.out());
    List<ListContainersRequest> pages = daemon.requests(ListContainersRequest.class);
    assertEquals(
        List.of("", "2"), pages.stream().map(ListContainersRequest::getPageToken).toList());
    assertTrue(pages.stream().allMatch(ListContainersRequest::getAll));
    Result info = berth("info");
    assertEquals(0, info.code(), info.err());
    assertTrue(info.out().startsWith("Containers:   3 (1 running, 2 not running)\n"), info.out());
    assertTrue(info.out().contains("API version:  berth.v1\n"), info.out());
  }

  @Test
  void ps_filters_by_status_name_id_label_and_ancestor_as_docker_does() {
    threeContainers();
    assertEquals(List.of("done"), names(berth("ps", "--filter", "status=exited")));
    assertTrue(daemon.requests(ListContainersRequest.class).get(0).getAll());
    assertEquals(
        List.of("fresh", "done"),
        names(berth("ps", "-f", "status=exited", "-f", "status=created")));
    assertEquals(List.of("runner"), names(berth("ps", "-a", "--filter", "label=a=1")));
    assertEquals(List.of(), names(berth("ps", "-a", "--filter", "label=a=2")));
    assertEquals(
        List.of("fresh", "runner"), names(berth("ps", "-a", "--filter", "ancestor=busybox")));
    assertEquals(
        List.of("fresh"),
        names(berth("ps", "-a", "--filter", "ancestor=busybox", "--filter", "name=fre")));
    assertEquals(List.of("done"), names(berth("ps", "-a", "--filter", "id=bbbb")));
    for (String bad : List.of("status=gone", "colour=red", "name=", "nokey")) {
      Result r = berth("ps", "--filter", bad);
      assertEquals(125, r.code(), bad);
      assertEquals(1, r.errLines().size(), r.err());
    }
  }

  private static List<String> names(Result r) {
    assertEquals(0, r.code(), r.err());
    return r.out().lines().skip(1).map(l -> l.substring(l.lastIndexOf(' ') + 1)).toList();
  }

  @Test
  void ps_rejects_bad_templates_with_one_line_before_asking_the_daemon() {
    for (String bad : List.of("{{.ID", "{{nosuch .ID}}", "{{range .Names}}", "{{.A | upper}}")) {
      Result r = berth("ps", "--format", bad);
      assertEquals(125, r.code(), bad);
      assertEquals(1, r.errLines().size(), r.err());
      assertTrue(r.err().contains("template parsing error"), r.err());
    }
    assertTrue(daemon.requests(ListContainersRequest.class).isEmpty());
  }

  @Test
  void ps_templates_use_dockers_placeholders_and_table_adds_its_headers() {
    threeContainers();
    Result r = berth("ps", "-a", "--format", "{{.ID}}\\t{{.Names}} {{.State}} {{.Label \"a\"}}");
    assertEquals(0, r.code(), r.err());
    assertEquals(
        List.of(
            "cccccccccccc\tfresh created ",
            "aaaaaaaaaaaa\trunner running 1",
            "bbbbbbbbbbbb\tdone exited "),
        r.out().lines().toList());
    Result t = berth("ps", "--format", "table {{.Names}}\\t{{.Status}}\\t{{.Labels}}");
    assertEquals(0, t.code(), t.err());
    List<String> lines = t.out().lines().toList();
    assertTrue(lines.get(0).matches("NAMES +STATUS +LABELS"), lines.get(0));
    assertTrue(lines.get(1).matches("runner +Up 3 seconds +a=1,b=2"), lines.get(1));
    assertEquals(lines.get(0).indexOf("STATUS"), lines.get(1).indexOf("Up 3"));
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
            "shimGroup",
            "shimAddress",
            "labels",
            "error",
            "seccomp",
            "Id",
            "Created",
            "Path",
            "Args",
            "State",
            "Image",
            "Name",
            "RestartCount",
            "HostConfig",
            "Config"),
        fieldNames(runner));
    assertEquals("running", runner.get("State").get("Status").asText());
    assertEquals(42, runner.get("State").get("Pid").asInt());
    assertEquals("/runner", runner.get("Name").asText());
    assertEquals("sh", runner.get("Path").asText());
    assertEquals("exited", arr.get(1).get("State").get("Status").asText());
    assertTrue(arr.get(1).get("HostConfig").get("AutoRemove").asBoolean());
    assertEquals("no", arr.get(1).get("HostConfig").get("RestartPolicy").get("Name").asText());
    assertEquals(41, runner.get("shimPid").asInt());
    assertEquals("web", runner.get("shimGroup").asText());
    assertEquals("1", runner.get("labels").get("a").asText());
    assertEquals(List.of("a", "b"), fieldNames(runner.get("labels")));
    assertEquals("done", arr.get(1).get("name").asText());
  }

  @Test
  void inspect_format_renders_dockers_shape_per_container() {
    threeContainers();
    Result r =
        berth(
            "inspect",
            "-f",
            "{{.State.Status}} {{.Name}} {{json .Config.Cmd}} {{.State.ExitCode}} {{.Nope}}",
            "runner",
            "bbbb");
    assertEquals(0, r.code(), r.err());
    assertEquals(
        List.of(
            "running /runner [\"sh\",\"-c\",\"while true; do sleep 1; done\"] 0 <no value>",
            "exited /done [\"true\"] 0 <no value>"),
        r.out().lines().toList());
    Result bad = berth("inspect", "-f", "{{.State.Status", "runner");
    assertEquals(125, bad.code());
    assertEquals(1, bad.errLines().size(), bad.err());
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
  void logs_tail_since_until_go_to_the_daemon_and_timestamps_prefix_each_line() {
    daemon.logs = List.of(log("stdout", "one\n"), log("stderr", "warn\n"));
    Instant before = Instant.now();
    Result r =
        berth("logs", "-n", "5", "--since", "10m", "--until", "2026-01-02T03:04:05Z", "-t", "web");
    assertEquals(0, r.code(), r.err());
    assertEquals("2024-01-01T00:00:00.000000001Z one\n", r.out());
    assertEquals("2024-01-01T00:00:00.000000001Z warn\n", r.err());
    ContainerLogsRequest req = daemon.requests(ContainerLogsRequest.class).get(0);
    assertEquals(5, req.getTail());
    long since = req.getSince().getSeconds();
    assertTrue(Math.abs(since - before.minusSeconds(600).getEpochSecond()) <= 2, "since " + since);
    assertEquals(
        Instant.parse("2026-01-02T03:04:05Z").getEpochSecond(), req.getUntil().getSeconds());
    Result all = berth("logs", "--since", "1704067200.5", "web");
    assertEquals(0, all.code(), all.err());
    ContainerLogsRequest second = daemon.requests(ContainerLogsRequest.class).get(1);
    assertFalse(second.hasTail());
    assertEquals(500_000_000, second.getSince().getNanos());
    for (String[] bad :
        List.of(
            new String[] {"-n", "-3"},
            new String[] {"--tail", "lots"},
            new String[] {"--since", "yesterday"},
            new String[] {"--until", "10 minutes"})) {
      Result e = berth("logs", bad[0], bad[1], "web");
      assertEquals(125, e.code(), String.join(" ", bad));
      assertEquals(1, e.errLines().size(), e.err());
    }
    assertEquals(2, daemon.requests(ContainerLogsRequest.class).size());
  }

  @Test
  void logs_splits_stdout_and_stderr() {
    daemon.logs = List.of(log("stdout", "one\n"), log("stderr", "warn\n"), log("stdout", "two"));
    Result r = berth("logs", "-f", "web");
    assertEquals(0, r.code(), r.err());
    assertEquals("one\ntwo", r.out());
    assertEquals("warn\n", r.err());
    assertTrue(daemon.requests(ContainerLogsRequest.class).get(0).getFollow());
    berth("logs", "web");
    assertFalse(daemon.requests(ContainerLogsRequest.class).get(1).getFollow());
  }

  @Test
  void exec_streams_output_and_exits_with_the_process_code() {
    daemon.execOutput =
        List.of(
            StartExecResponse.newBuilder().setStdout(ByteString.copyFromUtf8("out\n")).build(),
            StartExecResponse.newBuilder().setStderr(ByteString.copyFromUtf8("err\n")).build());
    daemon.exitCode = 7;
    Result r =
        berth("exec", "-e", "X=1", "-w", "/tmp", "-u", "nobody", "web", "sh", "-c", "exit 7");
    assertEquals(7, r.code(), r.err());
    assertEquals("out\n", r.out());
    assertEquals("err\n", r.err());
    CreateExecRequest e = daemon.requests(CreateExecRequest.class).get(0);
    assertEquals("web", e.getContainer());
    assertEquals(List.of("sh", "-c", "exit 7"), e.getArgsList());
    assertEquals(List.of("X=1"), e.getEnvList());
    assertEquals("/tmp", e.getWorkingDir());
    assertEquals("nobody", e.getUser());
    assertFalse(e.getAttachStdin(), "without -i the process gets no stdin");
    StartExecRequest start = daemon.requests(StartExecRequest.class).get(0);
    assertEquals(FakeBerthd.EXEC_ID, start.getExecId());
    assertFalse(start.getDetach());
    assertTrue(daemon.stdinRequests.isEmpty());
  }

  @Test
  void exec_without_an_exit_code_is_an_error() {
    daemon.execOutput =
        List.of(
            StartExecResponse.newBuilder().setStdout(ByteString.copyFromUtf8("partial")).build());
    daemon.execEndsWithoutExit = true;
    Result r = berth("exec", "web", "true");
    assertEquals(125, r.code());
    assertEquals("partial", r.out());
    assertEquals(List.of("Error: exec stream ended without an exit code"), r.errLines());
  }

  @Test
  void exec_interactive_sends_stdin_in_chunks_of_at_most64_kib_then_close_stdin() {
    byte[] input = new byte[300_000];
    for (int i = 0; i < input.length; i++) input[i] = (byte) ('a' + i % 26);
    daemon.exitCode = 3;
    Result r = berthWithStdin(new java.io.ByteArrayInputStream(input), "exec", "-i", "web", "cat");
    assertEquals(3, r.code(), r.err());
    assertEquals(new String(input, StandardCharsets.UTF_8), r.out(), "the fake echoes stdin");
    assertTrue(daemon.requests(CreateExecRequest.class).get(0).getAttachStdin());
    List<StartExecRequest> chunks = daemon.stdinRequests;
    assertTrue(chunks.size() >= 5, "300 000 bytes in chunks: " + chunks.size());
    for (StartExecRequest c : chunks) {
      assertTrue(
          c.getStdin().size() <= AttachedExec.STDIN_CHUNK, "chunk of " + c.getStdin().size());
      assertTrue(c.getExecId().isEmpty(), "only the first request names the exec");
    }
    StartExecRequest last = chunks.get(chunks.size() - 1);
    assertTrue(last.getCloseStdin());
    assertEquals(1, chunks.stream().filter(StartExecRequest::getCloseStdin).count());
  }

  @Test
  void exec_interactive_reads_stdin_only_as_fast_as_the_daemon_takes_it() {
    // The daemon reads the first request and nothing more for a second: the CLI must wait for
    // the call to be ready again instead of reading (and buffering) an endless stdin.
    daemon.execStallMillis = 1000;
    daemon.exitCode = 0;
    java.util.concurrent.atomic.AtomicLong read = new java.util.concurrent.atomic.AtomicLong();
    java.io.InputStream endless =
        new java.io.InputStream() {
          @Override
          public int read() {
            read.incrementAndGet();
            return 'y';
          }

          @Override
          public int read(byte[] b, int off, int len) {
            java.util.Arrays.fill(b, off, off + len, (byte) 'y');
            read.addAndGet(len);
            return len;
          }
        };
    Result r = berthWithStdin(endless, "exec", "-i", "web", "sleep", "1");
    assertEquals(0, r.code(), r.err());
    // HTTP/2 windows (the server's 1 MiB, the client's buffers) and one chunk in hand: a few MiB
    // at most, where a pump without flow control reads gigabytes in a second.
    assertTrue(read.get() < 8L << 20, "read " + read.get() + " bytes of stdin");
  }

  @Test
  void a_signal_to_an_attached_exec_cancels_the_call_and_exits_like_a_shell() throws Exception {
    // A real `berth` JVM (signals cannot be sent to this test's own JVM): SIGTERM (SIGINT is
    // handled the same way, but may be ignored by a background job's parent) must cancel the
    // StartExec call, which is what makes the daemon kill the process.
    daemon.execStallMillis = 60_000;
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                "dev.berth.cli.BerthCli",
                "--socket",
                daemon.socket.toString(),
                "exec",
                "web",
                "sleep",
                "100")
            .redirectErrorStream(true)
            .start();
    try {
      long until = System.nanoTime() + 30_000_000_000L;
      while (daemon.requests(StartExecRequest.class).isEmpty() && System.nanoTime() < until) {
        Thread.sleep(50);
      }
      assertEquals(1, daemon.requests(StartExecRequest.class).size(), "the exec never started");
      Thread.sleep(300); // the signal handlers are installed right after the first request
      new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
      assertTrue(p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS), "berth did not exit");
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(143, p.exitValue(), output);
      until = System.nanoTime() + 10_000_000_000L;
      while (!daemon.requests.contains(Status.Code.CANCELLED) && System.nanoTime() < until) {
        Thread.sleep(50);
      }
      assertTrue(daemon.requests.contains(Status.Code.CANCELLED), daemon.requests.toString());
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void exec_detached_prints_the_exec_id_and_does_not_wait() {
    Result r = berth("exec", "-d", "web", "sleep", "100");
    assertEquals(0, r.code(), r.err());
    assertEquals(FakeBerthd.EXEC_ID + "\n", r.out());
    StartExecRequest start = daemon.requests(StartExecRequest.class).get(0);
    assertTrue(start.getDetach());
    assertFalse(daemon.requests(CreateExecRequest.class).get(0).getAttachStdin());
  }

  @Test
  void exec_detached_and_interactive_together_is_one_error_line_and_sends_nothing() {
    Result r = berth("exec", "-d", "-i", "web", "cat");
    assertEquals(125, r.code());
    assertEquals(
        List.of("Error: --detach and --interactive cannot be used together"), r.errLines());
    assertTrue(daemon.requests.isEmpty());
  }

  @Test
  void exec_in_a_stopped_container_is_the_daemons_one_line() {
    daemon.failures.put(
        "CreateExec",
        FakeBerthd.error(
            Status.Code.FAILED_PRECONDITION, "INVALID_STATE", "container web is not running"));
    Result r = berth("exec", "web", "true");
    assertEquals(125, r.code());
    assertEquals(List.of("Error: container web is not running"), r.errLines());
    assertTrue(daemon.requests(StartExecRequest.class).isEmpty());
  }

  private List<Exec> twoExecs() {
    Instant now = Instant.now();
    return List.of(
        Exec.newBuilder()
            .setId(FakeBerthd.EXEC_ID)
            .setContainerId(FakeBerthd.ID)
            .setState(ExecState.EXEC_STATE_RUNNING)
            .setPid(77)
            .addAllArgs(List.of("sleep", "100"))
            .setStartedAt(ts(now.minusSeconds(3)))
            .build(),
        Exec.newBuilder()
            .setId(FakeBerthd.ID + ".e2")
            .setContainerId(FakeBerthd.ID)
            .setState(ExecState.EXEC_STATE_EXITED)
            .setExitCode(137)
            .addAllArgs(List.of("cat"))
            .setAttachStdin(true)
            .setStartedAt(ts(now.minusSeconds(9)))
            .setFinishedAt(ts(now.minusSeconds(2)))
            .build());
  }

  @Test
  void exec_ls_exec_inspect_and_exec_kill() throws Exception {
    daemon.execs = twoExecs();
    Result ls = berth("exec-ls", "web");
    assertEquals(0, ls.code(), ls.err());
    String[] lines = ls.out().split("\n");
    assertEquals(3, lines.length, ls.out());
    assertTrue(lines[0].matches("EXEC ID +COMMAND +STATUS +PID"), lines[0]);
    assertTrue(
        lines[1].matches(
            java.util.regex.Pattern.quote(FakeBerthd.EXEC_ID)
                + " +\"sleep 100\" +Up 3 seconds +77"),
        lines[1]);
    assertTrue(lines[2].contains("Exited (137) 2 seconds ago"), lines[2]);
    assertEquals("web", daemon.requests(ListExecsRequest.class).get(0).getContainer());
    assertEquals(
        FakeBerthd.EXEC_ID + "\n" + FakeBerthd.ID + ".e2\n", berth("exec-ls", "-q", "web").out());

    Result inspect = berth("exec-inspect", FakeBerthd.EXEC_ID, "ghost");
    assertEquals(125, inspect.code());
    assertEquals(List.of("Error: no such exec: ghost"), inspect.errLines());
    JsonNode arr = parse(inspect.out());
    assertEquals(1, arr.size());
    assertEquals("running", arr.get(0).get("state").asText());
    assertEquals(-1, arr.get(0).get("exitCode").asInt());
    assertEquals("sleep", arr.get(0).get("args").get(0).asText());

    Result kill = berth("exec-kill", "-s", "TERM", FakeBerthd.EXEC_ID);
    assertEquals(0, kill.code(), kill.err());
    assertEquals(FakeBerthd.EXEC_ID + "\n", kill.out());
    KillExecRequest k = daemon.requests(KillExecRequest.class).get(0);
    assertEquals(FakeBerthd.EXEC_ID, k.getExecId());
    assertEquals("TERM", k.getSignal());
    Result bad = berth("exec-kill", "-s", "NOPE", FakeBerthd.EXEC_ID);
    assertEquals(List.of("Error: invalid signal: NOPE"), bad.errLines());
    assertEquals(1, daemon.requests(KillExecRequest.class).size());
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
                .setCreatedAt(ts(now.minusSeconds(3 * 86400)))
                .setManifestDigest("sha256:" + "9".repeat(64))
                .build(),
            Image.newBuilder()
                .setId("sha256:" + "2".repeat(64))
                .setSize(145_000_000)
                .setCreatedAt(ts(now.minusSeconds(7200)))
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
    ImportImageRequest req = daemon.requests(ImportImageRequest.class).get(0);
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
  void images_page_through_every_image() {
    twoImages();
    daemon.pageSize = 1;
    Result r = berth("images", "-q");
    assertEquals(0, r.code(), r.err());
    assertEquals("2".repeat(12) + "\n" + "1".repeat(12) + "\n", r.out());
    assertEquals(
        List.of("", "1"),
        daemon.requests(ListImagesRequest.class).stream()
            .map(ListImagesRequest::getPageToken)
            .toList());
  }

  @Test
  void save_sends_an_absolute_path() {
    Result r = berth("image", "save", "-o", "out/busybox.tar", "busybox");
    assertEquals(0, r.code(), r.err());
    SaveImageRequest req = daemon.requests(SaveImageRequest.class).get(0);
    assertEquals(Path.of("out/busybox.tar").toAbsolutePath().normalize().toString(), req.getPath());
    assertEquals("busybox", req.getRef());
  }

  @Test
  void run_pulls_an_image_the_daemon_reports_missing_by_its_reason_and_retries_once() {
    daemon.failures.put(
        "CreateContainer",
        FakeBerthd.error(Status.Code.NOT_FOUND, "IMAGE_NOT_FOUND", "no such image: busybox"));
    env.put("BERTH_PROGRESS", "plain");
    Result r = berth("run", "-d", "busybox", "true");
    assertEquals(0, r.code(), r.err());
    assertEquals(FakeBerthd.ID + "\n", r.out());
    assertTrue(r.err().startsWith("Unable to find image 'busybox' locally\n"), r.err());
    assertEquals("busybox", daemon.requests(PullImageRequest.class).get(0).getRef());
    assertEquals(2, daemon.requests(CreateContainerRequest.class).size());
  }

  @Test
  void a_not_found_without_the_image_reason_is_not_a_reason_to_pull() {
    // The words alone do not count: clients branch on the reason, never on the message.
    daemon.failures.put(
        "CreateContainer",
        Status.NOT_FOUND.withDescription("no such image: busybox").asRuntimeException());
    Result r = berth("run", "-d", "busybox", "true");
    assertEquals(125, r.code());
    assertEquals(List.of("Error: no such image: busybox"), r.errLines());
    assertTrue(daemon.requests(PullImageRequest.class).isEmpty());
  }

  @Test
  void failpoints_on_a_production_daemon_are_one_line() {
    daemon.failpointsServed = false;
    Result r = berth("run", "-d", "--failpoint", "Start=error", "busybox", "true");
    assertEquals(125, r.code());
    assertEquals(List.of("Error: " + ContainerCommands.NO_FAILPOINTS), r.errLines());
    assertTrue(daemon.requests(StartContainerRequest.class).isEmpty());
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
        FakeBerthd.error(
            Status.Code.FAILED_PRECONDITION,
            "IMAGE_IN_USE",
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
        daemon.requests(CreateContainerRequest.class).get(0).getProcess().getCmdList());
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
