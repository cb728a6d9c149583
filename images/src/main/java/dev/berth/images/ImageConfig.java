package dev.berth.images;

import java.util.List;
import java.util.Map;

/**
 * The runtime-relevant part of an image config ("config" object of the OCI image config). Never
 * null fields: absent values are empty lists, empty strings or an empty map.
 */
public record ImageConfig(
    List<String> entrypoint,
    List<String> cmd,
    List<String> env,
    String workingDir,
    String user,
    Map<String, String> labels,
    /** EXPOSE: {@code 80/tcp}, {@code 53/udp}; what {@code -P} publishes. */
    List<String> exposedPorts) {
  public ImageConfig(
      List<String> entrypoint,
      List<String> cmd,
      List<String> env,
      String workingDir,
      String user,
      Map<String, String> labels) {
    this(entrypoint, cmd, env, workingDir, user, labels, List.of());
  }

  public ImageConfig {
    exposedPorts = exposedPorts == null ? List.of() : List.copyOf(exposedPorts);
    entrypoint = entrypoint == null ? List.of() : List.copyOf(entrypoint);
    cmd = cmd == null ? List.of() : List.copyOf(cmd);
    env = env == null ? List.of() : List.copyOf(env);
    workingDir = workingDir == null ? "" : workingDir;
    user = user == null ? "" : user;
    labels = labels == null ? Map.of() : Map.copyOf(labels);
  }
}
