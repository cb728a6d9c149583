package dev.berth.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.PortMapping;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConflistsTest {
  final ObjectNode list =
      Conflists.bridge("berth0", "berth0", Subnet.parse("10.88.0.0/16"), Path.of("/run/x/ipam"));

  @Test
  void the_default_network_is_bridge_portmap_and_firewall_in_cni_1_0() {
    assertEquals("1.0.0", list.get("cniVersion").asText());
    List<String> types = list.findValuesAsText("type");
    assertEquals(List.of("bridge", "host-local", "portmap", "firewall"), types);
    JsonNode bridge = list.get("plugins").get(0);
    assertEquals("berth0", bridge.get("bridge").asText());
    assertTrue(bridge.get("isGateway").asBoolean());
    assertTrue(bridge.get("ipMasq").asBoolean());
    JsonNode range = bridge.at("/ipam/ranges/0/0");
    assertEquals("10.88.0.0/16", range.get("subnet").asText());
    assertEquals("10.88.0.1", range.get("gateway").asText());
    assertEquals("/run/x/ipam", bridge.at("/ipam/dataDir").asText());
    JsonNode portmap = list.get("plugins").get(1);
    assertTrue(portmap.at("/capabilities/portMappings").asBoolean());
    assertTrue(portmap.get("snat").asBoolean()); // 127.0.0.1 reaches published ports
    assertEquals("10.88.0.0/16", Conflists.subnetOf(list).toString());
  }

  @Test
  void each_plugin_gets_the_list_name_version_prev_result_and_only_its_capabilities() {
    JsonNode rc =
        Conflists.runtimeConfig(
            List.of(
                new PortMapping("", 8080, 80, "tcp"), new PortMapping("127.0.0.1", 53, 53, "udp")));
    JsonNode prev = CniPlugins.JSON.createObjectNode().put("cniVersion", "1.0.0");
    ObjectNode portmap = Conflists.pluginConfig(list, list.get("plugins").get(1), prev, rc);
    assertEquals("berth0", portmap.get("name").asText());
    assertEquals("1.0.0", portmap.get("cniVersion").asText());
    assertEquals(prev, portmap.get("prevResult"));
    assertFalse(portmap.has("capabilities"));
    JsonNode mappings = portmap.at("/runtimeConfig/portMappings");
    assertEquals(8080, mappings.get(0).get("hostPort").asInt());
    assertFalse(mappings.get(0).has("hostIP"));
    assertEquals("127.0.0.1", mappings.get(1).get("hostIP").asText());
    assertEquals("udp", mappings.get(1).get("protocol").asText());
    ObjectNode bridge = Conflists.pluginConfig(list, list.get("plugins").get(0), null, rc);
    assertFalse(bridge.has("runtimeConfig"));
    assertFalse(bridge.has("prevResult"));
  }
}
