package dev.berth.cli;

import com.google.protobuf.Timestamp;
import dev.berth.api.v1.Container;
import java.math.BigDecimal;
import java.math.MathContext;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Human-oriented rendering that matches docker's table output (go-units wording and rounding). */
final class Format {
  private Format() {}

  /** go-units HumanDuration, which docker uses for CREATED and STATUS. */
  static String humanDuration(Duration d) {
    long seconds = d.getSeconds();
    if (seconds < 1) return "Less than a second";
    if (seconds == 1) return "1 second";
    if (seconds < 60) return seconds + " seconds";
    long minutes = seconds / 60;
    if (minutes == 1) return "About a minute";
    if (minutes < 60) return minutes + " minutes";
    long hours = Math.round(seconds / 3600.0); // go-units rounds hours to nearest
    if (hours == 1) return "About an hour";
    if (hours < 48) return hours + " hours";
    if (hours < 24 * 7 * 2) return hours / 24 + " days";
    if (hours < 24 * 30 * 2) return hours / 24 / 7 + " weeks";
    if (hours < 24 * 365 * 2) return hours / 24 / 30 + " months";
    return seconds / 3600 / 24 / 365 + " years";
  }

  /** "5 seconds ago"; "N/A" when the daemon did not record the time. */
  static String ago(Timestamp time, Instant now) {
    Instant t = Views.instant(time);
    return t == null ? "N/A" : humanDuration(Duration.between(t, now)) + " ago";
  }

  /** docker's STATUS column: "Up 3 seconds", "Exited (0) 2 seconds ago", "Created". */
  static String status(Container c, Instant now) {
    switch (c.getState()) {
      case CONTAINER_STATE_CREATED:
        return "Created";
      case CONTAINER_STATE_RUNNING:
      case CONTAINER_STATE_PAUSED:
        {
          Instant started = Views.instant(c.getStartedAt());
          String up =
              started == null ? "Up" : "Up " + humanDuration(Duration.between(started, now));
          return c.getState() == dev.berth.api.v1.ContainerState.CONTAINER_STATE_PAUSED
              ? up + " (Paused)"
              : up;
        }
      case CONTAINER_STATE_STOPPED:
        {
          Instant finished = Views.instant(c.getFinishedAt());
          String exited = "Exited (" + Views.exitCode(c) + ")";
          return finished == null
              ? exited
              : exited + " " + humanDuration(Duration.between(finished, now)) + " ago";
        }
      case CONTAINER_STATE_RESTARTING:
        return "Restarting";
      case CONTAINER_STATE_REMOVING:
        return "Removing";
      default:
        return "Unknown";
    }
  }

  /**
   * The COMMAND column: the argv joined, cut to 20 characters with "…", in double quotes (Go's %q).
   */
  static String command(List<String> argv, boolean truncate) {
    String joined = String.join(" ", argv);
    if (truncate && joined.codePointCount(0, joined.length()) > 20) {
      joined = joined.substring(0, joined.offsetByCodePoints(0, 19)) + "…";
    }
    StringBuilder sb = new StringBuilder(joined.length() + 2).append('"');
    for (int i = 0; i < joined.length(); i++) {
      char ch = joined.charAt(i);
      switch (ch) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\t' -> sb.append("\\t");
        case '\r' -> sb.append("\\r");
        default -> {
          if (ch < 0x20) sb.append(String.format("\\x%02x", (int) ch));
          else sb.append(ch);
        }
      }
    }
    return sb.append('"').toString();
  }

  /** First 12 hex digits of an id, without any "sha256:" prefix (docker's short id). */
  static String shortId(String id) {
    String hex = id.startsWith("sha256:") ? id.substring(7) : id;
    return hex.length() > 12 ? hex.substring(0, 12) : hex;
  }

  private static final String[] SIZE_UNITS = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};

  /**
   * go-units HumanSizeWithPrecision(size, 3): decimal units, three significant digits ("1.24MB").
   */
  static String humanSize(long bytes) {
    double size = bytes;
    int unit = 0;
    while (size >= 1000 && unit < SIZE_UNITS.length - 1) {
      size /= 1000;
      unit++;
    }
    String number =
        new BigDecimal(size).round(new MathContext(3)).stripTrailingZeros().toPlainString();
    return number + SIZE_UNITS[unit];
  }

  /** Splits NAME:TAG at the tag colon (not a registry port's colon): ["name", "tag"]. */
  static String[] repoTag(String name) {
    int colon = name.lastIndexOf(':');
    if (colon > name.lastIndexOf('/'))
      return new String[] {name.substring(0, colon), name.substring(colon + 1)};
    return new String[] {name, "<none>"};
  }

  /**
   * Column-aligned text like Go's tabwriter as docker configures it: each column as wide as its
   * widest cell plus three spaces; the last column is not padded.
   */
  /**
   * Rows whose cells are separated by tabs, aligned as docker's tabwriter does for a {@code table}
   * template (3 spaces between columns).
   */
  static String tabbed(List<String> rows) {
    int columns = 1;
    List<String[]> cells = new ArrayList<>();
    for (String row : rows) {
      String[] c = row.split("\t", -1);
      cells.add(c);
      columns = Math.max(columns, c.length);
    }
    Table table = null;
    for (String[] c : cells) {
      String[] full = java.util.Arrays.copyOf(c, columns);
      for (int i = c.length; i < columns; i++) full[i] = "";
      if (table == null) table = new Table(full);
      else table.add(full);
    }
    if (table == null) return "";
    StringBuilder sb = new StringBuilder();
    for (String line : table.render().split("\n", -1)) {
      if (!line.isEmpty()) sb.append(line.stripTrailing()).append('\n');
    }
    return sb.toString();
  }

  static final class Table {
    private final List<String[]> rows = new ArrayList<>();

    Table(String... header) {
      rows.add(header);
    }

    void add(String... cells) {
      rows.add(cells);
    }

    String render() {
      int columns = rows.get(0).length;
      int[] width = new int[columns];
      for (String[] row : rows) {
        for (int i = 0; i < columns; i++) width[i] = Math.max(width[i], length(row[i]));
      }
      StringBuilder sb = new StringBuilder();
      for (String[] row : rows) {
        for (int i = 0; i < columns; i++) {
          sb.append(row[i]);
          if (i < columns - 1) sb.append(" ".repeat(width[i] - length(row[i]) + 3));
        }
        sb.append('\n');
      }
      return sb.toString();
    }

    private static int length(String s) {
      return s.codePointCount(0, s.length());
    }
  }
}
