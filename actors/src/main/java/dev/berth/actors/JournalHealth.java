package dev.berth.actors;

import java.util.ArrayList;
import java.util.List;

/**
 * What this daemon start found wrong with its journal, for `berth info` and the log: a journal that
 * did not read back was set aside, and containers found on disk that the journal did not know were
 * rebuilt from their bundles. Written at start-up (the check, then the supervisor's scan), read by
 * the API; never cleared while the daemon runs.
 */
public final class JournalHealth {
  private final String setAsideReason;
  private final String setAsidePath;
  private final List<String> notes = new ArrayList<>();

  public JournalHealth(String setAsideReason, String setAsidePath) {
    this.setAsideReason = setAsideReason;
    this.setAsidePath = setAsidePath;
  }

  public static JournalHealth healthy() {
    return new JournalHealth(null, null);
  }

  /** The journal was damaged at start-up and replaced by a fresh one. */
  public boolean wasSetAside() {
    return setAsideReason != null;
  }

  public synchronized void note(String line) {
    notes.add(line);
  }

  /** "ok", or one line saying what was damaged, where it went and what was rebuilt. */
  public synchronized String summary() {
    List<String> parts = new ArrayList<>();
    if (setAsideReason != null) {
      parts.add(
          "damaged at start-up ("
              + setAsideReason
              + "); set aside in "
              + setAsidePath
              + "; events and container history before it are not in the new journal");
    }
    parts.addAll(notes);
    return parts.isEmpty() ? "ok" : String.join("; ", parts);
  }
}
