package dev.berth.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.it.BerthHarness.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bad input gets exit code 125 and exactly one line on stderr, and changes nothing: the container
 * list and the image list are identical before and after, and the daemon keeps answering. One
 * daemon for the class, with a created, a running and a stopped container as bystanders.
 */
@Timeout(180)
class BadInputIT {

  static BerthHarness berth;
  static String runningId;
  static long runningPid;

  private List<String> containersBefore;
  private List<String> imagesBefore;

  @BeforeAll
  static void startDaemon() {
    berth = BerthHarness.start("BadInputIT");
    berth.ok("create", "--name", "keep-created", "busybox", "true");
    runningId = berth.runDetached("--name", "keep-running", "busybox", "sleep", "600");
    runningPid = berth.inspect(runningId).path("pid").asLong();
    String stopped = berth.runDetached("--name", "keep-stopped", "busybox", "sh", "-c", "exit 4");
    assertEquals("4", berth.ok("wait", stopped));
  }

  @AfterAll
  static void stopDaemon() {
    if (berth != null) berth.close();
  }

  @BeforeEach
  void snapshot() {
    containersBefore = containers();
    imagesBefore = images();
    assertEquals(3, containersBefore.size(), "bystanders: " + containersBefore);
  }

  @AfterEach
  void nothingChanged() {
    assertEquals(containersBefore, containers(), "bad input changed the container list");
    assertEquals(imagesBefore, images(), "bad input changed the image list");
    assertTrue(BerthHarness.processAlive(runningPid), "the running bystander died");
    Result v = berth.berth("version");
    assertEquals(0, v.exitCode(), "daemon stopped answering:\n" + v);
  }

  /** Comparable view of ps -a: everything but volatile fields, sorted. */
  private static List<String> containers() {
    return berth.psAll().stream()
        .map(
            c ->
                String.join(
                    "|",
                    c.path("id").asText(),
                    c.path("name").asText(),
                    c.path("image").asText(),
                    c.path("state").asText(),
                    c.path("pid").asText(),
                    c.path("exitCode").asText(),
                    c.path("createdAt").asText(),
                    c.path("startedAt").asText(),
                    c.path("finishedAt").asText()))
        .sorted()
        .collect(Collectors.toList());
  }

  private static List<String> images() {
    return berth.images().stream().map(JsonNode::toString).sorted().collect(Collectors.toList());
  }

  /** Exit 125 and exactly one non-empty "Error: ..." line on stderr, nothing on stdout. */
  static Result rejected(String... args) {
    Result r = berth.berth(args);
    assertEquals(125, r.exitCode(), "expected exit 125:\n" + r);
    List<String> lines = r.stderr().lines().collect(Collectors.toList());
    assertEquals(1, lines.size(), "expected exactly one line on stderr:\n" + r);
    assertTrue(
        lines.get(0).startsWith("Error: ") && lines.get(0).length() > "Error: ".length(),
        "stderr should be one 'Error: ...' line:\n" + r);
    // like docker, inspect may print the (empty) array it could fill before the error
    String out = r.stdout().strip();
    assertTrue(
        out.isEmpty() || (args[0].equals("inspect") && out.equals("[]")),
        "nothing on stdout for an error:\n" + r);
    return r;
  }

  @Test
  void unknown_container_is_rejected_by_every_command() {
    String unknown = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    rejected("start", "no-such-container");
    rejected("rm", "no-such-container");
    rejected("rm", "-f", "no-such-container");
    rejected("logs", "no-such-container");
    rejected("stop", "-t", "1", "no-such-container");
    rejected("kill", "no-such-container");
    rejected("wait", "no-such-container");
    rejected("inspect", unknown);
    rejected("exec", "no-such-container", "true");
    Result r = rejected("start", unknown);
    assertTrue(
        r.stderr().toLowerCase().contains("no such")
            || r.stderr().toLowerCase().contains("not found"),
        "the message should say the container does not exist:\n" + r);
  }

  @Test
  void duplicate_name_is_rejected() {
    Result r = rejected("create", "--name", "keep-created", "busybox", "true");
    assertTrue(r.stderr().contains("keep-created"), "the message should name the duplicate:\n" + r);
    rejected("run", "-d", "--name", "keep-running", "busybox", "sleep", "1");
    rejected("run", "--rm", "--name", "keep-stopped", "busybox", "true");
  }

  @Test
  void a_name_that_is_a_containers_short_id_is_rejected_and_the_short_id_keeps_its_container() {
    String shortId = runningId.substring(0, 12);
    Result r = rejected("create", "--name", shortId, "busybox", "true");
    assertTrue(r.stderr().contains(shortId), r.toString());
    rejected("create", "--name", runningId.substring(0, 20), "busybox", "true");
    rejected("create", "--name", "0".repeat(64), "busybox", "true");
    assertEquals(runningId, berth.inspect(shortId).path("id").asText());
  }

  @Test
  void invalid_names_are_rejected() {
    for (String bad : List.of("a/b", "..", "../escape", "/abs", "x/../../escape")) {
      rejected("create", "--name", bad, "busybox", "true");
    }
    Path escape = berth.root.resolve("escape");
    assertTrue(
        !Files.exists(escape) && !Files.exists(berth.root.getParent().resolve("escape")),
        "a name with .. created something outside containers/");
  }

  @Test
  void empty_command_and_bad_env_are_rejected() {
    Result r = rejected("create", "busybox", "");
    assertTrue(
        r.stderr().contains("no command"), "the message should say the command is missing:\n" + r);
    rejected("run", "-d", "--entrypoint", "", "busybox", "");
    rejected("run", "-d", "-e", "=novalue", "busybox", "true");
    rejected("exec", "keep-running");
  }

  @Test
  void unknown_image_is_rejected() {
    rejected("create", "--pull", "never", "no-such-image:latest", "true");
    rejected("run", "--pull", "never", "--rm", "no-such-image", "true");
    rejected("run", "--pull", "never", "-d", "busybox:no-such-tag", "true");
    rejected("rmi", "no-such-image:latest");
    rejected("pull", "No/Such/Image");
    // Without --pull never, run and create first try to pull (docker's behaviour): its notice, then
    // the pull's failure as the one error line (the default registry is unreachable here).
    Result r = berth.berth("run", "--rm", "no-such-image", "true");
    assertEquals(125, r.exitCode(), r.toString());
    List<String> lines = r.stderrLines();
    assertEquals("Unable to find image 'no-such-image' locally", lines.get(0), r.toString());
    assertTrue(lines.get(lines.size() - 1).startsWith("Error: "), r.toString());
    assertEquals(1, lines.stream().filter(l -> l.startsWith("Error: ")).count(), r.toString());
    assertTrue(r.stdout().isEmpty(), r.toString());
  }

  @Test
  void malformed_image_archives_are_rejected() throws IOException {
    Path junk = berth.base.resolve("junk.tar");
    byte[] bytes = new byte[64 * 1024];
    new Random(42).nextBytes(bytes);
    Files.write(junk, bytes);
    Path empty = Files.createDirectories(berth.base.resolve("empty-dir"));
    Path badLayout = Files.createDirectories(berth.base.resolve("bad-layout"));
    Files.writeString(badLayout.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    Files.writeString(
        badLayout.resolve("index.json"),
        "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:"
            + "0".repeat(64)
            + "\",\"size\":10,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}]}");

    rejected("image", "import", junk.toString(), "--name", "junk:latest");
    rejected("image", "import", empty.toString(), "--name", "empty:latest");
    rejected("image", "import", badLayout.toString(), "--name", "badlayout:latest");
    rejected("image", "import", berth.base.resolve("does-not-exist").toString());
  }

  @Test
  void bad_security_options_are_rejected() throws IOException {
    Path notJson = berth.base.resolve("not-json-seccomp.json");
    Files.writeString(notJson, "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [,]}\n");
    Path badAction = berth.base.resolve("bad-action-seccomp.json");
    Files.writeString(
        badAction,
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"keyctl\"], \"action\": \"SCMP_ACT_NOPE\"}]}");
    Path missing = berth.base.resolve("no-such-seccomp.json");

    Result r = rejected("run", "--rm", "--security-opt", "seccomp=" + notJson, "busybox", "true");
    assertTrue(
        r.stderr().contains("invalid seccomp profile: not valid JSON at line 2"), r.toString());
    r = rejected("create", "--security-opt", "seccomp=" + badAction, "busybox", "true");
    assertTrue(
        r.stderr().contains("syscalls[0].action: unknown action \"SCMP_ACT_NOPE\""), r.toString());
    r = rejected("run", "-d", "--security-opt", "seccomp=" + missing, "busybox", "true");
    assertTrue(
        r.stderr().contains("cannot read seccomp profile " + missing + ": no such file"),
        r.toString());
    r = rejected("create", "--security-opt", "bogus", "busybox", "true");
    assertTrue(r.stderr().contains("unsupported --security-opt \"bogus\""), r.toString());
    rejected("run", "--rm", "--security-opt", "apparmor=x", "busybox", "true");
    rejected("create", "--security-opt", "no-new-privileges=false", "busybox", "true");
    rejected("create", "--security-opt", "seccomp", "busybox", "true");
    rejected(
        "create",
        "--security-opt",
        "seccomp=unconfined",
        "--security-opt",
        "seccomp=" + badAction,
        "busybox",
        "true");
  }

  @Test
  void invalid_transitions_are_rejected() {
    rejected("start", "keep-running");
    assertEquals(
        runningPid,
        berth.inspect("keep-running").path("pid").asLong(),
        "start of a running container touched it");
    rejected("exec", "keep-created", "true");
    rejected("exec", "keep-stopped", "true");
    rejected("rm", "keep-running");
    rejected("kill", "-s", "NOT-A-SIGNAL", "keep-running");
  }

  @Test
  void ambiguous_prefix_is_rejected() {
    // create containers until two ids share their first hex digit (at most 17: pigeonhole)
    List<String> created = new java.util.ArrayList<>();
    String prefix = null;
    try {
      while (prefix == null) {
        created.add(berth.ok("create", "busybox", "true"));
        // distinct: a daemon bug listing one container twice must not fake an ambiguity
        List<String> ids =
            berth.psAll().stream()
                .map(c -> c.path("id").asText())
                .distinct()
                .collect(Collectors.toList());
        for (String a : created) {
          long same = ids.stream().filter(id -> id.charAt(0) == a.charAt(0)).count();
          if (same > 1) {
            prefix = a.substring(0, 1);
            break;
          }
        }
      }
      Set<String> before =
          berth.psAll().stream().map(c -> c.path("id").asText()).collect(Collectors.toSet());
      rejected("rm", "-f", prefix);
      rejected("inspect", prefix);
      Set<String> after =
          berth.psAll().stream().map(c -> c.path("id").asText()).collect(Collectors.toSet());
      assertEquals(before, after, "an ambiguous prefix removed something");
    } finally {
      for (String id : created) berth.berth("rm", "-f", id);
    }
  }
}
