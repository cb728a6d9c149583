package dev.berth.runtime.nativ;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What to spawn: argv (argv[0] is looked up on PATH), environment and the three standard fds.
 * Defaults: the caller's environment, stdin from /dev/null, stdout/stderr inherited.
 */
public final class SpawnSpec {
  final List<String> argv;
  List<String> env;
  Redirect stdin = Redirect.DEV_NULL;
  Redirect stdout = Redirect.INHERIT;
  Redirect stderr = Redirect.INHERIT;
  boolean newSession;
  boolean newProcessGroup;

  private SpawnSpec(List<String> argv) {
    if (argv.isEmpty()) {
      throw new IllegalArgumentException("empty argv");
    }
    this.argv = List.copyOf(argv);
  }

  public static SpawnSpec of(List<String> argv) {
    return new SpawnSpec(argv);
  }

  public static SpawnSpec of(String... argv) {
    return new SpawnSpec(List.of(argv));
  }

  /** The full environment as "KEY=VALUE" strings. */
  public SpawnSpec env(List<String> keyValues) {
    this.env = List.copyOf(keyValues);
    return this;
  }

  /**
   * Source fds should be >= 3: redirects are applied in the order 0, 1, 2, so e.g. stderr=fd(1)
   * would copy the already-redirected stdout.
   */
  public SpawnSpec stdin(Redirect r) {
    this.stdin = r;
    return this;
  }

  public SpawnSpec stdout(Redirect r) {
    this.stdout = r;
    return this;
  }

  public SpawnSpec stderr(Redirect r) {
    this.stderr = r;
    return this;
  }

  /** POSIX_SPAWN_SETSID: the child leads a new session (it survives our process group). */
  public SpawnSpec newSession(boolean on) {
    this.newSession = on;
    return this;
  }

  /**
   * POSIX_SPAWN_SETPGROUP with group 0: the child leads a new process group (whose id is its pid),
   * so that it and everything it starts can be killed at once with {@code kill(-pid, sig)}.
   */
  public SpawnSpec newProcessGroup(boolean on) {
    this.newProcessGroup = on;
    return this;
  }

  public List<String> argv() {
    return argv;
  }

  List<String> envOrInherited() {
    if (env != null) {
      return env;
    }
    List<String> kv = new ArrayList<>();
    for (Map.Entry<String, String> e : System.getenv().entrySet()) {
      kv.add(e.getKey() + "=" + e.getValue());
    }
    return kv;
  }
}
