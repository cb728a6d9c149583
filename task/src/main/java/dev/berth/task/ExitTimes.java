package dev.berth.task;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exit times as shims and exit files write them (RFC 3339). A missing or unreadable time is not
 * invented silently: the caller names the best time it knows (when the exit file was written, when
 * the shim answered) and the substitution is logged.
 */
final class ExitTimes {
  private static final Logger log = LoggerFactory.getLogger(ExitTimes.class);

  private ExitTimes() {}

  /**
   * {@code raw} parsed; if it is missing or unreadable, {@code bestKnown} (described by {@code
   * bestKnownIs}), with a warning naming {@code source}.
   */
  static Instant parse(String raw, String source, Instant bestKnown, String bestKnownIs) {
    if (raw != null && !raw.isEmpty()) {
      try {
        return Instant.parse(raw);
      } catch (DateTimeParseException e) {
        log.warn(
            "{}: unreadable exit time '{}'; using {} ({}) instead",
            source,
            raw,
            bestKnownIs,
            bestKnown);
        return bestKnown;
      }
    }
    log.warn("{}: no exit time; using {} ({}) instead", source, bestKnownIs, bestKnown);
    return bestKnown;
  }
}
