package dev.berth.oci;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.core.ContainerSpec;
import dev.berth.oci.SeccompProfile.InvalidProfileException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * What every container gets unless it asks otherwise, set once per daemon: the seccomp filter of
 * {@code berthd --seccomp-profile} (default {@value #DEFAULT_SECCOMP_PROFILE}, podman's profile as
 * Debian's golang-github-containers-common installs it), converted at start for the containers'
 * capabilities.
 *
 * @param seccomp the {@code linux.seccomp} object of config.json; null when containers run without
 *     a filter by default ({@code --seccomp-profile unconfined})
 * @param seccompSource where the default came from (the profile's path, or "unconfined"), for the
 *     log
 */
public record SecurityDefaults(JsonNode seccomp, String seccompSource) {
  public static final String DEFAULT_SECCOMP_PROFILE = "/usr/share/containers/seccomp.json";

  /** The flag value, and a container's seccomp choice, that means "no filter" (docker's word). */
  public static final String UNCONFINED = dev.berth.core.ContainerSpec.SECCOMP_UNCONFINED;

  /** No filter by default ({@code --seccomp-profile unconfined}). */
  public static SecurityDefaults unconfined() {
    return new SecurityDefaults(null, UNCONFINED);
  }

  /**
   * {@code --seccomp-profile PATH|unconfined}: reads and converts the profile once. The default
   * profile (podman's) gets docker's rules for user namespaces and the kernel keyring on top, see
   * {@link #withDockerNamespaceAndKeyringRules}; a profile named explicitly is used as it is.
   */
  public static SecurityDefaults fromSeccompFlag(String profile) throws InvalidProfileException {
    if (profile.equals(UNCONFINED)) return unconfined();
    Path file = Path.of(profile).toAbsolutePath().normalize();
    JsonNode seccomp = forContainers(SeccompProfile.read(file));
    if (file.equals(Path.of(DEFAULT_SECCOMP_PROFILE)) && seccomp != null) {
      seccomp = withDockerNamespaceAndKeyringRules(seccomp, RuntimeSpec.DEFAULT_CAPABILITIES);
      return new SecurityDefaults(seccomp, file + " (with docker's namespace and keyring rules)");
    }
    return new SecurityDefaults(seccomp, file.toString());
  }

  /** Syscalls whose rules the default profile's are replaced by docker's (see below). */
  private static final java.util.Set<String> REPLACED =
      java.util.Set.of("unshare", "setns", "clone", "clone3", "keyctl", "add_key", "request_key");

  /**
   * clone(2) flags that make namespaces
   * (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET).
   */
  private static final long CLONE_NAMESPACE_FLAGS = 0x7E020000L;

  private static final int EPERM = 1;
  private static final int ENOSYS = 38;

  /**
   * podman's profile allows unshare(2), setns(2), clone(2) with any flags and the keyring calls, so
   * that rootless podman can run inside a container; docker's profile does not, and Berth's default
   * follows docker: without CAP_SYS_ADMIN no new namespaces (unshare and setns refused with EPERM,
   * clone only without namespace flags, clone3 answered ENOSYS so libc falls back to clone), and no
   * kernel keyring at all (keyctl, add_key, request_key: EPERM; the keyring is not namespaced).
   */
  static JsonNode withDockerNamespaceAndKeyringRules(JsonNode oci, java.util.List<String> caps) {
    com.fasterxml.jackson.databind.node.ObjectNode out = oci.deepCopy();
    com.fasterxml.jackson.databind.node.ArrayNode rules = out.putArray("syscalls");
    for (JsonNode rule : oci.path("syscalls")) {
      com.fasterxml.jackson.databind.node.ObjectNode copy = rule.deepCopy();
      com.fasterxml.jackson.databind.node.ArrayNode names = copy.putArray("names");
      rule.path("names")
          .forEach(
              n -> {
                if (!REPLACED.contains(n.asText())) names.add(n.asText());
              });
      if (!names.isEmpty()) rules.add(copy);
    }
    boolean sysAdmin = caps.contains("CAP_SYS_ADMIN");
    com.fasterxml.jackson.databind.node.ObjectNode clone = rules.addObject();
    clone.putArray("names").add("clone");
    clone.put("action", "SCMP_ACT_ALLOW");
    if (!sysAdmin) {
      com.fasterxml.jackson.databind.node.ObjectNode flags = clone.putArray("args").addObject();
      flags.put("index", 0); // the flags argument on x86-64 and arm64
      flags.put("value", CLONE_NAMESPACE_FLAGS);
      flags.put("valueTwo", 0);
      flags.put("op", "SCMP_CMP_MASKED_EQ");
    }
    com.fasterxml.jackson.databind.node.ObjectNode clone3 = rules.addObject();
    clone3.putArray("names").add("clone3");
    clone3.put("action", sysAdmin ? "SCMP_ACT_ALLOW" : "SCMP_ACT_ERRNO");
    if (!sysAdmin) clone3.put("errnoRet", ENOSYS);
    com.fasterxml.jackson.databind.node.ObjectNode namespaces = rules.addObject();
    namespaces.putArray("names").add("unshare").add("setns");
    namespaces.put("action", sysAdmin ? "SCMP_ACT_ALLOW" : "SCMP_ACT_ERRNO");
    if (!sysAdmin) namespaces.put("errnoRet", EPERM);
    com.fasterxml.jackson.databind.node.ObjectNode keyring = rules.addObject();
    keyring.putArray("names").add("keyctl").add("add_key").add("request_key");
    keyring.put("action", "SCMP_ACT_ERRNO");
    keyring.put("errnoRet", EPERM);
    return out;
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
  public static JsonNode forContainers(SeccompProfile profile) {
    return profile
        .toRuntimeSpec(RuntimeSpec.DEFAULT_CAPABILITIES, SeccompProfile.Host.current())
        .orElse(null);
  }
}
