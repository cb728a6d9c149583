package dev.berth.core;

import java.util.Locale;

/**
 * What a container is doing, as list and inspect show it (docker's status words). {@link #label()}
 * is the word the API and the CLI show, and the form journaled events record.
 */
public enum ContainerState {
  /** Has a record and a bundle, never ran (or its start failed). */
  CREATED,
  /** Waiting for (or carrying out) a restart its policy asked for. */
  RESTARTING,
  RUNNING,
  STOPPED,
  /** Removal requested and under way. */
  REMOVING,
  REMOVED,
  /** Not known yet: the daemon has not heard from the container's shim since it (re)started. */
  UNKNOWN;

  /** "created", "running", … */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The state a label names; anything else (an older or newer word) is {@link #UNKNOWN}. */
  public static ContainerState of(String label) {
    if (label != null) {
      for (ContainerState s : values()) if (s.label().equals(label)) return s;
    }
    return UNKNOWN;
  }
}
