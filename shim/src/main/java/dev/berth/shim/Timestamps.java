package dev.berth.shim;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** RFC 3339 UTC timestamps with nanoseconds, fixed width ("2026-01-02T03:04:05.123456789Z"). */
final class Timestamps {
  private static final DateTimeFormatter RFC3339_NANO =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'").withZone(ZoneOffset.UTC);

  private Timestamps() {}

  static String format(Instant instant) {
    return RFC3339_NANO.format(instant);
  }
}
