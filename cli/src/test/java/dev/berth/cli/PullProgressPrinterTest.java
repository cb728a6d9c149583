package dev.berth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.api.v1.Image;
import dev.berth.api.v1.PullImageResponse;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PullProgressPrinterTest {
  private static PullImageResponse p(String id, String status, long current, long total) {
    return PullImageResponse.newBuilder()
        .setId(id)
        .setStatus(status)
        .setCurrent(current)
        .setTotal(total)
        .build();
  }

  private static String render(PullProgressPrinter.Mode mode) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    PullProgressPrinter printer = new PullProgressPrinter(out, mode);
    printer.accept(p("", "1: Pulling from test/app", 0, 0));
    printer.accept(p("aaaaaaaaaaaa", "Pulling fs layer", 0, 1000));
    printer.accept(p("bbbbbbbbbbbb", "Pulling fs layer", 0, 3000));
    printer.accept(p("aaaaaaaaaaaa", "Downloading", 100, 1000));
    printer.accept(p("aaaaaaaaaaaa", "Downloading", 500, 1000));
    printer.accept(p("bbbbbbbbbbbb", "Already exists", 0, 0));
    printer.accept(p("aaaaaaaaaaaa", "Download complete", 1000, 1000));
    printer.accept(p("aaaaaaaaaaaa", "Pull complete", 0, 0));
    printer.accept(p("", "Digest: sha256:abc", 0, 0));
    printer.accept(
        PullImageResponse.newBuilder().setImage(Image.newBuilder().setId("sha256:x")).build());
    printer.finish();
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void plain_output_has_one_line_per_status_change_and_no_bars_or_escapes() {
    String out = render(PullProgressPrinter.Mode.PLAIN);
    assertEquals(
        String.join(
            "\n",
            "1: Pulling from test/app",
            "aaaaaaaaaaaa: Pulling fs layer",
            "bbbbbbbbbbbb: Pulling fs layer",
            "aaaaaaaaaaaa: Downloading",
            "bbbbbbbbbbbb: Already exists",
            "aaaaaaaaaaaa: Download complete",
            "aaaaaaaaaaaa: Pull complete",
            "Digest: sha256:abc",
            ""),
        out);
  }

  @Test
  void terminal_output_redraws_layer_lines_with_bars_and_aTotal() {
    String out = render(PullProgressPrinter.Mode.TTY);
    assertTrue(out.contains("\u001b[3A"), "moves the cursor back over 2 layer lines + the total");
    assertTrue(
        out.contains(
            "aaaaaaaaaaaa: Downloading [====================================================>"
                .substring(0, 40)),
        out);
    assertTrue(out.contains("Total: ["), out);
    assertTrue(out.endsWith("Digest: sha256:abc\n"), out);
    assertTrue(out.contains("aaaaaaaaaaaa: Pull complete"), out);
  }

  @Test
  void quiet_prints_nothing_and_the_mode_follows_the_environment() {
    assertEquals("", render(PullProgressPrinter.Mode.QUIET));
    assertEquals(
        PullProgressPrinter.Mode.QUIET,
        PullProgressPrinter.modeFor(true, Map.of("BERTH_PROGRESS", "tty")));
    assertEquals(
        PullProgressPrinter.Mode.TTY,
        PullProgressPrinter.modeFor(false, Map.of("BERTH_PROGRESS", "tty")));
    assertEquals(
        PullProgressPrinter.Mode.PLAIN,
        PullProgressPrinter.modeFor(false, Map.of("BERTH_PROGRESS", "plain")));
    assertEquals(
        "[=========================>                        ] 500B/1000B".replace("B/", "B/"),
        PullProgressPrinter.bar(500, 1000).replaceAll("\\] .*", "] 500B/1000B"));
  }
}
