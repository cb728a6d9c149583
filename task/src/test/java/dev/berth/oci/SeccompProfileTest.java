package dev.berth.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.oci.SeccompProfile.Host;
import dev.berth.oci.SeccompProfile.InvalidProfileException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SeccompProfileTest {
  static final ObjectMapper JSON = new ObjectMapper();

  /** The profile Debian's golang-github-containers-common installs (podman's default). */
  static final Path CONTAINERS_COMMON = Path.of("/usr/share/containers/seccomp.json");

  static final Host AMD64 = new Host("amd64", 6, 1);

  @TempDir Path tmp;

  private static List<String> texts(JsonNode n) {
    List<String> out = new ArrayList<>();
    n.forEach(x -> out.add(x.asText()));
    return out;
  }

  /** The rules (in order) that name the syscall. */
  private static List<JsonNode> rulesFor(JsonNode seccomp, String syscall) {
    List<JsonNode> out = new ArrayList<>();
    seccomp
        .path("syscalls")
        .forEach(
            r -> {
              if (texts(r.path("names")).contains(syscall)) out.add(r);
            });
    return out;
  }

  private static ObjectNode convert(String json, List<String> caps, Host host)
      throws InvalidProfileException {
    return SeccompProfile.parse(json.getBytes(StandardCharsets.UTF_8))
        .toRuntimeSpec(caps, host)
        .orElseThrow();
  }

  private static String error(String json) {
    InvalidProfileException e =
        assertThrows(
            InvalidProfileException.class,
            () -> SeccompProfile.parse(json.getBytes(StandardCharsets.UTF_8)));
    assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    assertTrue(e.getMessage().startsWith("invalid seccomp profile: "), e.getMessage());
    return e.getMessage();
  }

  private static ObjectNode containersCommon(List<String> caps, Host host)
      throws InvalidProfileException {
    assertTrue(
        Files.isRegularFile(CONTAINERS_COMMON),
        "ops/setup.sh installs golang-github-containers-common");
    return SeccompProfile.read(CONTAINERS_COMMON).toRuntimeSpec(caps, host).orElseThrow();
  }

  @Test
  void containers_common_profile_for_the_default_capabilities() throws Exception {
    ObjectNode s = containersCommon(RuntimeSpec.DEFAULT_CAPABILITIES, AMD64);
    assertEquals("SCMP_ACT_ERRNO", s.path("defaultAction").asText());
    assertEquals(
        38, s.path("defaultErrnoRet").asInt(), "ENOSYS for what the profile does not know");
    // archMap: x86_64's entry and its sub-architectures only
    assertEquals(
        List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
        texts(s.path("architectures")));
    assertTrue(s.path("archMap").isMissingNode());
    // nothing but the runtime spec's fields is left
    s.path("syscalls")
        .forEach(
            r -> {
              List<String> fields = new ArrayList<>();
              r.fieldNames().forEachRemaining(fields::add);
              assertTrue(
                  List.of("names", "action", "errnoRet", "args").containsAll(fields),
                  "fields " + fields + " in " + r);
            });
    List<String> top = new ArrayList<>();
    s.fieldNames().forEachRemaining(top::add);
    assertEquals(List.of("defaultAction", "defaultErrnoRet", "architectures", "syscalls"), top);

    // includes.caps CAP_SYS_ADMIN: the allow rule is left out, the EPERM rule (excludes.caps) stays
    for (String adminOnly : List.of("bpf", "perf_event_open", "sethostname", "quotactl")) {
      List<JsonNode> rules = rulesFor(s, adminOnly);
      assertEquals(1, rules.size(), adminOnly + ": " + rules);
      assertEquals("SCMP_ACT_ERRNO", rules.get(0).path("action").asText(), adminOnly);
      assertEquals(1, rules.get(0).path("errnoRet").asInt(), adminOnly + " is EPERM");
    }
    // CAP_SYS_CHROOT is a default capability: chroot is allowed, its EPERM rule (excludes.caps)
    // goes
    List<JsonNode> chroot = rulesFor(s, "chroot");
    assertEquals(1, chroot.size(), chroot.toString());
    assertEquals("SCMP_ACT_ALLOW", chroot.get(0).path("action").asText());
    // CAP_AUDIT_WRITE too: the four argument-filtered socket rules (excludes.caps) go, the plain
    // one stays
    List<JsonNode> socket = rulesFor(s, "socket");
    assertEquals(1, socket.size(), socket.toString());
    assertEquals("SCMP_ACT_ALLOW", socket.get(0).path("action").asText());
    assertTrue(socket.get(0).path("args").isMissingNode(), socket.toString());
    // includes.arches: amd64's own syscalls in, arm's and s390's out
    assertEquals(1, rulesFor(s, "arch_prctl").size());
    assertEquals(1, rulesFor(s, "modify_ldt").size());
    assertTrue(rulesFor(s, "arm_fadvise64_64").isEmpty());
    assertTrue(rulesFor(s, "s390_runtime_instr").isEmpty());
    // argument filters are kept: personality(0xffffffff) among them
    List<JsonNode> personality = rulesFor(s, "personality");
    assertEquals(5, personality.size());
    JsonNode last = personality.get(4).path("args").get(0);
    assertEquals(0, last.path("index").asInt());
    assertEquals(4294967295L, last.path("value").asLong());
    assertEquals(0, last.path("valueTwo").asLong());
    assertEquals("SCMP_CMP_EQ", last.path("op").asText());
  }

  @Test
  void containers_common_profile_follows_capabilities_and_architecture() throws Exception {
    List<String> withAdmin = new ArrayList<>(RuntimeSpec.DEFAULT_CAPABILITIES);
    withAdmin.add("CAP_SYS_ADMIN");
    withAdmin.remove("CAP_SYS_CHROOT");
    ObjectNode admin = containersCommon(withAdmin, AMD64);
    List<JsonNode> bpf = rulesFor(admin, "bpf");
    assertEquals(1, bpf.size(), bpf.toString());
    assertEquals("SCMP_ACT_ALLOW", bpf.get(0).path("action").asText());
    List<JsonNode> chroot = rulesFor(admin, "chroot");
    assertEquals(1, chroot.size(), chroot.toString());
    assertEquals("SCMP_ACT_ERRNO", chroot.get(0).path("action").asText());

    ObjectNode arm64 = containersCommon(RuntimeSpec.DEFAULT_CAPABILITIES, new Host("arm64", 6, 1));
    assertEquals(List.of("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"), texts(arm64.path("architectures")));
    assertTrue(rulesFor(arm64, "arch_prctl").isEmpty());
    assertEquals(1, rulesFor(arm64, "arm_fadvise64_64").size());

    // an architecture the archMap does not list: no architectures (libseccomp takes the native one)
    ObjectNode riscv =
        containersCommon(RuntimeSpec.DEFAULT_CAPABILITIES, new Host("riscv64", 6, 1));
    assertTrue(riscv.path("architectures").isMissingNode());
  }

  @Test
  void min_kernel_is_compared_with_the_running_kernel() throws Exception {
    String profile =
        """
        {"defaultAction": "SCMP_ACT_ERRNO",
         "syscalls": [
           {"names": ["io_uring_setup"], "action": "SCMP_ACT_ALLOW", "comment": "5.1+", "includes": {"minKernel": "5.1"}},
           {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "4.8"}},
           {"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": ""}}
         ]}""";
    assertEquals(
        List.of(List.of("ptrace"), List.of("read")),
        names(convert(profile, List.of(), new Host("amd64", 4, 7))));
    assertEquals(
        List.of(List.of("read")), names(convert(profile, List.of(), new Host("amd64", 4, 8))));
    assertEquals(
        List.of(List.of("read")), names(convert(profile, List.of(), new Host("amd64", 5, 0))));
    assertEquals(
        List.of(List.of("io_uring_setup"), List.of("read")),
        names(convert(profile, List.of(), new Host("amd64", 5, 1))));
    assertEquals(
        List.of(List.of("io_uring_setup"), List.of("read")),
        names(convert(profile, List.of(), new Host("amd64", 6, 0))));

    assertTrue(
        error(
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"x\"],\"action\":\"SCMP_ACT_ALLOW\","
                    + "\"includes\":{\"minKernel\":\"4\"}}]}")
            .contains("syscalls[0].includes.minKernel"));
    error(
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"x\"],\"action\":\"SCMP_ACT_ALLOW\","
            + "\"excludes\":{\"minKernel\":\"0.0\"}}]}");
    error(
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"x\"],\"action\":\"SCMP_ACT_ALLOW\","
            + "\"excludes\":{\"minKernel\":\"4.1.2\"}}]}");
  }

  private static List<List<String>> names(JsonNode seccomp) {
    List<List<String>> out = new ArrayList<>();
    seccomp.path("syscalls").forEach(r -> out.add(texts(r.path("names"))));
    return out;
  }

  @Test
  void includes_and_excludes_follow_mobys_rules() throws Exception {
    String profile =
        """
        {"defaultAction": "SCMP_ACT_ERRNO",
         "syscalls": [
           {"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_X", "CAP_Y"]}},
           {"names": ["b"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_X", "CAP_Y"]}},
           {"names": ["c"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64", "amd64"]}},
           {"names": ["d"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
           {"names": ["e"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_X"]}, "excludes": {"arches": ["arm64"]}}
         ]}""";
    // includes.caps: all must be present; excludes.caps: any one present drops the rule
    assertEquals(List.of(List.of("b"), List.of("c")), names(convert(profile, List.of(), AMD64)));
    assertEquals(
        List.of(List.of("c"), List.of("e")), names(convert(profile, List.of("CAP_X"), AMD64)));
    assertEquals(
        List.of(List.of("a"), List.of("c"), List.of("e")),
        names(convert(profile, List.of("CAP_Y", "CAP_X"), AMD64)));
    assertEquals(
        List.of(List.of("a"), List.of("c"), List.of("d")),
        names(convert(profile, List.of("CAP_Y", "CAP_X"), new Host("arm64", 6, 1))));
    assertEquals(
        List.of(List.of("b"), List.of("d")),
        names(convert(profile, List.of(), new Host("s390x", 6, 1))));
  }

  @Test
  void oci_form_is_taken_as_it_is() throws Exception {
    String oci =
        """
        {"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
         "flags":["SECCOMP_FILTER_FLAG_LOG"],
         "syscalls":[{"names":["keyctl","add_key"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
                     {"names":["personality"],"action":"SCMP_ACT_ERRNO",
                      "args":[{"index":0,"value":18446744073709551615,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]}]}""";
    ObjectNode s = convert(oci, RuntimeSpec.DEFAULT_CAPABILITIES, AMD64);
    // compared as text: the node types of numbers differ (int, long, big integer), their JSON does
    // not
    String expected = JSON.writeValueAsString(JSON.readTree(oci));
    assertEquals(expected, JSON.writeValueAsString(s));
    // the same on another architecture: an explicit list is not filtered
    assertEquals(
        expected, JSON.writeValueAsString(convert(oci, List.of(), new Host("arm64", 5, 10))));
  }

  @Test
  void dockers_older_form_with_name() throws Exception {
    ObjectNode s =
        convert(
            """
        {"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
         "syscalls":[{"name":"read","action":"SCMP_ACT_ALLOW","args":[]},{"name":"write","action":"SCMP_ACT_ALLOW","args":null}]}""",
            List.of(),
            AMD64);
    assertEquals(List.of(List.of("read"), List.of("write")), names(s));
    assertTrue(s.path("syscalls").get(0).path("args").isMissingNode(), "empty args are left out");
    assertTrue(
        error(
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"name\":\"a\",\"names\":[\"b\"],\"action\":\"SCMP_ACT_ALLOW\"}]}")
            .contains("both 'name' and 'names'"));
  }

  @Test
  void errno_names_win_over_numbers() throws Exception {
    ObjectNode s =
        convert(
            """
        {"defaultAction":"SCMP_ACT_ERRNO","defaultErrno":"ENOSYS","defaultErrnoRet":1,
         "syscalls":[{"names":["a"],"action":"SCMP_ACT_ERRNO","errno":"EPERM","errnoRet":38},
                     {"names":["b"],"action":"SCMP_ACT_ERRNO","errno":"13"},
                     {"names":["c"],"action":"SCMP_ACT_ERRNO","errno":"EHWPOISON"},
                     {"names":["d"],"action":"SCMP_ACT_ERRNO","errnoRet":22}]}""",
            List.of(),
            AMD64);
    assertEquals(38, s.path("defaultErrnoRet").asInt());
    List<Integer> errnos = new ArrayList<>();
    s.path("syscalls").forEach(r -> errnos.add(r.path("errnoRet").asInt()));
    assertEquals(List.of(1, 13, 133, 22), errnos);
    assertTrue(
        error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrno\":\"ENOPE\"}")
            .contains("unknown errno \"ENOPE\""));
    error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}");
    error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":5000}");
  }

  @Test
  void empty_profile_means_no_filter() throws Exception {
    assertEquals(
        Optional.empty(),
        SeccompProfile.parse("{}".getBytes(StandardCharsets.UTF_8))
            .toRuntimeSpec(List.of(), AMD64));
    assertEquals(
        Optional.empty(),
        SeccompProfile.parse("{\"syscalls\":[]}".getBytes(StandardCharsets.UTF_8))
            .toRuntimeSpec(List.of(), AMD64));
    ObjectNode allow = convert("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", List.of(), AMD64);
    assertEquals(
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[]}", JSON.writeValueAsString(allow));
  }

  @Test
  void invalid_profiles_are_one_line() throws Exception {
    assertTrue(
        error(
                "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"syscalls\": [\n {\"names\": [\"read\"]\n")
            .contains("not valid JSON"));
    assertTrue(error("{\"defaultAction\": SCMP_ACT_ALLOW}").contains("line 1, column"));
    assertTrue(error("").contains("expected a JSON object"));
    assertTrue(
        error("{} {}")
            .endsWith("not valid JSON at line 1, column 4: more text after the JSON object"));
    assertTrue(
        error("{\"defaultAction\":\"SCMP_ACT_ALLOW\"")
            .endsWith("Unexpected end-of-input: expected close marker for Object"));
    error("[]");
    error("\"SCMP_ACT_ALLOW\"");
    error("null");
    assertTrue(
        error("{\"defaultAction\":\"SCMP_ACT_DENY\"}")
            .contains("unknown action \"SCMP_ACT_DENY\""));
    assertTrue(error("{\"defaultAction\":1}").contains("defaultAction: expected a string"));
    assertTrue(
        error("{\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}]}")
            .contains("defaultAction is missing"));
    assertTrue(
        error(
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
                    + "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\"}]}")
            .contains("both 'architectures' and 'archMap'"));
    assertTrue(
        error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_VAX\"]}")
            .contains("SCMP_ARCH_VAX"));
    assertTrue(
        error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_NOPE\"]}")
            .contains("unknown flag"));
    assertTrue(
        error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}")
            .contains("syscalls: expected an array"));
    assertTrue(
        error(
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":\"SCMP_ACT_ALLOW\"}]}")
            .contains("syscalls[0]: no syscall names"));
    assertTrue(
        error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"]}]}")
            .contains("syscalls[0].action is missing"));
    assertTrue(
        error(
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\",2],\"action\":\"SCMP_ACT_ALLOW\"}]}")
            .contains("syscalls[0].names"));
    String argRule =
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[%s]}]}";
    assertTrue(
        error(argRule.formatted("{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}"))
            .contains("syscalls[0].args[0].index"));
    assertTrue(
        error(argRule.formatted("{\"index\":0,\"value\":-1,\"op\":\"SCMP_CMP_EQ\"}"))
            .contains("syscalls[0].args[0].value"));
    error(argRule.formatted("{\"index\":0,\"value\":18446744073709551616,\"op\":\"SCMP_CMP_EQ\"}"));
    error(argRule.formatted("{\"index\":0,\"value\":1.5,\"op\":\"SCMP_CMP_EQ\"}"));
    assertTrue(
        error(argRule.formatted("{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_IS\"}"))
            .contains("unknown operator"));
    assertTrue(
        error(argRule.formatted("{\"value\":1,\"op\":\"SCMP_CMP_EQ\"}"))
            .contains("index is missing"));
    assertTrue(
        error(
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
                    + "\"includes\":{\"caps\":\"CAP_SYS_ADMIN\"}}]}")
            .contains("syscalls[0].includes.caps"));
  }

  @Test
  void size_is_limited() throws Exception {
    StringBuilder big = new StringBuilder("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"comment\":\"");
    while (big.length() <= SeccompProfile.MAX_BYTES) big.append("x".repeat(1024));
    big.append("\"}");
    assertTrue(error(big.toString()).contains("larger than 1024 KiB"));
    Path file = tmp.resolve("big.json");
    Files.writeString(file, big);
    InvalidProfileException e =
        assertThrows(InvalidProfileException.class, () -> SeccompProfile.read(file));
    assertEquals("invalid seccomp profile: larger than 1024 KiB (" + file + ")", e.getMessage());
  }

  @Test
  void unreadable_files_are_one_line() throws Exception {
    Path missing = tmp.resolve("missing.json");
    InvalidProfileException e =
        assertThrows(InvalidProfileException.class, () -> SeccompProfile.read(missing));
    assertEquals("cannot read seccomp profile " + missing + ": no such file", e.getMessage());
    e = assertThrows(InvalidProfileException.class, () -> SeccompProfile.read(tmp));
    assertTrue(
        e.getMessage().startsWith("cannot read seccomp profile " + tmp + ": "), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
    Path bad = tmp.resolve("bad.json");
    Files.writeString(bad, "{\"defaultAction\":\n\"SCMP_ACT_ALLOW\",,}");
    e = assertThrows(InvalidProfileException.class, () -> SeccompProfile.read(bad));
    assertTrue(
        e.getMessage().startsWith("invalid seccomp profile: not valid JSON at line 2"),
        e.getMessage());
    assertTrue(e.getMessage().endsWith("(" + bad + ")"), e.getMessage());
  }

  @Test
  void this_host() {
    Host h = Host.current();
    assertTrue(h.kernel() >= 3, h.toString());
    assertEquals("amd64", SeccompProfile.nativeArch("x86_64"));
    assertEquals("arm64", SeccompProfile.nativeArch("aarch64"));
    assertEquals("SCMP_ARCH_X86_64", SeccompProfile.seccompArch("amd64"));
  }
}
