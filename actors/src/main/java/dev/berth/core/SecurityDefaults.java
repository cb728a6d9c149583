package dev.berth.core;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.oci.RuntimeSpec;
import dev.berth.oci.SeccompProfile;
import dev.berth.oci.SeccompProfile.InvalidProfileException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * What every container gets unless it asks otherwise, set once per daemon: the seccomp filter of
 * {@code berthd --seccomp-profile} (default {@value #DEFAULT_SECCOMP_PROFILE}, podman's profile
 * as Debian's golang-github-containers-common installs it), converted at start for the
 * containers' capabilities.
 *
 * @param seccomp the {@code linux.seccomp} object of config.json; null when containers run without
 *                a filter by default ({@code --seccomp-profile unconfined})
 * @param seccompSource where the default came from (the profile's path, or "unconfined"), for the log
 */
public record SecurityDefaults(JsonNode seccomp, String seccompSource) {
  public static final String DEFAULT_SECCOMP_PROFILE = "/usr/share/containers/seccomp.json";
  /** The flag value, and a container's seccomp choice, that means "no filter" (docker's word). */
  public static final String UNCONFINED = "unconfined";

  /** No filter by default ({@code --seccomp-profile unconfined}). */
  public static SecurityDefaults unconfined() {
    return new SecurityDefaults(null, UNCONFINED);
  }

  /** {@code --seccomp-profile PATH|unconfined}: reads and converts the profile once. */
  public static SecurityDefaults fromSeccompFlag(String profile) throws InvalidProfileException {
    if (profile.equals(UNCONFINED)) return unconfined();
    Path file = Path.of(profile).toAbsolutePath().normalize();
    return new SecurityDefaults(forContainers(SeccompProfile.read(file)), file.toString());
  }

  /**
   * The filter for a container's journaled choice ({@link ContainerSpec#seccompProfile()}): null
   * (the daemon default), {@value #UNCONFINED} (none), or the JSON of its own profile.
   *
   * @return the {@code linux.seccomp} object, or null for no filter
   */
  public JsonNode seccompFor(String choice) throws InvalidProfileException {
    if (choice == null) return seccomp;
    if (choice.equals(UNCONFINED)) return null;
    return forContainers(SeccompProfile.parse(choice.getBytes(StandardCharsets.UTF_8)));
  }

  /** Every container has the same capabilities today, so one conversion serves all of them. */
  static JsonNode forContainers(SeccompProfile profile) {
    return profile.toRuntimeSpec(RuntimeSpec.DEFAULT_CAPABILITIES, SeccompProfile.Host.current()).orElse(null);
  }
}
