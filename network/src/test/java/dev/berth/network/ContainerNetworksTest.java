package dev.berth.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.BerthException;
import dev.berth.core.NetworkSettings;
import dev.berth.core.NetworkSpec;
import dev.berth.core.PortMapping;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real plugins on a bridge of the test's own: set-up, the cache, a daemon's restart finding the
 * network, and reconcile tearing down a network whose container is gone (what a kill -9 of berthd
 * between set-up and removal leaves).
 */
class ContainerNetworksTest {
  static final String BRIDGE = "berthut0";
  @TempDir Path root;
  @TempDir Path state;

  @AfterEach
  void removeBridge() throws Exception {
    new ProcessBuilder("ip", "link", "del", BRIDGE).start().waitFor();
  }

  private ContainerNetworks daemon() throws Exception {
    ContainerNetworks n =
        new ContainerNetworks(
            root,
            state,
            BRIDGE,
            null,
            new CniPlugins(List.of(Path.of("/usr/lib/cni")), Duration.ofSeconds(30)));
    n.open();
    return n;
  }

  private static String iptables() throws Exception {
    StringBuilder b = new StringBuilder();
    for (String t : List.of("nat", "filter")) {
      Process p = new ProcessBuilder("iptables-save", "-t", t).start();
      b.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
      p.waitFor();
    }
    return b.toString();
  }

  @Test
  void reconcile_tears_down_a_network_whose_container_is_gone() throws Exception {
    String id = "ab".repeat(32);
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    NetworkSpec spec =
        new NetworkSpec(
            "bridge",
            List.of(new PortMapping("", port, 80, "tcp")),
            List.of(),
            List.of(),
            List.of());
    NetworkSettings set = daemon().setUp(id, spec);
    assertFalse(set.ipAddress().isEmpty());
    assertTrue(NetnsFiles.pinned(state.resolve("netns").resolve(id)));
    assertTrue(iptables().contains(id), "portmap's rules carry the id");

    // a restarted daemon finds the network as it was, and refuses its port to another container
    ContainerNetworks restarted = daemon();
    assertEquals(set, restarted.settings(id).orElseThrow());
    restarted.reconcile(Set.of(id));
    assertEquals(set, restarted.setUp(id, spec));
    assertThrows(BerthException.class, () -> restarted.checkPorts("cd".repeat(32), spec));

    restarted.reconcile(Set.of()); // the container is gone
    assertFalse(Files.exists(state.resolve("netns").resolve(id)));
    assertFalse(Files.exists(state.resolve("cni/results").resolve(id + ".json")));
    assertFalse(iptables().contains(id), "no rule of the container is left");
    try (var leases = Files.walk(state.resolve("cni/ipam"))) {
      for (Path f : leases.filter(Files::isRegularFile).toList())
        assertFalse(Files.readString(f).contains(id), "lease " + f);
    }
  }
}
