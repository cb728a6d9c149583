package dev.berth.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RuntimeSpecTest {
  static final ObjectMapper JSON = new ObjectMapper();

  private static List<String> texts(JsonNode n) {
    List<String> out = new ArrayList<>();
    n.forEach(x -> out.add(x.asText()));
    return out;
  }

  @Test
  void docker_like_defaults() throws Exception {
    String id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    byte[] bytes =
        RuntimeSpec.generate(
            id,
            new ProcessConfig(
                List.of("sh", "-c", "echo hi"),
                List.of("FOO=bar"),
                "/work",
                1000,
                1001,
                List.of(10, 20)),
            "box",
            Path.of("relative/rootfs"),
            List.of(),
            null);
    JsonNode s = JSON.readTree(bytes);
    assertEquals("1.0.2", s.path("ociVersion").asText());
    JsonNode p = s.path("process");
    assertFalse(p.path("terminal").asBoolean(true));
    assertTrue(p.path("noNewPrivileges").asBoolean());
    assertEquals(List.of("sh", "-c", "echo hi"), texts(p.path("args")));
    assertEquals(List.of(RuntimeSpec.DEFAULT_PATH, "FOO=bar"), texts(p.path("env")));
    assertEquals("/work", p.path("cwd").asText());
    assertEquals(1000, p.path("user").path("uid").asInt());
    assertEquals(1001, p.path("user").path("gid").asInt());
    assertEquals(List.of("10", "20"), texts(p.path("user").path("additionalGids")));
    for (String set : List.of("bounding", "effective", "permitted")) {
      assertEquals(RuntimeSpec.DEFAULT_CAPABILITIES, texts(p.path("capabilities").path(set)), set);
    }
    assertEquals(14, RuntimeSpec.DEFAULT_CAPABILITIES.size());
    assertTrue(p.path("capabilities").path("inheritable").isEmpty());
    assertTrue(p.path("capabilities").path("ambient").isEmpty());
    assertTrue(p.path("rlimits").isMissingNode(), "no rlimits");

    assertEquals("relative/rootfs", s.path("root").path("path").asText());
    assertFalse(s.path("root").path("readonly").asBoolean(true));
    assertEquals("box", s.path("hostname").asText());

    List<String> dests = new ArrayList<>();
    s.path("mounts").forEach(m -> dests.add(m.path("destination").asText()));
    assertEquals(
        List.of("/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"),
        dests);
    JsonNode shm = s.path("mounts").get(6);
    assertEquals("tmpfs", shm.path("type").asText());
    assertEquals(
        List.of("nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
        texts(shm.path("options")));
    assertEquals(
        List.of("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
        texts(s.path("mounts").get(2).path("options")));
    assertEquals(
        List.of("ro", "nosuid", "noexec", "nodev", "relatime"),
        texts(s.path("mounts").get(4).path("options")));

    JsonNode linux = s.path("linux");
    assertEquals("/berth/" + id, linux.path("cgroupsPath").asText());
    List<String> ns = new ArrayList<>();
    linux
        .path("namespaces")
        .forEach(
            n -> {
              ns.add(n.path("type").asText());
              assertTrue(n.path("path").isMissingNode(), "new namespaces only");
            });
    assertEquals(List.of("pid", "network", "ipc", "uts", "mount"), ns);
    assertEquals(RuntimeSpec.MASKED_PATHS, texts(linux.path("maskedPaths")));
    assertTrue(texts(linux.path("maskedPaths")).contains("/proc/kcore"));
    assertEquals(
        List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"),
        texts(linux.path("readonlyPaths")));
    JsonNode devices = linux.path("resources").path("devices");
    assertFalse(devices.get(0).path("allow").asBoolean(true));
    assertEquals("rwm", devices.get(0).path("access").asText());
    assertTrue(devices.get(0).path("type").isMissingNode());
    List<String> rules = new ArrayList<>();
    for (int i = 1; i < devices.size(); i++) {
      JsonNode d = devices.get(i);
      assertTrue(d.path("allow").asBoolean());
      rules.add(
          d.path("type").asText()
              + " "
              + d.path("major").asText("*")
              + ":"
              + d.path("minor").asText("*")
              + " "
              + d.path("access").asText());
    }
    assertEquals(
        List.of(
            "c *:* m",
            "b *:* m",
            "c 1:3 rwm",
            "c 1:8 rwm",
            "c 1:7 rwm",
            "c 5:0 rwm",
            "c 1:5 rwm",
            "c 1:9 rwm",
            "c 5:1 rwm",
            "c 136:* rwm",
            "c 5:2 rwm",
            "c 10:200 rwm"),
        rules);
  }

  @Test
  void image_path_is_kept_and_extra_mounts_append_or_replace() throws Exception {
    Map<String, Object> bind =
        Map.of(
            "destination",
            "/data",
            "type",
            "bind",
            "source",
            "/srv/data",
            "options",
            List.of("rbind", "rw"));
    Map<String, Object> shm =
        Map.of(
            "destination",
            "/dev/shm",
            "type",
            "tmpfs",
            "source",
            "shm",
            "options",
            List.of("size=1g"));
    JsonNode s =
        JSON.readTree(
            RuntimeSpec.generate(
                "abcdef0123456789",
                new ProcessConfig(List.of("true"), List.of("PATH=/bin"), null, 0, 0, null),
                null,
                Path.of("/r"),
                List.of(bind, shm),
                null));
    assertEquals(List.of("PATH=/bin"), texts(s.path("process").path("env")));
    assertEquals("/", s.path("process").path("cwd").asText());
    assertEquals("abcdef012345", s.path("hostname").asText());
    assertTrue(s.path("process").path("user").path("additionalGids").isMissingNode());
    List<String> dests = new ArrayList<>();
    s.path("mounts").forEach(m -> dests.add(m.path("destination").asText()));
    assertEquals(
        List.of(
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/data",
            "/dev/shm"),
        dests);
    assertEquals(List.of("size=1g"), texts(s.path("mounts").get(7).path("options")));
    assertEquals("/srv/data", s.path("mounts").get(6).path("source").asText());
  }
}
