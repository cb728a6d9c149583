package dev.berth.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Timestamp;
import dev.berth.api.v1.Container;
import dev.berth.api.v1.ContainerState;
import dev.berth.api.v1.EventType;
import dev.berth.api.v1.RestartPolicy;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** docker's wording and rounding, from go-units. */
class FormatTest {
  @Test
  void human_durations() {
    assertEquals("Less than a second", Format.humanDuration(Duration.ofMillis(900)));
    assertEquals("Less than a second", Format.humanDuration(Duration.ofSeconds(-5)));
    assertEquals("1 second", Format.humanDuration(Duration.ofSeconds(1)));
    assertEquals("59 seconds", Format.humanDuration(Duration.ofSeconds(59)));
    assertEquals("About a minute", Format.humanDuration(Duration.ofSeconds(119)));
    assertEquals("2 minutes", Format.humanDuration(Duration.ofMinutes(2)));
    assertEquals("About an hour", Format.humanDuration(Duration.ofMinutes(89)));
    assertEquals("2 hours", Format.humanDuration(Duration.ofMinutes(91)));
    assertEquals("47 hours", Format.humanDuration(Duration.ofHours(47)));
    assertEquals("2 days", Format.humanDuration(Duration.ofHours(48)));
    assertEquals("2 weeks", Format.humanDuration(Duration.ofDays(14)));
    assertEquals("2 months", Format.humanDuration(Duration.ofDays(60)));
    assertEquals("2 years", Format.humanDuration(Duration.ofDays(800)));
  }

  @Test
  void human_sizes() {
    assertEquals("0B", Format.humanSize(0));
    assertEquals("999B", Format.humanSize(999));
    assertEquals("1kB", Format.humanSize(1000));
    assertEquals("4.26kB", Format.humanSize(4261));
    assertEquals("1.24MB", Format.humanSize(1_240_000));
    assertEquals("145MB", Format.humanSize(145_000_000));
    assertEquals("7.5GB", Format.humanSize(7_500_000_000L));
  }

  @Test
  void command_column_is_quoted_and_truncated() {
    assertEquals("\"echo hi\"", Format.command(List.of("echo", "hi"), true));
    assertEquals(
        "\"sh -c while true; d…\"",
        Format.command(List.of("sh", "-c", "while true; do sleep 1; done"), true));
    assertEquals(
        "\"sh -c while true; do sleep 1; done\"",
        Format.command(List.of("sh", "-c", "while true; do sleep 1; done"), false));
    assertEquals("\"say \\\"x\\\"\"", Format.command(List.of("say", "\"x\""), true));
  }

  private static Timestamp ts(String rfc3339) {
    Instant i = java.time.OffsetDateTime.parse(rfc3339).toInstant();
    return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
  }

  @Test
  void status_column() {
    Instant now = Instant.parse("2024-05-01T12:00:00Z");
    assertEquals(
        "Created",
        Format.status(
            Container.newBuilder().setState(ContainerState.CONTAINER_STATE_CREATED).build(), now));
    assertEquals(
        "Up 3 seconds",
        Format.status(
            Container.newBuilder()
                .setState(ContainerState.CONTAINER_STATE_RUNNING)
                .setStartedAt(ts("2024-05-01T13:59:57+02:00"))
                .build(),
            now));
    assertEquals(
        "Up About a minute (Paused)",
        Format.status(
            Container.newBuilder()
                .setState(ContainerState.CONTAINER_STATE_PAUSED)
                .setStartedAt(ts("2024-05-01T11:59:00Z"))
                .build(),
            now));
    assertEquals(
        "Exited (137) 2 hours ago",
        Format.status(
            Container.newBuilder()
                .setState(ContainerState.CONTAINER_STATE_STOPPED)
                .setExitCode(137)
                .setFinishedAt(ts("2024-05-01T10:00:00.123456789Z"))
                .build(),
            now));
    assertEquals(
        "Exited (1)",
        Format.status(
            Container.newBuilder()
                .setState(ContainerState.CONTAINER_STATE_STOPPED)
                .setExitCode(1)
                .build(),
            now));
    assertEquals(
        "Unknown",
        Format.status(
            Container.newBuilder().setState(ContainerState.CONTAINER_STATE_UNKNOWN).build(), now));
    assertEquals(
        "Unknown",
        Format.status(Container.newBuilder().setStateValue(99).build(), now),
        "a state this client does not know");
  }

  @Test
  void enum_values_read_as_the_docker_words() {
    assertEquals("created", Views.state(ContainerState.CONTAINER_STATE_CREATED));
    assertEquals("stopped", Views.state(ContainerState.CONTAINER_STATE_STOPPED));
    assertEquals("unknown", Views.state(ContainerState.CONTAINER_STATE_UNSPECIFIED));
    assertEquals("restarting", Views.state(ContainerState.CONTAINER_STATE_RESTARTING));
    assertEquals("removing", Views.state(ContainerState.CONTAINER_STATE_REMOVING));
    assertEquals("unknown", Views.state(ContainerState.UNRECOGNIZED));
    assertEquals("", Views.time(Timestamp.getDefaultInstance()));
    assertEquals(
        "2024-05-01T10:00:00.123456789Z", Views.time(ts("2024-05-01T10:00:00.123456789Z")));
    assertEquals("2024-05-01T10:00:00Z", Views.time(ts("2024-05-01T12:00:00+02:00")));
    for (String p : List.of("no", "on-failure", "on-failure:3", "always", "unless-stopped")) {
      assertEquals(p, Views.restartPolicy(Views.restartPolicy(p)));
    }
    assertEquals("no", Views.restartPolicy(RestartPolicy.getDefaultInstance()));
    for (String t : EventsCommand.TYPES) assertEquals(t, Views.eventType(Views.eventType(t)));
    assertEquals(null, Views.eventType("unknown"));
    assertEquals("unknown", Views.eventType(EventType.EVENT_TYPE_UNSPECIFIED));
  }

  @Test
  void ids() {
    assertEquals("0123456789ab", Format.shortId("sha256:0123456789abcdef"));
    assertEquals("0123456789ab", Format.shortId("0123456789abcdef"));
  }
}
