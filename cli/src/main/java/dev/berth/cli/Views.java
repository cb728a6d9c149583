package dev.berth.cli;

import com.google.protobuf.Timestamp;
import dev.berth.api.v1.Container;
import dev.berth.api.v1.ContainerState;
import dev.berth.api.v1.EventType;
import dev.berth.api.v1.RestartPolicy;
import dev.berth.api.v1.RestartPolicyKind;
import java.time.Instant;

/**
 * berth.v1's typed values (enums, Timestamps, restart policies) as the docker-like words the CLI
 * prints, and back. An enum value this client does not know reads as its unspecified value.
 */
final class Views {
  private Views() {}

  /** "created", "running", "paused", "stopped", "restarting", "removing"; else "unknown". */
  static String state(ContainerState s) {
    return switch (s) {
      case CONTAINER_STATE_CREATED -> "created";
      case CONTAINER_STATE_RUNNING -> "running";
      case CONTAINER_STATE_PAUSED -> "paused";
      case CONTAINER_STATE_STOPPED -> "stopped";
      case CONTAINER_STATE_RESTARTING -> "restarting";
      case CONTAINER_STATE_REMOVING -> "removing";
      default -> "unknown";
    };
  }

  /** The instant, or null when the daemon did not set it. */
  static Instant instant(Timestamp t) {
    if (t == null || (t.getSeconds() == 0 && t.getNanos() == 0)) return null;
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }

  /** RFC 3339 in UTC with the fraction the time has (Instant's form); "" when unset. */
  static String time(Timestamp t) {
    Instant i = instant(t);
    return i == null ? "" : i.toString();
  }

  /** The exit code, -1 when the daemon has none (never exited, or not known). */
  static int exitCode(Container c) {
    return c.hasExitCode() ? c.getExitCode() : -1;
  }

  /** docker's --restart words: "no", "on-failure", "on-failure:3", "always", "unless-stopped". */
  static String restartPolicy(RestartPolicy p) {
    return switch (p.getKind()) {
      case RESTART_POLICY_KIND_ON_FAILURE ->
          p.getMaxRetries() > 0 ? "on-failure:" + p.getMaxRetries() : "on-failure";
      case RESTART_POLICY_KIND_ALWAYS -> "always";
      case RESTART_POLICY_KIND_UNLESS_STOPPED -> "unless-stopped";
      default -> "no";
    };
  }

  /** docker's --restart syntax, parsed by the daemon's own parser (core's RestartPolicy). */
  static RestartPolicy restartPolicy(String text) {
    dev.berth.core.RestartPolicy p = dev.berth.core.RestartPolicy.parse(text);
    RestartPolicyKind kind =
        switch (p.name()) {
          case "on-failure" -> RestartPolicyKind.RESTART_POLICY_KIND_ON_FAILURE;
          case "always" -> RestartPolicyKind.RESTART_POLICY_KIND_ALWAYS;
          case "unless-stopped" -> RestartPolicyKind.RESTART_POLICY_KIND_UNLESS_STOPPED;
          default -> RestartPolicyKind.RESTART_POLICY_KIND_NO;
        };
    return RestartPolicy.newBuilder().setKind(kind).setMaxRetries(p.maxRetries()).build();
  }

  /** The event type words `events` prints and its `--filter type=` takes. */
  static String eventType(EventType t) {
    return switch (t) {
      case EVENT_TYPE_CREATE -> "create";
      case EVENT_TYPE_START -> "start";
      case EVENT_TYPE_START_FAILED -> "start-failed";
      case EVENT_TYPE_EXIT -> "exit";
      case EVENT_TYPE_RESTART -> "restart";
      case EVENT_TYPE_SHIM_LOST -> "shim-lost";
      case EVENT_TYPE_RECONCILED -> "reconciled";
      case EVENT_TYPE_DELETE -> "delete";
      case EVENT_TYPE_JOURNAL_DAMAGED -> "journal-damaged";
      default -> "unknown";
    };
  }

  /** The type a word names, or null. */
  static EventType eventType(String word) {
    for (EventType t : EventType.values()) {
      if (t != EventType.UNRECOGNIZED
          && t != EventType.EVENT_TYPE_UNSPECIFIED
          && eventType(t).equals(word)) return t;
    }
    return null;
  }
}
