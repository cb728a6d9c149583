package dev.berth.cli;

import com.google.protobuf.Timestamp;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The times docker's {@code --since}/{@code --until} take: RFC 3339 (with or without fraction and
 * zone: UTC when absent), a date, Unix seconds with an optional fraction, or a Go duration before
 * now ({@code 10m}, {@code 1h30m}, {@code 1.5h}).
 */
final class CliTimes {
  private CliTimes() {}

  private static final Pattern DURATION_PART =
      Pattern.compile("([0-9]+(?:\\.[0-9]+)?)(ns|us|µs|ms|s|m|h)");
  private static final Pattern UNIX = Pattern.compile("[0-9]{1,12}(\\.[0-9]{1,9})?");

  static Timestamp parse(String flag, String text, Instant now) {
    Instant t = instant(flag, text.strip(), now);
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }

  private static Instant instant(String flag, String s, Instant now) {
    if (s.length() > 64 || s.isEmpty()) throw bad(flag, s);
    if (UNIX.matcher(s).matches()) {
      BigDecimal d = new BigDecimal(s);
      return Instant.ofEpochSecond(
          d.longValue(), d.remainder(BigDecimal.ONE).movePointRight(9).intValue());
    }
    Duration ago = duration(s);
    if (ago != null) return now.minus(ago);
    try {
      return OffsetDateTime.parse(s).toInstant();
    } catch (DateTimeParseException e) {
      // next form
    }
    try {
      return java.time.LocalDateTime.parse(s).toInstant(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      // next form
    }
    try {
      return LocalDate.parse(s).atStartOfDay().toInstant(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      throw bad(flag, s);
    }
  }

  /** A Go duration ({@code 1h30m}), or null when the text is not one. */
  static Duration duration(String s) {
    Matcher m = DURATION_PART.matcher(s);
    int at = 0;
    BigDecimal nanos = BigDecimal.ZERO;
    while (at < s.length()) {
      if (!m.find(at) || m.start() != at) return null;
      BigDecimal unit =
          switch (m.group(2)) {
            case "ns" -> BigDecimal.ONE;
            case "us", "µs" -> BigDecimal.valueOf(1_000);
            case "ms" -> BigDecimal.valueOf(1_000_000);
            case "s" -> BigDecimal.valueOf(1_000_000_000L);
            case "m" -> BigDecimal.valueOf(60_000_000_000L);
            default -> BigDecimal.valueOf(3_600_000_000_000L);
          };
      nanos = nanos.add(new BigDecimal(m.group(1)).multiply(unit));
      at = m.end();
    }
    return at == 0 ? null : Duration.ofNanos(nanos.longValue());
  }

  private static CliException bad(String flag, String s) {
    return new CliException(
        "invalid value for "
            + flag
            + ": \""
            + (s.length() > 64 ? s.substring(0, 64) + "…" : s)
            + "\" (use RFC 3339, a date, Unix seconds or a duration like 10m)");
  }
}
