package dev.berth.core;

import java.util.Locale;
import java.util.Map;

/** Signal names and numbers as on Linux x86-64 (what `kill -l` prints). */
public final class Signals {
  public static final int SIGKILL = 9;
  public static final int SIGTERM = 15;

  private static final Map<String, Integer> BY_NAME =
      Map.ofEntries(
          Map.entry("HUP", 1),
          Map.entry("INT", 2),
          Map.entry("QUIT", 3),
          Map.entry("ILL", 4),
          Map.entry("TRAP", 5),
          Map.entry("ABRT", 6),
          Map.entry("BUS", 7),
          Map.entry("FPE", 8),
          Map.entry("KILL", 9),
          Map.entry("USR1", 10),
          Map.entry("SEGV", 11),
          Map.entry("USR2", 12),
          Map.entry("PIPE", 13),
          Map.entry("ALRM", 14),
          Map.entry("TERM", 15),
          Map.entry("STKFLT", 16),
          Map.entry("CHLD", 17),
          Map.entry("CONT", 18),
          Map.entry("STOP", 19),
          Map.entry("TSTP", 20),
          Map.entry("TTIN", 21),
          Map.entry("TTOU", 22),
          Map.entry("URG", 23),
          Map.entry("XCPU", 24),
          Map.entry("XFSZ", 25),
          Map.entry("VTALRM", 26),
          Map.entry("PROF", 27),
          Map.entry("WINCH", 28),
          Map.entry("IO", 29),
          Map.entry("PWR", 30),
          Map.entry("SYS", 31));

  private Signals() {}

  /** "TERM", "SIGTERM", "sigterm" or "15"; empty gives {@code dflt}. */
  public static int parse(String s, int dflt) {
    if (s == null || s.isBlank()) return dflt;
    String t = s.strip().toUpperCase(Locale.ROOT);
    if (t.chars().allMatch(Character::isDigit)) {
      int n;
      try {
        n = Integer.parseInt(t);
      } catch (NumberFormatException e) {
        n = -1;
      }
      if (n >= 1 && n <= 64) return n;
      throw BerthException.invalid("invalid signal: " + s.strip());
    }
    if (t.startsWith("SIG")) t = t.substring(3);
    Integer n = BY_NAME.get(t);
    if (n == null) throw BerthException.invalid("invalid signal: " + s.strip());
    return n;
  }
}
