package dev.berth.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.it.BerthHarness.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Seccomp through the CLI and real runc: the daemon's default profile (Debian's containers-common
 * profile, podman's), --security-opt seccomp=unconfined and seccomp=FILE, and berthd
 * --seccomp-profile. What is refused is seen from inside the container: /proc/self/status, busybox
 * unshare, and a tiny static C program (built here with gcc) calling keyctl(2) and add_key(2).
 *
 * <p>podman's profile allows unshare(2) and keyctl(2) (it lets rootless podman run inside a
 * container); docker's does not, and Berth's default adds docker's rules for them. The docker-like
 * profile below shows that a profile given by file is applied as it is, by the CLI per container
 * and by the daemon as its default.
 */
@Timeout(300)
class SeccompIT {
  /** docker's choice for these syscalls (its default profile does not allow them): EPERM. */
  static final String DENY_KEYRING_AND_USERNS =
      """
      {"defaultAction": "SCMP_ACT_ALLOW",
       "syscalls": [
         {"names": ["keyctl", "add_key", "request_key", "unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
          "comment": "not namespaced"}
       ]}
      """;

  static final String PROBE_C =
      """
      #include <errno.h>
      #include <stdio.h>
      #include <string.h>
      #include <unistd.h>
      #include <sys/syscall.h>
      /* keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0), or add_key of a user key there */
      int main(int argc, char **argv) {
        long r = argc > 1 && strcmp(argv[1], "add_key") == 0
            ? syscall(SYS_add_key, "user", "berth-probe", "x", 1, -3)
            : syscall(SYS_keyctl, 0, -3, 0);
        if (r < 0) { printf("errno %d\\n", errno); return 1; }
        printf("ok\\n");
        return 0;
      }
      """;

  static BerthHarness berth;
  static Path work;

  @BeforeAll
  static void startDaemon() throws Exception {
    berth = BerthHarness.start("SeccompIT");
    work = Files.createDirectories(berth.base.resolve("seccomp"));
    Files.writeString(work.resolve("deny.json"), DENY_KEYRING_AND_USERNS);
    Files.writeString(work.resolve("probe.c"), PROBE_C);
    Result gcc =
        BerthHarness.exec(
            Duration.ofSeconds(120),
            List.of(
                "gcc",
                "-static",
                "-O2",
                "-o",
                work.resolve("probe").toString(),
                work.resolve("probe.c").toString()));
    assertEquals(
        0,
        gcc.exitCode(),
        "gcc -static must build the keyctl probe (gcc and libc6-dev are set up by ops/setup.sh):\n"
            + gcc);
    TestLayouts.withExecutable(
        BerthHarness.busyboxImage(),
        work.resolve("probe-image"),
        "probe",
        Files.readAllBytes(work.resolve("probe")));
    berth.ok("image", "import", work.resolve("probe-image").toString(), "--name", "probe:latest");
  }

  @AfterAll
  static void stopDaemon() {
    if (berth != null) berth.close();
  }

  /** `run --rm`, attached: the container's exit code and output. */
  static Result run(BerthHarness b, String... args) {
    List<String> all = new ArrayList<>(List.of("run", "--rm"));
    all.addAll(List.of(args));
    return b.berth(all.toArray(String[]::new));
  }

  static String seccompStatus(BerthHarness b, String... options) {
    List<String> args = new ArrayList<>(List.of(options));
    args.addAll(List.of("busybox", "grep", "Seccomp:", "/proc/self/status"));
    Result r = run(b, args.toArray(String[]::new));
    assertEquals(0, r.exitCode(), r.toString());
    return r.out();
  }

  /** The probe's verdict on one syscall: "ok" or "errno N". */
  static String probe(BerthHarness b, String syscall, String... options) {
    List<String> args = new ArrayList<>(List.of(options));
    args.addAll(List.of("probe:latest", "/probe", syscall));
    Result r = run(b, args.toArray(String[]::new));
    assertEquals(r.out().equals("ok") ? 0 : 1, r.exitCode(), r.toString());
    return r.out();
  }

  static JsonNode configSeccomp(BerthHarness b, String id) throws IOException {
    return BerthHarness.parse(Files.readString(b.containerDir(id).resolve("config.json")))
        .path("linux")
        .path("seccomp");
  }

  @Test
  void default_containers_run_under_the_daemon_profile() throws Exception {
    assertEquals("Seccomp:\t2", seccompStatus(berth));
    // no-new-privileges is always on: accepted, and it changes nothing
    assertEquals(
        "Seccomp:\t2",
        seccompStatus(
            berth,
            "--security-opt",
            "no-new-privileges",
            "--security-opt",
            "no-new-privileges=true"));

    String id = berth.ok("create", "busybox", "true");
    try {
      assertEquals("default", berth.inspect(id).path("seccomp").asText());
      JsonNode seccomp = configSeccomp(berth, id);
      assertEquals("SCMP_ACT_ERRNO", seccomp.path("defaultAction").asText());
      assertEquals(
          38, seccomp.path("defaultErrnoRet").asInt(), "ENOSYS for what the profile does not know");
      if (System.getProperty("os.arch").equals("amd64")) {
        assertEquals(
            "[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]",
            seccomp.path("architectures").toString());
      }
      assertTrue(seccomp.path("syscalls").size() > 10, seccomp.toString());
      assertFalse(
          seccomp.toString().contains("\"includes\""), "conditions are resolved, not passed on");
    } finally {
      berth.ok("rm", id);
    }

    // docker's rules on top of podman's profile: no user namespace, no kernel keyring
    Result unshare = run(berth, "busybox", "unshare", "-U", "true");
    assertNotEquals(0, unshare.exitCode(), unshare.toString());
    assertTrue(unshare.stderr().contains("Operation not permitted"), unshare.toString());
    assertEquals("errno 1", probe(berth, "keyctl"));
    assertEquals("errno 1", probe(berth, "add_key"));
    // ...while ordinary process creation (clone without namespace flags) still works
    assertEquals("child", run(berth, "busybox", "sh", "-c", "sh -c 'echo child' & wait").out());
  }

  @Test
  void unconfined_containers_have_no_filter() throws Exception {
    assertEquals("Seccomp:\t0", seccompStatus(berth, "--security-opt", "seccomp=unconfined"));
    String id = berth.ok("create", "--security-opt", "seccomp=unconfined", "busybox", "true");
    try {
      assertEquals("unconfined", berth.inspect(id).path("seccomp").asText());
      assertTrue(configSeccomp(berth, id).isMissingNode(), "no linux.seccomp in config.json");
    } finally {
      berth.ok("rm", id);
    }
    // what the filters refuse works without one: the refusals below are the filter's doing
    Result unshare =
        run(berth, "--security-opt", "seccomp=unconfined", "busybox", "unshare", "-U", "true");
    assertEquals(0, unshare.exitCode(), unshare.toString());
    assertEquals("ok", probe(berth, "keyctl", "--security-opt", "seccomp=unconfined"));
    assertEquals("ok", probe(berth, "add_key", "--security-opt", "seccomp=unconfined"));
  }

  @Test
  void a_profile_file_given_to_the_cli_applies_to_that_container() throws Exception {
    String opt = "seccomp=" + work.resolve("deny.json");
    assertEquals("Seccomp:\t2", seccompStatus(berth, "--security-opt", opt));
    Result unshare = run(berth, "--security-opt", opt, "busybox", "unshare", "-U", "true");
    assertNotEquals(0, unshare.exitCode(), unshare.toString());
    assertTrue(unshare.stderr().contains("Operation not permitted"), unshare.toString());
    assertEquals("errno 1", probe(berth, "keyctl", "--security-opt", opt));

    String id = berth.ok("create", "--security-opt", opt, "busybox", "true");
    try {
      assertEquals("custom", berth.inspect(id).path("seccomp").asText());
      JsonNode seccomp = configSeccomp(berth, id);
      assertEquals("SCMP_ACT_ALLOW", seccomp.path("defaultAction").asText());
      assertEquals(
          "[{\"names\":[\"keyctl\",\"add_key\",\"request_key\",\"unshare\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]",
          seccomp.path("syscalls").toString(),
          "the comment is dropped");
    } finally {
      berth.ok("rm", id);
    }
  }

  @Test
  void the_daemon_flag_sets_the_default_and_containers_keep_their_filter_across_a_restart()
      throws Exception {
    Path deny = work.resolve("deny.json");
    try (BerthHarness other =
        BerthHarness.start(
            "SeccompIT-daemon-profile", List.of("--seccomp-profile", deny.toString()))) {
      Result unshare = run(other, "busybox", "unshare", "-U", "true");
      assertNotEquals(0, unshare.exitCode(), unshare.toString());
      assertTrue(unshare.stderr().contains("Operation not permitted"), unshare.toString());
      assertEquals(
          0,
          run(other, "--security-opt", "seccomp=unconfined", "busybox", "unshare", "-U", "true")
              .exitCode());

      // created under this daemon, started under the next one: config.json is written at create,
      // so both keep the filter they were created with
      String custom =
          other.ok(
              "create", "--security-opt", "seccomp=" + deny, "busybox", "unshare", "-U", "true");
      String byDefault = other.ok("create", "busybox", "grep", "Seccomp:", "/proc/self/status");
      other.setDaemonFlags(List.of("--seccomp-profile", "unconfined"));
      assertEquals(0, other.terminateDaemon(Duration.ofSeconds(30)));
      other.startDaemon();

      assertEquals("Seccomp:\t0", seccompStatus(other), "unconfined by default now");
      assertEquals("custom", other.inspect(custom).path("seccomp").asText());
      other.ok("start", custom);
      assertNotEquals("0", other.ok("wait", custom), "the journaled profile still refuses unshare");
      other.ok("start", byDefault);
      assertEquals("0", other.ok("wait", byDefault));
      assertEquals("Seccomp:\t2", other.ok("logs", byDefault), "the default when it was created");
    }
  }

  @Test
  void berthd_refuses_a_missing_or_invalid_profile_in_one_line() throws Exception {
    Path root = berth.base.resolve("refused-root");
    Path state = berth.base.resolve("refused-state");
    Path bad =
        Files.writeString(
            work.resolve("bad.json"), "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [}");
    Path missing = work.resolve("missing.json");
    for (Path profile : List.of(missing, bad)) {
      Result r =
          BerthHarness.exec(
              Duration.ofSeconds(60),
              List.of(
                  BerthHarness.BERTHD.toString(),
                  "--root",
                  root.toString(),
                  "--state",
                  state.toString(),
                  "--seccomp-profile",
                  profile.toString()));
      assertEquals(1, r.exitCode(), r.toString());
      List<String> lines = r.stderrLines();
      assertEquals(1, lines.size(), r.toString());
      assertTrue(lines.get(0).startsWith("berthd: "), r.toString());
      assertTrue(lines.get(0).contains(profile.toString()), r.toString());
      assertFalse(
          Files.exists(root) || Files.exists(state), "a refused start leaves nothing behind");
    }
  }
}
