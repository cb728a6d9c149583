package dev.berth.core;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What the user asked for, resolved against the image at create time (so a later change of the
 * image name does not change an existing container). Journaled in ContainerCreated.
 */
public record ContainerSpec(
    String id,
    String name,
    String image,
    String imageId,
    List<String> args,
    List<String> env,
    String cwd,
    int uid,
    int gid,
    List<Integer> additionalGids,
    String hostname,
    boolean autoRemove,
    Map<String, String> labels,
    Instant createdAt,
    /** Null in journals written before restart policies; use {@link #restartPolicy()}. */
    RestartPolicy restart,
    /** Shim RPC name -> failpoint action (fault injection); null or empty for none. */
    Map<String, String> failpoints,
    /**
     * The seccomp choice (--security-opt seccomp=...): null for the daemon's default (also in
     * journals written before seccomp), {@value SecurityDefaults#UNCONFINED} for no filter, else
     * the JSON of the container's own profile, checked at create. Either is resolved into
     * config.json when the bundle is written (at create), so a container keeps the filter it was
     * created with, whatever --seccomp-profile a later daemon has.
     */
    String seccompProfile,
    /**
     * The create request's idempotency key ({@code request_id}); null or empty for none (also in
     * journals written before it).
     */
    String requestId,
    /**
     * The container's network (mode, published ports, DNS, extra hosts); null in journals written
     * before networks, read as {@link NetworkSpec#none()} by {@link #networkOrNone()}.
     */
    NetworkSpec network,
    /**
     * The named shim group ({@code --shim-group}) the container runs in; null for the default (an
     * auto group, or a shim of its own with --shim-group-size 1; also in older journals).
     */
    String shimGroup) {

  /** A spec without a network of its own (loopback only) or a named shim group, as before both. */
  public ContainerSpec(
      String id,
      String name,
      String image,
      String imageId,
      List<String> args,
      List<String> env,
      String cwd,
      int uid,
      int gid,
      List<Integer> additionalGids,
      String hostname,
      boolean autoRemove,
      Map<String, String> labels,
      Instant createdAt,
      RestartPolicy restart,
      Map<String, String> failpoints,
      String seccompProfile,
      String requestId) {
    this(
        id,
        name,
        image,
        imageId,
        args,
        env,
        cwd,
        uid,
        gid,
        additionalGids,
        hostname,
        autoRemove,
        labels,
        createdAt,
        restart,
        failpoints,
        seccompProfile,
        requestId,
        null,
        null);
  }

  /** The network, {@link NetworkSpec#none()} for a spec journaled before networks. */
  public NetworkSpec networkOrNone() {
    return network == null ? NetworkSpec.none() : network;
  }

  /** The named shim group, or null for the default. */
  public String shimGroupOrNull() {
    return shimGroup == null || shimGroup.isEmpty() ? null : shimGroup;
  }

  /** The seccomp profile value that turns filtering off. */
  public static final String SECCOMP_UNCONFINED = "unconfined";

  public RestartPolicy restartPolicy() {
    return RestartPolicy.of(restart);
  }

  /** The create's idempotency key, "" for none. */
  public String requestIdOrEmpty() {
    return requestId == null ? "" : requestId;
  }

  public Map<String, String> failpointsOrEmpty() {
    return failpoints == null ? Map.of() : failpoints;
  }

  /** What inspect shows: "default", "unconfined" or "custom". */
  public String seccompMode() {
    if (seccompProfile == null) return "default";
    return seccompProfile.equals(SECCOMP_UNCONFINED) ? "unconfined" : "custom";
  }
}
