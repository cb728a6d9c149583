package dev.berth.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.berth.core.BerthException;
import dev.berth.core.NetworkOptions;
import dev.berth.core.NetworkSpec;
import dev.berth.core.PortMapping;
import java.util.List;
import org.junit.jupiter.api.Test;

class NetworkSpecsTest {
  static NetworkOptions opts(String mode, List<String> publish, boolean all) {
    return new NetworkOptions(mode, publish, all, List.of(), List.of(), List.of());
  }

  @Test
  void the_default_is_the_bridge_and_publish_all_adds_the_image_exposed_ports() {
    NetworkSpec s =
        NetworkSpecs.resolve(opts("", List.of("8080:80"), true), List.of("80/tcp", "53/udp"));
    assertEquals("bridge", s.mode());
    assertEquals(
        List.of(new PortMapping("", 8080, 80, "tcp"), new PortMapping("", 0, 53, "udp")),
        s.ports());
  }

  @Test
  void bad_network_flags_are_refused_with_one_line() {
    List<NetworkOptions> bad =
        List.of(
            opts("a/b", List.of(), false),
            opts("..", List.of(), false),
            opts("nosuchnet", List.of(), false),
            opts("host", List.of("80"), false),
            opts("none", List.of("8080:80"), false),
            new NetworkOptions("", List.of(), false, List.of("not-an-ip"), List.of(), List.of()),
            new NetworkOptions("", List.of(), false, List.of(), List.of("bad domain"), List.of()),
            new NetworkOptions("", List.of(), false, List.of(), List.of(), List.of("nocolon")),
            new NetworkOptions("", List.of(), false, List.of(), List.of(), List.of("h:999.0.0.1")));
    for (NetworkOptions o : bad) {
      BerthException e =
          assertThrows(BerthException.class, () -> NetworkSpecs.resolve(o, List.of()));
      assertEquals(-1, e.getMessage().indexOf('\n'), e.getMessage());
    }
  }
}
