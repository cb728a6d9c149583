package dev.berth.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.it.BerthHarness.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Shim groups across processes: real berthd, group shims, runc. */
class GroupIT {
  private static final Duration GONE = Duration.ofSeconds(20);

  @Test
  void five_containers_of_a_named_group_share_one_shim_which_ends_with_the_last() throws Exception {
    try (BerthHarness berth = BerthHarness.start("GroupIT-web")) {
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        ids.add(berth.runDetached("--shim-group", "web", "busybox", "sleep", "1000"));
      }
      long shim = berth.inspect(ids.get(0)).path("shimPid").asLong();
      assertTrue(BerthHarness.processAlive(shim), "shim " + shim + " alive");
      for (String id : ids) {
        JsonNode c = berth.inspect(id);
        assertEquals("running", c.path("state").asText(), c.toString());
        assertEquals(shim, c.path("shimPid").asLong(), c.toString());
        assertEquals("web", c.path("shimGroup").asText(), c.toString());
        assertEquals(shim, berth.shimPid(id), "groups/web/shim.pid names the same shim");
      }
      Path groupDir = berth.groupDir("web");
      Path socket = berth.shimSocket(ids.get(0));
      assertTrue(Files.exists(socket), socket.toString());

      berth.ok("rm", "-f", ids.get(0));
      assertFalse(Files.exists(berth.shimDir(ids.get(0))), "its task dir is gone");
      assertTrue(BerthHarness.processAlive(shim), "the group shim stays");
      for (String id : ids.subList(1, 5)) {
        JsonNode c = berth.inspect(id);
        assertEquals("running", c.path("state").asText(), c.toString());
        assertTrue(BerthHarness.processAlive(c.path("pid").asLong()), c.toString());
      }
      // exec in one of them still works through the shared shim
      assertEquals("hi", berth.ok("exec", ids.get(2), "echo", "hi"));

      for (String id : ids.subList(1, 5)) berth.ok("rm", "-f", id);
      assertTrue(
          BerthHarness.eventually(GONE, () -> !BerthHarness.processAlive(shim)),
          "the empty group's shim ended");
      assertTrue(
          BerthHarness.eventually(GONE, () -> !Files.exists(groupDir) && !Files.exists(socket)),
          "no group dir or socket left: " + listing(berth.state));
    }
  }

  @Test
  void bad_group_names_are_refused_in_one_line_and_nothing_is_created() throws Exception {
    try (BerthHarness berth = BerthHarness.start("GroupIT-bad")) {
      for (String bad : List.of("a/b", "..", "x..y", "-x", ".auto-1")) {
        Result r = berth.berth("run", "-d", "--shim-group", bad, "busybox", "true");
        assertEquals(125, r.exitCode(), r.toString());
        List<String> lines = r.stderrLines();
        assertEquals(1, lines.size(), r.toString());
        assertTrue(lines.get(0).contains("invalid shim group"), r.toString());
        assertTrue(r.stdout().isEmpty(), r.toString());
      }
      assertEquals(List.of(), berth.psAll());
      assertFalse(Files.exists(berth.state.resolve("groups/a")));
    }
  }

  @Test
  void with_group_size_3_the_fourth_default_container_goes_to_a_new_group() throws Exception {
    try (BerthHarness berth =
        BerthHarness.start("GroupIT-size", List.of("--shim-group-size", "3"))) {
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < 4; i++) ids.add(berth.runDetached("busybox", "sleep", "1000"));
      List<JsonNode> views = ids.stream().map(berth::inspect).toList();
      assertEquals(".auto-1", views.get(0).path("shimGroup").asText(), views.toString());
      for (int i = 1; i < 3; i++) {
        assertEquals(".auto-1", views.get(i).path("shimGroup").asText(), views.toString());
        assertEquals(views.get(0).path("shimPid"), views.get(i).path("shimPid"));
      }
      assertEquals(".auto-2", views.get(3).path("shimGroup").asText(), views.toString());
      assertNotEquals(views.get(0).path("shimPid").asLong(), views.get(3).path("shimPid").asLong());
      assertTrue(Files.isDirectory(berth.groupDir(".auto-2")));
      // a size of 0 is refused
      ProcessBuilder pb =
          new ProcessBuilder(BerthHarness.BERTHD.toString(), "--shim-group-size", "0")
              .redirectErrorStream(true);
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes()).strip();
      assertNotEquals(0, p.waitFor());
      assertEquals("berthd: --shim-group-size must be 1..64, not 0", out);
    }
  }

  private static String listing(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.map(Path::toString).toList().toString();
    } catch (Exception e) {
      return e.toString();
    }
  }
}
