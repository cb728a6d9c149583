package dev.berth.core;

import dev.berth.persistence.CborSerializable;
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
    Map<String, String> failpoints) implements CborSerializable {

  public RestartPolicy restartPolicy() { return RestartPolicy.of(restart); }

  public Map<String, String> failpointsOrEmpty() { return failpoints == null ? Map.of() : failpoints; }
}
