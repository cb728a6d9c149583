package dev.berth.cli;

import dev.berth.api.v1.Container;
import dev.berth.api.v1.ContainerState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * What docker's {@code --format} templates see: the placeholders of {@code docker ps} ({@code .ID},
 * {@code .Names}, {@code .Status} …) and the nested shape of {@code docker inspect} ({@code
 * .State.Status}, {@code .Config.Cmd}, {@code .HostConfig.RestartPolicy.Name} …), built from
 * Berth's {@link Container}, so that scripts written for docker work unchanged.
 */
final class DockerViews {
  private DockerViews() {}

  /** Go's zero time, which docker prints for a time that never happened. */
  private static final String ZERO_TIME = "0001-01-01T00:00:00Z";

  /** The header docker prints for each ps placeholder in a {@code table} format. */
  static final Map<String, Object> PS_HEADERS = psHeaders();

  private static Map<String, Object> psHeaders() {
    Map<String, Object> h = new LinkedHashMap<>();
    h.put("ID", "CONTAINER ID");
    h.put("Image", "IMAGE");
    h.put("Command", "COMMAND");
    h.put("CreatedAt", "CREATED AT");
    h.put("RunningFor", "CREATED");
    h.put("Ports", "PORTS");
    h.put("State", "STATE");
    h.put("Status", "STATUS");
    h.put("Size", "SIZE");
    h.put("Names", "NAMES");
    h.put("Labels", "LABELS");
    h.put("Label", (Function<String, Object>) k -> "LABEL");
    h.put("Mounts", "MOUNTS");
    h.put("Networks", "NETWORKS");
    h.put("LocalVolumes", "LOCAL VOLUMES");
    return h;
  }

  /** One {@code docker ps} row. */
  static Map<String, Object> psRow(Container c, boolean truncate, Instant now) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("ID", truncate ? Format.shortId(c.getId()) : c.getId());
    r.put("Image", c.getImage());
    r.put("Command", Format.command(c.getCommandList(), truncate));
    Instant created = Views.instant(c.getCreatedAt());
    r.put("CreatedAt", created == null ? "" : created.toString());
    r.put("RunningFor", Format.ago(c.getCreatedAt(), now));
    r.put("Ports", "");
    r.put("State", dockerState(c.getState()));
    r.put("Status", Format.status(c, now));
    r.put("Size", "0B");
    r.put("Names", c.getName());
    List<String> labels = new ArrayList<>();
    new TreeMap<>(c.getLabelsMap()).forEach((k, v) -> labels.add(k + "=" + v));
    r.put("Labels", String.join(",", labels));
    r.put("Label", (Function<String, Object>) k -> c.getLabelsMap().getOrDefault(k, ""));
    r.put("Mounts", "");
    r.put("Networks", "");
    r.put("LocalVolumes", "0");
    return r;
  }

  /**
   * {@code inspect}'s object: Berth's fields ({@code id}, {@code state}, {@code shimPid} …, what
   * {@link Json} writes) and docker's shape ({@code Id}, {@code Name}, {@code State}, {@code
   * Config}, {@code HostConfig} …) side by side, for scripts of either kind.
   */
  static Map<String, Object> inspect(Container c) {
    Map<String, Object> m = Json.fields(c, true);
    List<String> argv = c.getCommandList();
    m.put("Id", c.getId());
    m.put("Created", dockerTime(c.getCreatedAt()));
    m.put("Path", argv.isEmpty() ? "" : argv.get(0));
    m.put("Args", argv.isEmpty() ? List.of() : List.copyOf(argv.subList(1, argv.size())));
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("Status", dockerState(c.getState()));
    state.put("Running", c.getState() == ContainerState.CONTAINER_STATE_RUNNING);
    state.put("Paused", c.getState() == ContainerState.CONTAINER_STATE_PAUSED);
    state.put("Restarting", c.getState() == ContainerState.CONTAINER_STATE_RESTARTING);
    state.put("OOMKilled", false);
    state.put("Dead", false);
    state.put("Pid", c.getPid());
    state.put("ExitCode", c.hasExitCode() ? c.getExitCode() : 0);
    state.put("Error", c.getError());
    state.put("StartedAt", dockerTime(c.getStartedAt()));
    state.put("FinishedAt", dockerTime(c.getFinishedAt()));
    m.put("State", state);
    m.put("Image", c.getImageId());
    m.put("Name", "/" + c.getName());
    m.put("RestartCount", c.getRestartCount());
    Map<String, Object> policy = new LinkedHashMap<>();
    String p = Views.restartPolicy(c.getRestartPolicy());
    policy.put("Name", p.startsWith("on-failure") ? "on-failure" : p);
    policy.put("MaximumRetryCount", c.getRestartPolicy().getMaxRetries());
    Map<String, Object> host = new LinkedHashMap<>();
    host.put("AutoRemove", c.getAutoRemove());
    host.put("RestartPolicy", policy);
    m.put("HostConfig", host);
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("Hostname", c.getHostname());
    config.put("Image", c.getImage());
    config.put("Cmd", List.copyOf(argv));
    config.put("Labels", new TreeMap<>(c.getLabelsMap()));
    m.put("Config", config);
    return m;
  }

  /** docker's state words: Berth's "stopped" is docker's "exited". */
  static String dockerState(ContainerState s) {
    return s == ContainerState.CONTAINER_STATE_STOPPED ? "exited" : Views.state(s);
  }

  private static String dockerTime(com.google.protobuf.Timestamp t) {
    Instant i = Views.instant(t);
    return i == null ? ZERO_TIME : i.toString();
  }
}
