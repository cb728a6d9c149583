package dev.berth.daemon;

import com.google.protobuf.ByteString;
import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import dev.berth.actors.EventFeed;
import dev.berth.api.v1.Container;
import dev.berth.api.v1.ContainerFilter;
import dev.berth.api.v1.ContainerLogsRequest;
import dev.berth.api.v1.ContainerLogsResponse;
import dev.berth.api.v1.ContainerState;
import dev.berth.api.v1.CreateContainerRequest;
import dev.berth.api.v1.Event;
import dev.berth.api.v1.EventFilter;
import dev.berth.api.v1.EventType;
import dev.berth.api.v1.Image;
import dev.berth.api.v1.ImageFilter;
import dev.berth.api.v1.KillContainerRequest;
import dev.berth.api.v1.ListContainersRequest;
import dev.berth.api.v1.ListContainersResponse;
import dev.berth.api.v1.ListImagesRequest;
import dev.berth.api.v1.ListImagesResponse;
import dev.berth.api.v1.LogStream;
import dev.berth.api.v1.PortBinding;
import dev.berth.api.v1.PruneImagesResponse;
import dev.berth.api.v1.RestartPolicy;
import dev.berth.api.v1.RestartPolicyKind;
import dev.berth.api.v1.StopContainerRequest;
import dev.berth.api.v1.WaitContainerResponse;
import dev.berth.core.BerthException;
import dev.berth.core.ContainerView;
import dev.berth.core.ExitInfo;
import dev.berth.core.NetworkOptions;
import dev.berth.core.NetworkSettings;
import dev.berth.core.NetworkSpec;
import dev.berth.core.PortMapping;
import dev.berth.engine.Containers;
import dev.berth.engine.Events;
import dev.berth.engine.Images;
import dev.berth.engine.Page;
import dev.berth.images.ImageRecord;
import dev.berth.images.ImageStore;
import dev.berth.task.LogFollower;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * berth.v1 requests → the facade's requests (checked against {@link RequestLimits} first), and
 * domain values → berth.v1 messages.
 */
final class Protos {
  /** A list page ends before its reply would exceed this (well under a client's 4 MiB default). */
  static final int PAGE_BYTES = 2 * 1024 * 1024;

  /** The longest stop timeout a request may ask for. */
  static final java.time.Duration MAX_STOP_TIMEOUT = java.time.Duration.ofHours(24);

  private Protos() {}

  // ---------------------------------------------------------------- values

  static Timestamp timestamp(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }

  /** A request's time; out-of-range seconds or nanos are the caller's error. */
  static Instant instant(String field, Timestamp t) {
    if (t.getSeconds() < -62135596800L
        || t.getSeconds() > 253402300799L
        || t.getNanos() < 0
        || t.getNanos() > 999_999_999) {
      throw dev.berth.core.BerthException.invalidField(field, field + " is out of range");
    }
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }

  /** RFC 3339 text (as the log file keeps it) as a Timestamp; unset when empty or unreadable. */
  static Timestamp timestamp(String rfc3339) {
    if (rfc3339 == null || rfc3339.isEmpty()) return Timestamp.getDefaultInstance();
    try {
      return timestamp(Instant.parse(rfc3339));
    } catch (DateTimeParseException e) {
      return Timestamp.getDefaultInstance();
    }
  }

  static ContainerState state(dev.berth.core.ContainerState s) {
    return switch (s) {
      case CREATED -> ContainerState.CONTAINER_STATE_CREATED;
      case RESTARTING -> ContainerState.CONTAINER_STATE_RESTARTING;
      case RUNNING -> ContainerState.CONTAINER_STATE_RUNNING;
      case STOPPED, REMOVED -> ContainerState.CONTAINER_STATE_STOPPED;
      case REMOVING -> ContainerState.CONTAINER_STATE_REMOVING;
      case UNKNOWN -> ContainerState.CONTAINER_STATE_UNKNOWN;
    };
  }

  static dev.berth.core.ContainerState state(ContainerState s) {
    return switch (s) {
      case CONTAINER_STATE_CREATED -> dev.berth.core.ContainerState.CREATED;
      case CONTAINER_STATE_RESTARTING -> dev.berth.core.ContainerState.RESTARTING;
      case CONTAINER_STATE_RUNNING -> dev.berth.core.ContainerState.RUNNING;
      case CONTAINER_STATE_STOPPED -> dev.berth.core.ContainerState.STOPPED;
      case CONTAINER_STATE_REMOVING -> dev.berth.core.ContainerState.REMOVING;
      case CONTAINER_STATE_UNKNOWN -> dev.berth.core.ContainerState.UNKNOWN;
      default ->
          throw BerthException.invalidField(
              "filter.states", "unsupported container state in a filter: " + s);
    };
  }

  static RestartPolicy restartPolicy(String text) {
    dev.berth.core.RestartPolicy p = dev.berth.core.RestartPolicy.parse(text == null ? "" : text);
    RestartPolicyKind kind =
        switch (p.name()) {
          case "on-failure" -> RestartPolicyKind.RESTART_POLICY_KIND_ON_FAILURE;
          case "always" -> RestartPolicyKind.RESTART_POLICY_KIND_ALWAYS;
          case "unless-stopped" -> RestartPolicyKind.RESTART_POLICY_KIND_UNLESS_STOPPED;
          default -> RestartPolicyKind.RESTART_POLICY_KIND_NO;
        };
    return RestartPolicy.newBuilder().setKind(kind).setMaxRetries(p.maxRetries()).build();
  }

  /** The policy's name in docker's words, for the domain's parser. */
  static String restartPolicyName(RestartPolicy p) {
    return switch (p.getKind()) {
      case RESTART_POLICY_KIND_UNSPECIFIED, RESTART_POLICY_KIND_NO -> "no";
      case RESTART_POLICY_KIND_ON_FAILURE -> "on-failure";
      case RESTART_POLICY_KIND_ALWAYS -> "always";
      case RESTART_POLICY_KIND_UNLESS_STOPPED -> "unless-stopped";
      case UNRECOGNIZED ->
          throw BerthException.invalidField(
              "restart_policy.kind", "unknown restart policy kind " + p.getKindValue());
    };
  }

  static Container container(ContainerView v) {
    return container(v, java.util.Optional.empty());
  }

  /** With the network as set up (inspect), else as created. */
  static Container container(ContainerView v, java.util.Optional<NetworkSettings> net) {
    Container c = containerWithoutNetwork(v);
    NetworkSettings s = net.orElseGet(() -> asCreated(v.network()));
    dev.berth.api.v1.NetworkSettings.Builder n =
        dev.berth.api.v1.NetworkSettings.newBuilder()
            .setMode(s.mode())
            .setIpAddress(s.ipAddress())
            .setIpPrefixLength(s.ipPrefixLength())
            .setGateway(s.gateway())
            .setMacAddress(s.macAddress())
            .setBridge(s.bridge())
            .setSandboxKey(s.sandboxKey());
    for (PortMapping p : s.ports())
      n.addPorts(
          PortBinding.newBuilder()
              .setContainerPort(p.containerPort())
              .setProtocol(p.protocol())
              .setHostIp(p.hostIp())
              .setHostPort(p.hostPort()));
    return c.toBuilder().setNetworkSettings(n).build();
  }

  private static NetworkSettings asCreated(NetworkSpec spec) {
    return new NetworkSettings(spec.mode(), "", 0, "", "", "", "", spec.ports());
  }

  private static Container containerWithoutNetwork(ContainerView v) {
    Container.Builder b =
        Container.newBuilder()
            .setId(v.id())
            .setName(v.name())
            .setImage(v.image())
            .setImageId(v.imageId())
            .setState(state(v.state()))
            .setPid(v.pid())
            .addAllCommand(v.command())
            .setAutoRemove(v.autoRemove())
            .setShimAddress(v.shimAddress() == null ? "" : v.shimAddress())
            .setShimPid(v.shimPid())
            .setBundle(v.bundle() == null ? "" : v.bundle())
            .putAllLabels(v.labels())
            .setError(v.error() == null ? "" : v.error())
            .setRestartCount(v.restartCount())
            .setRestartPolicy(restartPolicy(v.restartPolicy()))
            .setSeccomp(v.seccomp() == null ? "" : v.seccomp())
            .setHostname(v.hostname() == null ? "" : v.hostname())
            .setRequestId(v.requestId() == null ? "" : v.requestId())
            .setShimGroup(v.shimGroup() == null ? "" : v.shimGroup());
    if (v.createdAt() != null) b.setCreatedAt(timestamp(v.createdAt()));
    if (v.startedAt() != null) b.setStartedAt(timestamp(v.startedAt()));
    if (v.finishedAt() != null) {
      b.setFinishedAt(timestamp(v.finishedAt()));
      if (v.exitCode() >= 0 && !v.running()) b.setExitCode(v.exitCode());
    }
    return b.build();
  }

  static EventType eventType(String label) {
    return switch (label) {
      case "create" -> EventType.EVENT_TYPE_CREATE;
      case "start" -> EventType.EVENT_TYPE_START;
      case "start-failed" -> EventType.EVENT_TYPE_START_FAILED;
      case "exit" -> EventType.EVENT_TYPE_EXIT;
      case "restart" -> EventType.EVENT_TYPE_RESTART;
      case "shim-lost" -> EventType.EVENT_TYPE_SHIM_LOST;
      case "reconciled" -> EventType.EVENT_TYPE_RECONCILED;
      case "delete" -> EventType.EVENT_TYPE_DELETE;
      case "journal-damaged" -> EventType.EVENT_TYPE_JOURNAL_DAMAGED;
      default -> EventType.EVENT_TYPE_UNSPECIFIED;
    };
  }

  /** The domain's word for an event type ("shim-lost" for EVENT_TYPE_SHIM_LOST). */
  static String eventTypeLabel(EventType t) {
    if (t == EventType.EVENT_TYPE_UNSPECIFIED || t == EventType.UNRECOGNIZED) {
      throw BerthException.invalidField("filter.types", "unknown event type in a filter: " + t);
    }
    return t.name().substring("EVENT_TYPE_".length()).toLowerCase(Locale.ROOT).replace('_', '-');
  }

  static Event event(EventFeed.LifecycleEvent e) {
    Event.Builder b =
        Event.newBuilder()
            .setSeq(e.seq())
            .setType(eventType(e.type()))
            .setContainerId(e.containerId())
            .setPid(e.pid())
            .setDetail(e.detail() == null ? "" : e.detail());
    if (e.time() != null) b.setTime(timestamp(e.time()));
    if (e.exitCode() != null) b.setExitCode(e.exitCode());
    return b.build();
  }

  static ContainerLogsResponse logEntry(LogFollower.LogLine line) {
    return ContainerLogsResponse.newBuilder()
        .setStream(
            "stderr".equals(line.stream())
                ? LogStream.LOG_STREAM_STDERR
                : LogStream.LOG_STREAM_STDOUT)
        .setTime(timestamp(line.time()))
        .setData(ByteString.copyFrom(line.data()))
        .build();
  }

  static WaitContainerResponse waitResponse(ExitInfo x) {
    WaitContainerResponse.Builder b =
        WaitContainerResponse.newBuilder().setId(x.id()).setExitCode(x.exitCode());
    if (x.finishedAt() != null) b.setFinishedAt(timestamp(x.finishedAt()));
    return b.build();
  }

  static Image image(ImageRecord r) {
    Image.Builder b =
        Image.newBuilder()
            .setId(r.id())
            .addAllNames(r.names())
            .setSize(r.size())
            .setManifestDigest(r.manifestDigest() == null ? "" : r.manifestDigest())
            .addAllRepoDigests(r.repoDigests());
    if (r.createdAt() != null) b.setCreatedAt(timestamp(r.createdAt()));
    return b.build();
  }

  static PruneImagesResponse pruneResponse(ImageStore.Pruned p) {
    return PruneImagesResponse.newBuilder()
        .addAllUntagged(p.untagged())
        .addAllDeleted(p.deleted())
        .setReclaimedBytes(p.reclaimedBytes())
        .build();
  }

  // ---------------------------------------------------------------- requests

  static Containers.Create create(CreateContainerRequest r, Map<String, String> failpoints) {
    RequestLimits.create(r);
    var p = r.getProcess();
    return new Containers.Create(
        r.getImage(),
        r.getName(),
        p.getEntrypointList(),
        p.getCmdList(),
        p.getEnvList(),
        p.getWorkingDir(),
        p.getUser(),
        r.getAutoRemove(),
        r.getHostname(),
        r.getLabelsMap(),
        restartPolicyName(r.getRestartPolicy()),
        r.getRestartPolicy().getMaxRetries(),
        failpoints,
        r.getSecurityOptsList(),
        r.getRequestId(),
        new NetworkOptions(
            r.getNetwork(),
            r.getPublishList(),
            r.getPublishAll(),
            r.getDnsList(),
            r.getDnsSearchList(),
            r.getAddHostList()),
        r.getShimGroup());
  }

  static Containers.Kill kill(KillContainerRequest r) {
    RequestLimits.signal("signal", r.getSignal());
    return new Containers.Kill(RequestLimits.ref("ref", r.getRef()), r.getSignal());
  }

  /** An unset timeout asks for the default; zero means SIGKILL at once. */
  static Containers.Stop stop(StopContainerRequest r) {
    RequestLimits.signal("signal", r.getSignal());
    java.time.Duration timeout = null;
    if (r.hasTimeout()) {
      Duration d = r.getTimeout();
      if (d.getSeconds() < 0 || d.getNanos() < 0) {
        throw BerthException.invalidField("timeout", "timeout must not be negative");
      }
      timeout = java.time.Duration.ofSeconds(d.getSeconds(), d.getNanos());
      if (timeout.compareTo(MAX_STOP_TIMEOUT) > 0) {
        throw BerthException.invalidField("timeout", "timeout must be at most 24 h");
      }
    }
    return new Containers.Stop(RequestLimits.ref("ref", r.getRef()), r.getSignal(), timeout);
  }

  static Containers.Logs logs(ContainerLogsRequest r) {
    return new Containers.Logs(
        RequestLimits.ref("ref", r.getRef()),
        r.getFollow(),
        r.hasTail() ? RequestLimits.logTail(r.getTail()) : -1,
        r.hasSince() ? instant("since", r.getSince()) : null,
        r.hasUntil() ? instant("until", r.getUntil()) : null);
  }

  static Containers.ListRequest list(ListContainersRequest r) {
    ContainerFilter f = r.getFilter();
    RequestLimits.entries("filter.names", f.getNamesCount());
    RequestLimits.entries("filter.images", f.getImagesCount());
    RequestLimits.labels("filter.labels", f.getLabelsMap());
    f.getNamesList().forEach(n -> RequestLimits.text("filter.names", n, RequestLimits.NAME));
    f.getImagesList().forEach(i -> RequestLimits.text("filter.images", i, RequestLimits.IMAGE));
    RequestLimits.text("page_token", r.getPageToken(), RequestLimits.REF);
    List<dev.berth.core.ContainerState> states = new ArrayList<>();
    f.getStatesList().forEach(s -> states.add(state(s)));
    return new Containers.ListRequest(
        r.getAll(),
        f.getNamesList(),
        states,
        f.getLabelsMap(),
        f.getImagesList(),
        r.getPageSize(),
        r.getPageToken());
  }

  /** A page of containers, cut short when it would pass {@link #PAGE_BYTES}. */
  static ListContainersResponse listResponse(Page<ContainerView> page) {
    ListContainersResponse.Builder b = ListContainersResponse.newBuilder();
    long bytes = 0;
    List<ContainerView> items = page.items();
    for (int i = 0; i < items.size(); i++) {
      Container c = container(items.get(i));
      int size = c.getSerializedSize() + 8;
      if (i > 0 && bytes + size > PAGE_BYTES) {
        return b.setNextPageToken(Containers.pageTokenAfter(items.get(i - 1))).build();
      }
      bytes += size;
      b.addContainers(c);
    }
    return b.setNextPageToken(page.nextPageToken() == null ? "" : page.nextPageToken()).build();
  }

  static Events.Filter eventFilter(EventFilter f) {
    RequestLimits.entries("filter.containers", f.getContainersCount());
    RequestLimits.entries("filter.types", f.getTypesCount());
    f.getContainersList().forEach(c -> RequestLimits.ref("filter.containers", c));
    List<String> types = new ArrayList<>();
    f.getTypesList().forEach(t -> types.add(eventTypeLabel(t)));
    return new Events.Filter(f.getContainersList(), types);
  }

  static Images.ListRequest listImages(ListImagesRequest r) {
    ImageFilter f = r.getFilter();
    RequestLimits.entries("filter.references", f.getReferencesCount());
    f.getReferencesList()
        .forEach(ref -> RequestLimits.text("filter.references", ref, RequestLimits.IMAGE));
    RequestLimits.text("page_token", r.getPageToken(), RequestLimits.IMAGE);
    return new Images.ListRequest(
        f.getReferencesList(),
        f.hasDangling() ? f.getDangling() : null,
        r.getPageSize(),
        r.getPageToken());
  }

  static ListImagesResponse listImagesResponse(Page<ImageRecord> page) {
    ListImagesResponse.Builder b = ListImagesResponse.newBuilder();
    page.items().forEach(i -> b.addImages(image(i)));
    return b.setNextPageToken(page.nextPageToken() == null ? "" : page.nextPageToken()).build();
  }
}
