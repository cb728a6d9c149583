package dev.berth.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.BerthException;
import dev.berth.core.PortMapping;
import java.util.List;
import org.junit.jupiter.api.Test;

class PortSpecsTest {
  @Test
  void every_form_of_docker_grammar_parses() {
    assertEquals(new PortMapping("", 0, 80, "tcp"), PortSpecs.parse("80"));
    assertEquals(new PortMapping("", 0, 53, "udp"), PortSpecs.parse("53/udp"));
    assertEquals(new PortMapping("", 8080, 80, "tcp"), PortSpecs.parse("8080:80"));
    assertEquals(
        new PortMapping("127.0.0.1", 8080, 80, "tcp"), PortSpecs.parse("127.0.0.1:8080:80/tcp"));
    assertEquals(new PortMapping("127.0.0.1", 0, 80, "tcp"), PortSpecs.parse("127.0.0.1::80"));
    assertEquals(new PortMapping("", 1, 65535, "udp"), PortSpecs.parse("0.0.0.0:1:65535/udp"));
  }

  @Test
  void malformed_specs_are_one_line_errors_naming_them() {
    for (String bad :
        List.of(
            "70000:80",
            "abc",
            "1:2:3:4",
            "80:0",
            "",
            "80/sctp",
            "8080:",
            "999.1.1.1:80:80",
            "-1:80",
            "80:abc",
            "1.2.3:80:80",
            "123456")) {
      BerthException e = assertThrows(BerthException.class, () -> PortSpecs.parse(bad), bad);
      assertEquals(BerthException.Code.INVALID_ARGUMENT, e.code(), bad);
      assertFalse(e.getMessage().contains("\n"), bad);
      assertTrue(e.getMessage().startsWith("invalid -p"), e.getMessage());
    }
  }

  @Test
  void one_host_port_asked_twice_is_refused_but_other_protocols_and_addresses_are_not() {
    assertThrows(BerthException.class, () -> PortSpecs.parseAll(List.of("8080:80", "8080:81")));
    assertThrows(
        BerthException.class, () -> PortSpecs.parseAll(List.of("8080:80", "127.0.0.1:8080:81")));
    assertEquals(2, PortSpecs.parseAll(List.of("8080:80", "8080:80/udp")).size());
    assertEquals(2, PortSpecs.parseAll(List.of("127.0.0.1:8080:80", "127.0.0.2:8080:80")).size());
    assertEquals(2, PortSpecs.parseAll(List.of("80", "80")).size()); // two free ports
  }
}
