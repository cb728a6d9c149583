package dev.berth.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class HostRoutesTest {
  /** /proc/net/route as the kernel writes it: little-endian hex. */
  static final List<String> PROC_NET_ROUTE =
      List.of(
          "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
          "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
          "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
          "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0",
          "vpn0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0");

  @Test
  void routes_are_read_without_the_default_route() {
    List<HostRoutes.Route> routes = HostRoutes.parse(PROC_NET_ROUTE);
    assertEquals(3, routes.size());
    assertEquals("192.0.2.0/24", routes.get(0).destination().toString());
    assertEquals("172.17.0.0/16", routes.get(1).destination().toString());
    assertEquals("10.88.0.0/16", routes.get(2).destination().toString());
  }

  @Test
  void the_first_candidate_no_route_overlaps_is_chosen() {
    List<HostRoutes.Route> routes = HostRoutes.parse(PROC_NET_ROUTE);
    // 10.88/16 (vpn0) and 172.17/16 (docker0) are taken
    assertEquals("172.18.0.0/16", HostRoutes.choose(routes, "berth0").orElseThrow().toString());
    assertEquals("10.88.0.0/16", HostRoutes.choose(List.of(), "berth0").orElseThrow().toString());
  }

  @Test
  void the_bridge_own_route_does_not_count_as_a_collision() {
    List<HostRoutes.Route> routes =
        List.of(new HostRoutes.Route("berth0", Subnet.parse("10.88.0.0/16")));
    assertEquals("10.88.0.0/16", HostRoutes.choose(routes, "berth0").orElseThrow().toString());
    assertTrue(HostRoutes.collision(routes, "other0", Subnet.parse("10.88.5.0/24")).isPresent());
  }

  @Test
  void overlap_works_both_ways_across_prefix_lengths() {
    assertTrue(Subnet.parse("10.0.0.0/8").overlaps(Subnet.parse("10.88.0.0/16")));
    assertTrue(Subnet.parse("10.88.0.0/16").overlaps(Subnet.parse("10.0.0.0/8")));
    assertFalse(Subnet.parse("10.88.0.0/16").overlaps(Subnet.parse("10.89.0.0/16")));
    assertEquals("10.88.0.1", Subnet.parse("10.88.3.7/16").gateway());
    for (String bad : List.of("10.88.0.0", "300.1.1.1/16", "10.0.0.0/31", "abc/8", ""))
      assertThrows(IllegalArgumentException.class, () -> Subnet.parse(bad), bad);
  }
}
