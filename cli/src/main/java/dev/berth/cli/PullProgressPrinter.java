package dev.berth.cli;

import dev.berth.api.v1.PullImageResponse;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders a pull's progress stream like docker: on a terminal, one line per layer redrawn in place
 * with a progress bar, and a total line below; elsewhere, one plain line per change of a layer's
 * status (never a line per byte count); with quiet, nothing.
 */
final class PullProgressPrinter {
  enum Mode {
    TTY,
    PLAIN,
    QUIET
  }

  private static final int BAR = 50;
  private static final long REDRAW_NANOS = 100_000_000L;

  private record LayerState(String status, long current, long total) {}

  private final PrintStream out;
  private final Mode mode;
  private final Map<String, LayerState> layers = new LinkedHashMap<>();
  private int drawnLines;
  private long lastDraw;

  PullProgressPrinter(PrintStream out, Mode mode) {
    this.out = out;
    this.mode = mode;
  }

  /** TTY when the output is a terminal (and BERTH_PROGRESS does not say otherwise), else plain. */
  static Mode modeFor(boolean quiet, Map<String, String> env) {
    if (quiet) return Mode.QUIET;
    String forced = env.getOrDefault("BERTH_PROGRESS", "");
    if (forced.equals("plain")) return Mode.PLAIN;
    if (forced.equals("tty")) return Mode.TTY;
    return System.console() != null ? Mode.TTY : Mode.PLAIN;
  }

  void accept(PullImageResponse p) {
    if (mode == Mode.QUIET || p.hasImage()) return;
    if (p.getId().isEmpty()) {
      imageLine(p.getStatus());
      return;
    }
    LayerState before = layers.get(p.getId());
    LayerState now = new LayerState(p.getStatus(), p.getCurrent(), p.getTotal());
    layers.put(p.getId(), now);
    if (mode == Mode.PLAIN) {
      if (before == null || !before.status.equals(now.status))
        out.println(p.getId() + ": " + p.getStatus());
      return;
    }
    boolean statusChanged = before == null || !before.status.equals(now.status);
    long t = System.nanoTime();
    if (statusChanged || t - lastDraw >= REDRAW_NANOS) {
      redraw();
      lastDraw = t;
    }
  }

  /** Draws the final state (a TTY redraw may have been skipped by the throttle). */
  void finish() {
    if (mode == Mode.TTY && !layers.isEmpty()) redraw();
    out.flush();
  }

  private void imageLine(String line) {
    if (mode == Mode.TTY && drawnLines > 0) {
      // image lines go below the layer block, which then stays as it is
      finish();
      drawnLines = 0;
      layers.clear();
    }
    out.println(line);
    out.flush();
  }

  private void redraw() {
    StringBuilder b = new StringBuilder();
    if (drawnLines > 0)
      b.append("\u001b[").append(drawnLines).append('A'); // cursor up to the block's start
    List<String> lines = new ArrayList<>();
    long current = 0;
    long total = 0;
    for (Map.Entry<String, LayerState> e : layers.entrySet()) {
      LayerState s = e.getValue();
      String line = e.getKey() + ": " + s.status;
      if (s.status.equals("Downloading") && s.total > 0) line += " " + bar(s.current, s.total);
      lines.add(line);
      if (s.total > 0) {
        total += s.total;
        current += done(s) ? s.total : Math.min(s.current, s.total);
      }
    }
    lines.add("Total: " + bar(current, total));
    for (String l : lines) b.append("\u001b[2K").append(l).append('\n');
    out.print(b);
    out.flush();
    drawnLines = lines.size();
  }

  private static boolean done(LayerState s) {
    return switch (s.status) {
      case "Verifying Checksum",
          "Download complete",
          "Extracting",
          "Pull complete",
          "Already exists" ->
          true;
      default -> false;
    };
  }

  static String bar(long current, long total) {
    if (total <= 0) return "";
    int filled = (int) Math.min(BAR, current * BAR / total);
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < BAR; i++) b.append(i < filled ? '=' : i == filled ? '>' : ' ');
    b.append("] ").append(Format.humanSize(current)).append('/').append(Format.humanSize(total));
    return b.toString();
  }
}
