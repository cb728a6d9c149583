package dev.berth.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.BerthException;
import dev.berth.core.PortMapping;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The network configuration lists Berth writes (CNI 1.0 conflists) and runs: a list is run plugin
 * by plugin, each ADD getting the previous plugin's result as {@code prevResult}; DEL runs the
 * plugins in reverse order with the cached result; {@code runtimeConfig} carries the capability
 * arguments a plugin declares ({@code portMappings} for portmap).
 */
public final class Conflists {
  public static final String CNI_VERSION = "1.0.0";

  /** The default network's name in its conflist (portmap and firewall name their chains by it). */
  public static final String BRIDGE_NETWORK = "berth";

  private Conflists() {}

  /**
   * The default network: a {@code bridge} with NAT to the outside and {@code host-local} leases in
   * {@code ipamDir}, {@code portmap} for published ports (with SNAT, so that a port answers on
   * 127.0.0.1 too), and {@code firewall} (lets the bridge's traffic through a FORWARD policy of
   * DROP).
   */
  public static ObjectNode bridge(String name, String bridge, Subnet subnet, Path ipamDir) {
    ObjectNode list = CniPlugins.JSON.createObjectNode();
    list.put("cniVersion", CNI_VERSION);
    list.put("name", name);
    ArrayNode plugins = list.putArray("plugins");
    ObjectNode br = plugins.addObject();
    br.put("type", "bridge");
    br.put("bridge", bridge);
    br.put("isGateway", true);
    br.put("ipMasq", true);
    br.put("hairpinMode", true);
    ObjectNode ipam = br.putObject("ipam");
    ipam.put("type", "host-local");
    ipam.putArray("ranges")
        .addArray()
        .addObject()
        .put("subnet", subnet.toString())
        .put("gateway", subnet.gateway());
    ipam.putArray("routes").addObject().put("dst", "0.0.0.0/0");
    ipam.put("dataDir", ipamDir.toString());
    ObjectNode portmap = plugins.addObject();
    portmap.put("type", "portmap");
    portmap.putObject("capabilities").put("portMappings", true);
    portmap.put("snat", true);
    ObjectNode firewall = plugins.addObject();
    firewall.put("type", "firewall");
    firewall.put("backend", "iptables");
    return list;
  }

  /** A container's loopback interface ({@code lo}), brought up by the {@code loopback} plugin. */
  public static ObjectNode loopback() {
    ObjectNode list = CniPlugins.JSON.createObjectNode();
    list.put("cniVersion", CNI_VERSION);
    list.put("name", "berth-loopback");
    list.putArray("plugins").addObject().put("type", "loopback");
    return list;
  }

  /** The subnet of a bridge conflist's first range. */
  public static Subnet subnetOf(JsonNode list) {
    return Subnet.parse(
        list.path("plugins")
            .path(0)
            .path("ipam")
            .path("ranges")
            .path(0)
            .path(0)
            .path("subnet")
            .asText(""));
  }

  /**
   * portmap's runtimeConfig: {@code {"portMappings":[{hostPort, containerPort, protocol,
   * hostIP}]}}.
   */
  public static ObjectNode runtimeConfig(List<PortMapping> ports) {
    ObjectNode rc = CniPlugins.JSON.createObjectNode();
    ArrayNode pm = rc.putArray("portMappings");
    for (PortMapping p : ports) {
      ObjectNode m = pm.addObject();
      m.put("hostPort", p.hostPort());
      m.put("containerPort", p.containerPort());
      m.put("protocol", p.protocol());
      if (!p.hostIp().isEmpty()) m.put("hostIP", p.hostIp());
    }
    return rc;
  }

  /** What one plugin of {@code list} is given on stdin. */
  static ObjectNode pluginConfig(
      JsonNode list, JsonNode plugin, JsonNode prevResult, JsonNode runtimeConfig) {
    ObjectNode conf = ((ObjectNode) plugin).deepCopy();
    conf.put("cniVersion", list.path("cniVersion").asText(CNI_VERSION));
    conf.put("name", list.path("name").asText());
    if (prevResult != null) conf.set("prevResult", prevResult);
    ObjectNode rc = CniPlugins.JSON.createObjectNode();
    plugin
        .path("capabilities")
        .fields()
        .forEachRemaining(
            c -> {
              if (c.getValue().asBoolean()
                  && runtimeConfig != null
                  && runtimeConfig.has(c.getKey()))
                rc.set(c.getKey(), runtimeConfig.get(c.getKey()));
            });
    conf.remove("capabilities");
    if (!rc.isEmpty()) conf.set("runtimeConfig", rc);
    return conf;
  }

  /** ADD through every plugin of the list; the last plugin's result. */
  public static JsonNode add(
      CniPlugins cni,
      JsonNode list,
      String id,
      String netns,
      String ifname,
      JsonNode runtimeConfig) {
    JsonNode prev = null;
    for (JsonNode plugin : list.path("plugins")) {
      JsonNode r =
          cni.invoke("ADD", id, netns, ifname, pluginConfig(list, plugin, prev, runtimeConfig));
      if (r != null) prev = r;
    }
    return prev;
  }

  /** CHECK through every plugin with the cached result. */
  public static void check(
      CniPlugins cni,
      JsonNode list,
      String id,
      String netns,
      String ifname,
      JsonNode runtimeConfig,
      JsonNode result) {
    for (JsonNode plugin : list.path("plugins"))
      cni.invoke("CHECK", id, netns, ifname, pluginConfig(list, plugin, result, runtimeConfig));
  }

  /**
   * DEL through every plugin in reverse order, each one even if an earlier one failed (what can be
   * released is released); the first failure is thrown after.
   */
  public static void del(
      CniPlugins cni,
      JsonNode list,
      String id,
      String netns,
      String ifname,
      JsonNode runtimeConfig,
      JsonNode result) {
    List<JsonNode> plugins = new ArrayList<>();
    list.path("plugins").forEach(plugins::add);
    BerthException first = null;
    for (int i = plugins.size() - 1; i >= 0; i--) {
      try {
        cni.invoke(
            "DEL", id, netns, ifname, pluginConfig(list, plugins.get(i), result, runtimeConfig));
      } catch (BerthException e) {
        if (first == null) first = e;
      }
    }
    if (first != null) throw first;
  }
}
