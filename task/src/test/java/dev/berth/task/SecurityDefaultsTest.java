package dev.berth.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.core.BerthException;
import dev.berth.core.ContainerSpec;
import dev.berth.oci.SeccompProfile.InvalidProfileException;
import dev.berth.oci.SecurityDefaults;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecurityDefaultsTest {
  static final String DENY_KEYCTL =
      "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"keyctl\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]}";

  @TempDir Path tmp;

  @Test
  void the_daemon_default_is_converted_once() throws Exception {
    assertTrue(
        Files.isRegularFile(Path.of(SecurityDefaults.DEFAULT_SECCOMP_PROFILE)),
        "ops/setup.sh installs golang-github-containers-common");
    SecurityDefaults d = SecurityDefaults.fromSeccompFlag(SecurityDefaults.DEFAULT_SECCOMP_PROFILE);
    assertTrue(
        d.seccompSource().startsWith(SecurityDefaults.DEFAULT_SECCOMP_PROFILE), d.seccompSource());
    assertEquals("SCMP_ACT_ERRNO", d.seccomp().path("defaultAction").asText());
    assertTrue(d.seccomp().path("syscalls").size() > 10);
    // a container without a choice gets the default; unconfined gets none; its own profile its own
    assertTrue(d.seccompFor(null) == d.seccomp());
    assertNull(d.seccompFor(SecurityDefaults.UNCONFINED));
    JsonNode own = d.seccompFor(DENY_KEYCTL);
    assertEquals("SCMP_ACT_ALLOW", own.path("defaultAction").asText());
    assertEquals("keyctl", own.path("syscalls").get(0).path("names").get(0).asText());
  }

  /**
   * podman's profile allows these; the default follows docker: EPERM, clone without namespace flags
   * only.
   */
  @Test
  void the_default_profile_gets_dockers_namespace_and_keyring_rules() throws Exception {
    JsonNode seccomp =
        SecurityDefaults.fromSeccompFlag(SecurityDefaults.DEFAULT_SECCOMP_PROFILE).seccomp();
    java.util.Map<String, java.util.List<JsonNode>> rulesByName = new java.util.HashMap<>();
    for (JsonNode rule : seccomp.path("syscalls")) {
      for (JsonNode n : rule.path("names"))
        rulesByName.computeIfAbsent(n.asText(), k -> new java.util.ArrayList<>()).add(rule);
    }
    for (String denied :
        java.util.List.of("unshare", "setns", "keyctl", "add_key", "request_key")) {
      assertEquals(1, rulesByName.get(denied).size(), denied + ": one rule, no conflicting allow");
      assertEquals(
          "SCMP_ACT_ERRNO", rulesByName.get(denied).get(0).path("action").asText(), denied);
      assertEquals(1, rulesByName.get(denied).get(0).path("errnoRet").asInt(), denied);
    }
    JsonNode clone = rulesByName.get("clone").get(0);
    assertEquals(1, rulesByName.get("clone").size());
    assertEquals("SCMP_CMP_MASKED_EQ", clone.path("args").get(0).path("op").asText());
    assertEquals(0x7E020000L, clone.path("args").get(0).path("value").asLong());
    assertEquals(
        38,
        rulesByName.get("clone3").get(0).path("errnoRet").asInt(),
        "ENOSYS: libc falls back to clone");
    // everything else of podman's profile is still there
    assertEquals("SCMP_ACT_ALLOW", rulesByName.get("read").get(0).path("action").asText());
  }

  @Test
  void unconfined_daemon_has_no_default_filter() throws Exception {
    SecurityDefaults d = SecurityDefaults.fromSeccompFlag("unconfined");
    assertNull(d.seccomp());
    assertNull(d.seccompFor(null));
    assertEquals("SCMP_ACT_ALLOW", d.seccompFor(DENY_KEYCTL).path("defaultAction").asText());
  }

  @Test
  void bad_daemon_profiles_are_one_line() throws Exception {
    Path missing = tmp.resolve("nope.json");
    InvalidProfileException e =
        assertThrows(
            InvalidProfileException.class,
            () -> SecurityDefaults.fromSeccompFlag(missing.toString()));
    assertEquals("cannot read seccomp profile " + missing + ": no such file", e.getMessage());
    Path bad = Files.writeString(tmp.resolve("bad.json"), "{\"defaultAction\": \"SCMP_ACT_NOPE\"}");
    e =
        assertThrows(
            InvalidProfileException.class, () -> SecurityDefaults.fromSeccompFlag(bad.toString()));
    assertEquals(
        "invalid seccomp profile: defaultAction: unknown action \"SCMP_ACT_NOPE\" (" + bad + ")",
        e.getMessage());
  }

  private static String refused(List<String> opts) {
    BerthException e =
        assertThrows(BerthException.class, () -> ContainerSpecs.seccompProfile(opts));
    assertEquals(BerthException.Code.INVALID_ARGUMENT, e.code());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    return e.getMessage();
  }

  @Test
  void security_options_at_create() {
    assertNull(ContainerSpecs.seccompProfile(List.of()));
    assertNull(ContainerSpecs.seccompProfile(null));
    assertNull(
        ContainerSpecs.seccompProfile(List.of("no-new-privileges", "no-new-privileges=true")));
    assertEquals(
        "unconfined",
        ContainerSpecs.seccompProfile(List.of("seccomp=unconfined", "no-new-privileges")));
    assertEquals(DENY_KEYCTL, ContainerSpecs.seccompProfile(List.of("seccomp=" + DENY_KEYCTL)));

    assertEquals(
        "unsupported --security-opt \"bogus\": use seccomp=PROFILE, seccomp=unconfined or no-new-privileges",
        refused(List.of("bogus")));
    assertTrue(
        refused(List.of("apparmor=x")).startsWith("unsupported --security-opt \"apparmor=x\""));
    assertTrue(
        refused(List.of("label=disable"))
            .startsWith("unsupported --security-opt \"label=disable\""));
    assertTrue(
        refused(List.of("no-new-privileges=false")).contains("always run with no-new-privileges"));
    assertTrue(
        refused(List.of("seccomp")).contains("expected seccomp=PROFILE or seccomp=unconfined"));
    assertTrue(
        refused(List.of("seccomp=")).contains("expected seccomp=PROFILE or seccomp=unconfined"));
    assertEquals(
        "invalid --security-opt: seccomp is given more than once",
        refused(List.of("seccomp=unconfined", "seccomp=" + DENY_KEYCTL)));
    assertTrue(
        refused(List.of("seccomp=/etc/profile.json"))
            .startsWith("invalid seccomp profile: not valid JSON"));
    assertEquals(
        "invalid seccomp profile: syscalls[0].action: unknown action \"SCMP_ACT_MAYBE\"",
        refused(List.of("seccomp=" + DENY_KEYCTL.replace("SCMP_ACT_ERRNO", "SCMP_ACT_MAYBE"))));
    // a long option is quoted shortened and on one line
    String quoted = refused(List.of("x=" + "a\nb".repeat(100)));
    assertTrue(quoted.length() < 200, quoted);
  }

  @Test
  void inspect_shows_the_choice() {
    ContainerSpec base =
        new ContainerSpec(
            "id",
            "n",
            "i",
            "sha256:x",
            List.of("true"),
            List.of(),
            "/",
            0,
            0,
            List.of(),
            "h",
            false,
            java.util.Map.of(),
            java.time.Instant.now(),
            null,
            null,
            null,
            null);
    assertEquals("default", base.seccompMode());
    assertEquals("unconfined", withSeccomp(base, "unconfined").seccompMode());
    assertEquals("custom", withSeccomp(base, DENY_KEYCTL).seccompMode());
  }

  private static ContainerSpec withSeccomp(ContainerSpec s, String seccomp) {
    return new ContainerSpec(
        s.id(),
        s.name(),
        s.image(),
        s.imageId(),
        s.args(),
        s.env(),
        s.cwd(),
        s.uid(),
        s.gid(),
        s.additionalGids(),
        s.hostname(),
        s.autoRemove(),
        s.labels(),
        s.createdAt(),
        s.restart(),
        s.failpoints(),
        seccomp,
        s.requestId());
  }
}
