package dev.berth.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.BerthException;
import dev.berth.core.Signals;
import dev.berth.host.BerthPaths;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SignalsAndSpecsTest {
  @Test
  void signals_by_name_number_and_prefix() {
    assertEquals(15, Signals.parse("TERM", 9));
    assertEquals(15, Signals.parse("sigterm", 9));
    assertEquals(9, Signals.parse("", 9));
    assertEquals(10, Signals.parse("10", 9));
    assertEquals(
        BerthException.Code.INVALID_ARGUMENT,
        assertThrows(BerthException.class, () -> Signals.parse("NOPE", 9)).code());
    assertThrows(BerthException.class, () -> Signals.parse("99", 9));
  }

  @Test
  void container_names_follow_docker_and_never_look_like_paths() {
    assertNull(ContainerSpecs.checkName("web-1.a_b"));
    assertNotNull(ContainerSpecs.checkName("a/b"));
    assertNotNull(ContainerSpecs.checkName(".."));
    assertNotNull(ContainerSpecs.checkName("x..y"));
    assertNotNull(ContainerSpecs.checkName("-x"));
    assertTrue(
        ContainerSpecs.checkName("a".repeat(200)).endsWith(": 200 characters, at most 128"),
        ContainerSpecs.checkName("a".repeat(200)));
    assertNull(ContainerSpecs.checkName("a".repeat(128)));
    assertNotNull(ContainerSpecs.checkName("0123456789abcdef".repeat(4)));
  }

  @Test
  void env_overrides_replace_image_values_and_path_is_always_set() {
    List<String> env = ContainerSpecs.mergeEnv(List.of("A=1", "B=2"), List.of("B=3", "C=4"));
    assertEquals(
        List.of(
            "A=1",
            "B=3",
            "C=4",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        env);
  }

  @Test
  void shim_socket_paths_stay_short_and_distinct() {
    BerthPaths p =
        new BerthPaths(
            Path.of("/var/lib/berth"),
            Path.of("/run/berth"),
            Path.of("/run/berth/berth.sock"),
            Path.of("/opt/berth"),
            "runc");
    String id = "f".repeat(64);
    Path s = p.shimSocket(id);
    assertTrue(s.toString().length() < 108, s.toString());
    assertTrue(!s.equals(p.shimSocket("e".repeat(64))));
  }

  @Test
  void errors_are_one_line() {
    assertEquals("first", BerthException.oneLine(" first \n second"));
    assertEquals(
        "boom",
        BerthException.from(
                new java.util.concurrent.CompletionException(
                    new IllegalStateException("boom\nat x")))
            .getMessage());
  }
}
