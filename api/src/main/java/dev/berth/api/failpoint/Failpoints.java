package dev.berth.api.failpoint;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fault injection on a shim's Task RPCs, set per container at create time ({@code berth run
 * --failpoint Start=delay(2000)}). The daemon validates them and writes them to {@value #FILE_NAME}
 * in the bundle (one {@code RPC=ACTION} per line); the shim loads that file when it takes the
 * container on (Create) and applies it to every later call.
 *
 * <p>ACTION is {@code [N*]delay(MS)}, {@code [N*]error}, {@code [N*]error(MESSAGE)} or {@code
 * [N*]crash}; with {@code N*} only the first N calls trigger. Shared by the daemon (so a typo is a
 * one-line error at create) and the shim (which has no other dependency to share).
 */
public final class Failpoints {
  public static final String FILE_NAME = "failpoints";

  /** The shim's Task RPCs, as named in berth/shim/v1/task.proto. */
  public static final List<String> RPCS =
      List.of(
          "Create",
          "Start",
          "Kill",
          "Delete",
          "WaitExit",
          "State",
          "Pids",
          "CreateExec",
          "StartExec",
          "KillExec",
          "InspectExec",
          "ListExecs",
          "Shutdown");

  static final long MAX_DELAY_MS = 10 * 60 * 1000;
  static final int MAX_COUNT = 1_000_000;
  static final int MAX_MESSAGE = 200;
  private static final Pattern ACTION =
      Pattern.compile("(?:(\\d{1,7})\\*)?(delay|error|crash)(?:\\((.*)\\))?", Pattern.DOTALL);

  /** What a triggered failpoint does. */
  public enum Kind {
    DELAY,
    ERROR,
    CRASH
  }

  /**
   * One failpoint. {@code times} = 0 means every call; {@code millis} for delay; {@code message}
   * for error (default: the failpoint's own text).
   */
  public record Failpoint(String rpc, int times, Kind kind, long millis, String message) {
    @Override
    public String toString() {
      String action =
          switch (kind) {
            case DELAY -> "delay(" + millis + ")";
            case ERROR -> message == null ? "error" : "error(" + message + ")";
            case CRASH -> "crash";
          };
      return rpc + "=" + (times > 0 ? times + "*" : "") + action;
    }

    /** The status description of an injected error. */
    public String errorText() {
      return message != null ? message : "failpoint " + this;
    }
  }

  private Failpoints() {}

  /**
   * Validates RPC → ACTION pairs; throws IllegalArgumentException with one line on the first bad
   * one.
   */
  public static Map<String, Failpoint> parse(Map<String, String> entries) {
    Map<String, Failpoint> out = new TreeMap<>();
    for (Map.Entry<String, String> e : entries.entrySet())
      out.put(e.getKey(), parse(e.getKey(), e.getValue()));
    return out;
  }

  /** Parses one {@code RPC=ACTION} line. */
  public static Failpoint parseEntry(String entry) {
    int eq = entry.indexOf('=');
    if (eq <= 0) throw invalid(entry, "expected RPC=ACTION");
    return parse(entry.substring(0, eq).strip(), entry.substring(eq + 1).strip());
  }

  public static Failpoint parse(String rpc, String action) {
    String text = rpc + "=" + action;
    if (!RPCS.contains(rpc))
      throw invalid(text, "unknown RPC " + rpc + " (one of " + String.join(", ", RPCS) + ")");
    Matcher m = ACTION.matcher(action == null ? "" : action.strip());
    if (!m.matches())
      throw invalid(text, "the action must be [N*]delay(MS), [N*]error[(MESSAGE)] or [N*]crash");
    int times = 0;
    if (m.group(1) != null) {
      times = Integer.parseInt(m.group(1));
      if (times < 1 || times > MAX_COUNT)
        throw invalid(text, "the count N in N* must be between 1 and " + MAX_COUNT);
    }
    String arg = m.group(3);
    return switch (m.group(2)) {
      case "delay" -> {
        long ms;
        try {
          ms = Long.parseLong(arg == null ? "" : arg.strip());
        } catch (NumberFormatException e) {
          throw invalid(text, "delay needs milliseconds, e.g. delay(2000)");
        }
        if (ms < 0 || ms > MAX_DELAY_MS)
          throw invalid(text, "the delay must be between 0 and " + MAX_DELAY_MS + " ms");
        yield new Failpoint(rpc, times, Kind.DELAY, ms, null);
      }
      case "error" -> {
        if (arg != null && (arg.isBlank() || arg.length() > MAX_MESSAGE || arg.contains("\n"))) {
          throw invalid(
              text, "the error message must be one line of 1 to " + MAX_MESSAGE + " characters");
        }
        yield new Failpoint(rpc, times, Kind.ERROR, 0, arg);
      }
      default -> {
        if (arg != null) throw invalid(text, "crash takes no argument");
        yield new Failpoint(rpc, times, Kind.CRASH, 0, null);
      }
    };
  }

  /** Writes the validated failpoints, one per line, atomically (the shim may read at any time). */
  public static void write(Path file, Map<String, String> entries) throws IOException {
    StringBuilder text = new StringBuilder();
    for (Failpoint f : parse(entries).values()) text.append(f).append('\n');
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** Reads a failpoints file; a missing file means none. */
  public static Map<String, Failpoint> read(Path file) throws IOException {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return Map.of();
    }
    Map<String, Failpoint> out = new LinkedHashMap<>();
    for (String line : lines) {
      if (line.isBlank()) continue;
      Failpoint f = parseEntry(line);
      if (out.putIfAbsent(f.rpc(), f) != null)
        throw invalid(line, f.rpc() + " has a failpoint already");
    }
    return out;
  }

  private static IllegalArgumentException invalid(String text, String why) {
    return new IllegalArgumentException("invalid failpoint \"" + text + "\": " + why);
  }
}
