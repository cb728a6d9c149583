package dev.berth.api.failpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.api.failpoint.Failpoints.Failpoint;
import dev.berth.api.failpoint.Failpoints.Kind;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FailpointsTest {
  @Test
  void parses_every_action_with_and_without_aCount() {
    assertEquals(
        new Failpoint("Start", 0, Kind.DELAY, 2000, null),
        Failpoints.parse("Start", "delay(2000)"));
    assertEquals(new Failpoint("Kill", 0, Kind.ERROR, 0, null), Failpoints.parse("Kill", "error"));
    assertEquals(
        new Failpoint("State", 2, Kind.ERROR, 0, "boom"),
        Failpoints.parse("State", "2*error(boom)"));
    assertEquals(
        new Failpoint("Delete", 1, Kind.CRASH, 0, null), Failpoints.parseEntry("Delete=1*crash"));
    assertEquals("failpoint Kill=error", Failpoints.parse("Kill", "error").errorText());
    assertEquals("boom", Failpoints.parse("Kill", "error(boom)").errorText());
  }

  @Test
  void bad_input_is_one_line_naming_the_problem() {
    assertEquals(
        "invalid failpoint \"Kil=error\": unknown RPC Kil (one of Create, Start, Kill, Delete, WaitExit, State, Pids, CreateExec, StartExec, KillExec, InspectExec, ListExecs, Shutdown)",
        assertThrows(IllegalArgumentException.class, () -> Failpoints.parse("Kil", "error"))
            .getMessage());
    for (String bad :
        new String[] {
          "delay(x)",
          "delay()",
          "delay(-1)",
          "delay(999999999)",
          "0*error",
          "explode",
          "crash(1)",
          "error()",
          "error(a\nb)",
          ""
        }) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Failpoints.parse("Start", bad), bad);
      assertTrue(e.getMessage().startsWith("invalid failpoint \"Start="), e.getMessage());
      assertFalse(e.getMessage().contains("\n") && !bad.contains("\n"), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> Failpoints.parseEntry("Start"));
  }

  @Test
  void file_round_trips_and_aMissing_file_is_none(@TempDir Path dir) throws Exception {
    Path file = dir.resolve(Failpoints.FILE_NAME);
    assertEquals(Map.of(), Failpoints.read(file));
    Failpoints.write(file, Map.of("Start", "delay(5)", "State", "3*error(x y)", "Delete", "crash"));
    Map<String, Failpoint> read = Failpoints.read(file);
    assertEquals(
        Failpoints.parse(Map.of("Start", "delay(5)", "State", "3*error(x y)", "Delete", "crash")),
        Map.copyOf(read));
    assertNull(read.get("Kill"));
  }
}
