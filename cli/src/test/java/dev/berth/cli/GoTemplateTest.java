package dev.berth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class GoTemplateTest {
  private static Map<String, Object> data() {
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("Status", "running");
    state.put("Pid", 42);
    state.put("Running", true);
    Map<String, Object> nets = new LinkedHashMap<>();
    nets.put("zeta", Map.of("IPAddress", "10.0.0.3"));
    nets.put("alpha", Map.of("IPAddress", "10.1.0.2"));
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("Name", "/web");
    m.put("State", state);
    m.put("Args", List.of("-c", "echo hi"));
    m.put("Labels", Map.of("tier", "front"));
    m.put("Networks", nets);
    m.put("Empty", "");
    m.put("Label", (Function<String, Object>) k -> k.equals("tier") ? "front" : "");
    return m;
  }

  private static String render(String t) {
    return GoTemplate.parse(t).render(data());
  }

  @Test
  void fields_nest_and_missing_keys_print_no_value_as_go_does() {
    assertEquals("running 42 /web", render("{{.State.Status}} {{.State.Pid}} {{.Name}}"));
    assertEquals("<no value>", render("{{.State.Nope}}"));
    assertEquals("[-c echo hi]", render("{{.Args}}"));
    assertEquals("map[tier:front]", render("{{.Labels}}"));
  }

  @Test
  void functions_json_upper_join_index_len_and_methods() {
    assertEquals("{\"Status\":\"running\",\"Pid\":42,\"Running\":true}", render("{{json .State}}"));
    assertEquals("RUNNING", render("{{upper .State.Status}}"));
    assertEquals("-c,echo hi", render("{{join .Args \",\"}}"));
    assertEquals("front", render("{{index .Labels \"tier\"}}"));
    assertEquals("2", render("{{len .Args}}"));
    assertEquals("front|", render("{{.Label \"tier\"}}|{{.Label \"x\"}}"));
  }

  @Test
  void range_goes_over_lists_and_maps_in_key_order_and_if_else_tests_values() {
    assertEquals("10.1.0.2 10.0.0.3 ", render("{{range .Networks}}{{.IPAddress}} {{end}}"));
    assertEquals("[-c][echo hi]", render("{{range .Args}}[{{.}}]{{end}}"));
    assertEquals("up", render("{{if .State.Running}}up{{else}}down{{end}}"));
    assertEquals("none", render("{{if .Empty}}some{{else}}none{{end}}"));
    assertEquals("a\nb", render("a {{- \"\\n\" -}} b"));
  }

  @Test
  void bad_templates_are_one_line_parse_errors() {
    for (String bad :
        List.of(
            "{{.Name",
            "{{}}",
            "{{bogus .Name}}",
            "{{range .Args}}x",
            "{{end}}",
            "{{.Name | upper}}",
            "{{\"open}}",
            "{{.a..b}}",
            "x".repeat(GoTemplate.MAX_LENGTH + 1))) {
      CliException e = assertThrows(CliException.class, () -> GoTemplate.parse(bad), bad);
      assertTrue(e.getMessage().startsWith("template parsing error: "), e.getMessage());
      assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }
  }

  @Test
  void evaluation_errors_are_one_line() {
    CliException e = assertThrows(CliException.class, () -> render("{{.State.Status.Deeper}}"));
    assertEquals("template: can't evaluate field Deeper in string", e.getMessage());
    assertThrows(CliException.class, () -> render("{{range .Name}}{{end}}"));
  }
}
