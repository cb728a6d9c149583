package dev.berth.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.BerthException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Plugins are executables: these are small shell plugins, run the way the real ones are. */
class CniPluginsTest {
  @TempDir Path dir;

  private void plugin(String name, String script) throws Exception {
    Path p = dir.resolve(name);
    Files.writeString(p, "#!/bin/sh\n" + script);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
  }

  private ObjectNode config(String type) {
    return CniPlugins.JSON
        .createObjectNode()
        .put("cniVersion", "1.0.0")
        .put("name", "n")
        .put("type", type);
  }

  @Test
  void the_plugin_gets_the_cni_environment_and_its_config_on_stdin() throws Exception {
    plugin(
        "echoer",
        "conf=$(cat)\nprintf '{\"cmd\":\"%s\",\"id\":\"%s\",\"netns\":\"%s\",\"ifname\":\"%s\",\"path\":\"%s\",\"conf\":%s}' "
            + "\"$CNI_COMMAND\" \"$CNI_CONTAINERID\" \"$CNI_NETNS\" \"$CNI_IFNAME\" \"$CNI_PATH\" \"$conf\"\n");
    CniPlugins cni = new CniPlugins(List.of(dir), Duration.ofSeconds(10));
    JsonNode r = cni.invoke("ADD", "abc", "/run/ns/abc", "eth0", config("echoer"));
    assertEquals("ADD", r.get("cmd").asText());
    assertEquals("abc", r.get("id").asText());
    assertEquals("/run/ns/abc", r.get("netns").asText());
    assertEquals("eth0", r.get("ifname").asText());
    assertEquals(dir.toString(), r.get("path").asText());
    assertEquals("echoer", r.at("/conf/type").asText());
  }

  @Test
  void a_plugin_error_is_one_line_with_its_message_and_details() throws Exception {
    plugin(
        "failing",
        "cat >/dev/null\nprintf '%s' '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"no luck\",\"details\":\"line one\\nline two\"}'\nexit 1\n");
    CniPlugins cni = new CniPlugins(List.of(dir), Duration.ofSeconds(10));
    BerthException e =
        assertThrows(
            BerthException.class, () -> cni.invoke("ADD", "x", "/n", "eth0", config("failing")));
    assertEquals("CNI plugin failing ADD failed: no luck: line one", e.getMessage());
  }

  @Test
  void a_plugin_that_hangs_is_killed_when_the_timeout_fires() throws Exception {
    plugin("hanging", "sleep 600\n");
    CniPlugins cni = new CniPlugins(List.of(dir), Duration.ofMillis(500));
    long t0 = System.nanoTime();
    BerthException e =
        assertThrows(
            BerthException.class, () -> cni.invoke("DEL", "x", "/n", "eth0", config("hanging")));
    assertTrue(e.getMessage().contains("timed out"), e.getMessage());
    assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "the timeout fired");
  }

  @Test
  void output_beyond_the_bound_is_discarded_and_a_missing_plugin_is_named() throws Exception {
    plugin("chatty", "cat >/dev/null\nhead -c 3000000 /dev/zero | tr '\\0' x\nexit 2\n");
    CniPlugins cni = new CniPlugins(List.of(dir), Duration.ofSeconds(20));
    BerthException e =
        assertThrows(
            BerthException.class, () -> cni.invoke("ADD", "x", "/n", "eth0", config("chatty")));
    assertTrue(e.getMessage().length() < 2 * CniPlugins.OUTPUT_LIMIT, "bounded");
    BerthException missing =
        assertThrows(
            BerthException.class, () -> cni.invoke("ADD", "x", "/n", "eth0", config("nope")));
    assertTrue(missing.getMessage().contains("CNI plugin nope not found"), missing.getMessage());
  }
}
