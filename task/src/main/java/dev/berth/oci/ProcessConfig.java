package dev.berth.oci;

import java.util.List;

/**
 * The container's init process.
 *
 * @param args argv; the first element is looked up in PATH by runc
 * @param env "KEY=VALUE" entries; PATH is added by {@link RuntimeSpec} when missing
 * @param cwd absolute working directory; "/" when null or empty
 * @param additionalGids supplementary groups
 */
public record ProcessConfig(
    List<String> args,
    List<String> env,
    String cwd,
    int uid,
    int gid,
    List<Integer> additionalGids) {
  public ProcessConfig {
    args = List.copyOf(args);
    env = env == null ? List.of() : List.copyOf(env);
    cwd = cwd == null || cwd.isEmpty() ? "/" : cwd;
    additionalGids = additionalGids == null ? List.of() : List.copyOf(additionalGids);
  }
}
