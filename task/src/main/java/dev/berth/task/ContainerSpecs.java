package dev.berth.task;

import dev.berth.api.failpoint.Failpoints;
import dev.berth.core.BerthException;
import dev.berth.core.ContainerSpec;
import dev.berth.core.NetworkOptions;
import dev.berth.core.NetworkSpec;
import dev.berth.core.RestartPolicy;
import dev.berth.images.ImageConfig;
import dev.berth.images.ImageException;
import dev.berth.images.ImageRecord;
import dev.berth.images.ImageStore;
import dev.berth.network.NetworkSpecs;
import dev.berth.oci.SeccompProfile;
import dev.berth.oci.SecurityDefaults;
import dev.berth.oci.Users;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Turns a create request plus its image into a {@link ContainerSpec}, docker's way. */
public final class ContainerSpecs {
  /**
   * docker's container name rule; additionally ".." is refused so a name can never act as a path.
   */
  /** docker's limit too (it allows 255 bytes; 128 keeps names readable in ps). */
  public static final int MAX_NAME_LENGTH = 128;

  private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]*");

  private static final Pattern ENV = Pattern.compile("[^=\\s]+=.*", Pattern.DOTALL);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String[] ADJECTIVES = {
    "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry",
    "nifty", "proud", "quiet", "rapid", "sharp", "tender", "upbeat", "vivid", "witty", "zen"
  };
  private static final String[] NOUNS = {
    "albatross", "barge", "cutter", "dinghy", "ferry", "galleon", "harbor", "jetty", "keel",
        "lighthouse",
    "mooring", "narwhal", "oar", "pier", "quay", "rudder", "schooner", "tugboat", "wharf", "yawl"
  };

  /** The create request as the daemon received it. */
  public record CreateParams(
      String image,
      String name,
      List<String> entrypoint,
      List<String> cmd,
      List<String> env,
      String workingDir,
      String user,
      boolean autoRemove,
      String hostname,
      Map<String, String> labels,
      RestartPolicy restart,
      Map<String, String> failpoints,
      List<String> securityOpts,
      /** The create's idempotency key; null or empty for none. */
      String requestId,
      /** --network, -p, -P, --dns...; null for the defaults. */
      NetworkOptions network,
      /** The named shim group; null or empty for the default. */
      String shimGroup) {
    /** A create with the default network and shim grouping. */
    public CreateParams(
        String image,
        String name,
        List<String> entrypoint,
        List<String> cmd,
        List<String> env,
        String workingDir,
        String user,
        boolean autoRemove,
        String hostname,
        Map<String, String> labels,
        RestartPolicy restart,
        Map<String, String> failpoints,
        List<String> securityOpts,
        String requestId) {
      this(
          image,
          name,
          entrypoint,
          cmd,
          env,
          workingDir,
          user,
          autoRemove,
          hostname,
          labels,
          restart,
          failpoints,
          securityOpts,
          requestId,
          null,
          null);
    }
  }

  private ContainerSpecs() {}

  public static String newId() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  public static String generatedName() {
    return ADJECTIVES[RANDOM.nextInt(ADJECTIVES.length)]
        + "_"
        + NOUNS[RANDOM.nextInt(NOUNS.length)];
  }

  /** Null when valid, else the one-line reason. */
  public static String checkName(String name) {
    if (name.length() > MAX_NAME_LENGTH) {
      return "invalid container name "
          + BerthException.quote(name)
          + ": "
          + name.length()
          + " characters, at most "
          + MAX_NAME_LENGTH;
    }
    if (!NAME.matcher(name).matches() || name.contains("..")) {
      return "invalid container name "
          + BerthException.quote(name)
          + ": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, without \"..\"";
    }
    if (looksLikeId(name)) {
      return "invalid container name "
          + BerthException.quote(name)
          + ": it would be mistaken for a container id";
    }
    return null;
  }

  /**
   * Null when {@code group} is a valid shim group name (the container-name rules), else the
   * one-line reason.
   */
  public static String checkShimGroup(String group) {
    if (!NAME.matcher(group).matches() || group.contains("..")) {
      return "invalid shim group "
          + BerthException.quote(group)
          + ": at most 128 of [a-zA-Z0-9][a-zA-Z0-9_.-], without \"..\"";
    }
    return null;
  }

  /** 64 hex digits: the form of a container id, never a name. */
  public static boolean looksLikeId(String name) {
    return name.length() == 64 && isHex(name);
  }

  public static boolean isHex(String s) {
    return !s.isEmpty() && s.chars().allMatch(c -> Character.digit(c, 16) >= 0);
  }

  /** The longest request id (bytes; it is printable ASCII, so characters). */
  public static final int REQUEST_ID_LIMIT = 128;

  /** Null when {@code requestId} is a valid idempotency key, else the one-line reason. */
  public static String checkRequestId(String requestId) {
    if (requestId.length() > REQUEST_ID_LIMIT)
      return "request_id is longer than " + REQUEST_ID_LIMIT + " bytes";
    for (int i = 0; i < requestId.length(); i++) {
      char c = requestId.charAt(i);
      if (c <= 0x20 || c > 0x7e)
        return "request_id "
            + BerthException.quote(requestId)
            + " must be printable ASCII without spaces";
    }
    return null;
  }

  /**
   * Builds the spec of container {@code id} and leases its image under that id ({@link
   * ImageStore#leaseImage}), so that {@code image prune} and {@code image rm} cannot take the image
   * away before the container is recorded and its in-use check sees it. The lease is released by
   * {@link ContainerRuntime#prepareBundle} (the container is recorded by then), here when the build
   * fails, or by itself after a few minutes when the create dies in between.
   */
  public static ContainerSpec build(String id, String name, CreateParams p, ImageStore images) {
    if (p.image() == null || p.image().isBlank())
      throw BerthException.invalid("an image is required");
    String ref = p.image().strip();
    ImageRecord image = images.resolve(ref).orElseThrow(() -> BerthException.imageNotFound(ref));
    try {
      images.leaseImage(id, image.id());
    } catch (ImageException e) {
      // removed between the lookup and the lease
      throw BerthException.imageNotFound(ref);
    }
    try {
      return build(id, name, p, images, image);
    } catch (RuntimeException | Error e) {
      images.release(id);
      throw e;
    }
  }

  private static ContainerSpec build(
      String id, String name, CreateParams p, ImageStore images, ImageRecord image) {
    ImageConfig config;
    try {
      config = images.config(image);
    } catch (ImageException e) {
      throw BerthException.internal(e.getMessage());
    }
    // docker: --entrypoint replaces ENTRYPOINT and drops the image's CMD; a given CMD replaces CMD.
    List<String> entrypoint =
        !p.entrypoint().isEmpty() ? p.entrypoint() : nonNull(config.entrypoint());
    List<String> cmd =
        !p.cmd().isEmpty()
            ? p.cmd()
            : (!p.entrypoint().isEmpty() ? List.of() : nonNull(config.cmd()));
    List<String> args = new ArrayList<>(entrypoint);
    args.addAll(cmd);
    if (args.isEmpty() || args.get(0).isBlank()) {
      throw BerthException.invalid(
          "no command specified: the image has no CMD or ENTRYPOINT and none was given");
    }
    for (String e : p.env()) {
      if (!ENV.matcher(e).matches())
        throw BerthException.invalid(
            "invalid environment variable \"" + e + "\": expected KEY=VALUE");
    }
    String user = !p.user().isBlank() ? p.user() : nullToEmpty(config.user());
    int[] ids;
    try {
      ids = Users.resolve(images.layerDirs(image), user);
    } catch (ImageException e) {
      throw BerthException.invalid(e.getMessage());
    }
    List<Integer> extraGids = new ArrayList<>();
    for (int i = 2; i < ids.length; i++) extraGids.add(ids[i]);
    String cwd = !p.workingDir().isBlank() ? p.workingDir() : nullToEmpty(config.workingDir());
    if (cwd.isEmpty()) cwd = "/";
    if (!cwd.startsWith("/"))
      throw BerthException.invalid("the working directory \"" + cwd + "\" is not an absolute path");
    Map<String, String> labels =
        new LinkedHashMap<>(config.labels() == null ? Map.of() : config.labels());
    labels.putAll(p.labels());
    String hostname = !p.hostname().isBlank() ? p.hostname() : id.substring(0, 12);
    RestartPolicy restart = RestartPolicy.of(p.restart());
    if (p.autoRemove() && !restart.isNo()) {
      throw BerthException.invalid(
          "conflicting options: --restart "
              + restart
              + " and --rm (a removed container cannot be restarted)");
    }
    Map<String, String> failpoints = validatedFailpoints(p.failpoints());
    String seccompProfile = seccompProfile(p.securityOpts());
    NetworkSpec network =
        NetworkSpecs.resolve(
            p.network() == null ? NetworkOptions.defaults() : p.network(), config.exposedPorts());
    return new ContainerSpec(
        id,
        name,
        p.image().strip(),
        image.id(),
        List.copyOf(args),
        mergeEnv(nonNull(config.env()), p.env()),
        cwd,
        ids[0],
        ids[1],
        List.copyOf(extraGids),
        hostname,
        p.autoRemove(),
        Map.copyOf(labels),
        Instant.now(),
        restart,
        failpoints,
        seccompProfile,
        p.requestId() == null || p.requestId().isEmpty() ? null : p.requestId(),
        network,
        p.shimGroup() == null || p.shimGroup().isEmpty() ? null : p.shimGroup());
  }

  /**
   * docker's --security-opt, as far as Berth has them: {@code seccomp=unconfined}, {@code
   * seccomp=PROFILE-JSON} (the client sends the file's content, as docker's does) and {@code
   * no-new-privileges[=true]} (always on anyway). A profile is parsed and converted here, so a bad
   * one is refused at create, not found at start.
   *
   * @return the container's seccomp choice for {@link ContainerSpec#seccompProfile()}
   */
  static String seccompProfile(List<String> securityOpts) {
    String seccomp = null;
    for (String opt : securityOpts == null ? List.<String>of() : securityOpts) {
      int eq = opt.indexOf('=');
      String key = eq < 0 ? opt : opt.substring(0, eq);
      String value = eq < 0 ? null : opt.substring(eq + 1);
      switch (key) {
        case "no-new-privileges" -> {
          if (value != null && !value.equals("true")) {
            throw BerthException.invalid(
                "invalid --security-opt "
                    + shown(opt)
                    + ": containers always run with no-new-privileges (only \"true\" is accepted)");
          }
        }
        case "seccomp" -> {
          if (seccomp != null)
            throw BerthException.invalid("invalid --security-opt: seccomp is given more than once");
          if (value == null || value.isBlank()) {
            throw BerthException.invalid(
                "invalid --security-opt "
                    + shown(opt)
                    + ": expected seccomp=PROFILE or seccomp=unconfined");
          }
          if (!value.equals(SecurityDefaults.UNCONFINED)) {
            try {
              SecurityDefaults.forContainers(
                  SeccompProfile.parse(value.getBytes(StandardCharsets.UTF_8)));
            } catch (SeccompProfile.InvalidProfileException e) {
              throw BerthException.invalid(e.getMessage());
            }
          }
          seccomp = value;
        }
        default ->
            throw BerthException.invalid(
                "unsupported --security-opt "
                    + shown(opt)
                    + ": use seccomp=PROFILE, seccomp=unconfined or no-new-privileges");
      }
    }
    return seccomp;
  }

  /** An option as an error message may quote it: a whole profile is not one line. */
  private static String shown(String opt) {
    String oneLine = opt.replaceAll("\\s+", " ");
    return "\"" + (oneLine.length() > 60 ? oneLine.substring(0, 60) + "..." : oneLine) + "\"";
  }

  /**
   * Fault injection is checked here, so a typo is a one-line error at create, not a surprise at
   * start.
   */
  static Map<String, String> validatedFailpoints(Map<String, String> requested) {
    if (requested == null || requested.isEmpty()) return Map.of();
    try {
      Failpoints.parse(requested);
    } catch (IllegalArgumentException e) {
      throw BerthException.invalid(e.getMessage());
    }
    return Map.copyOf(requested);
  }

  /** Image env first; a KEY given on the command line replaces the image's value. */
  static List<String> mergeEnv(List<String> image, List<String> overrides) {
    Map<String, String> merged = new LinkedHashMap<>();
    for (String e : image) merged.put(key(e), e);
    for (String e : overrides) merged.put(key(e), e);
    if (!merged.containsKey("PATH")) {
      merged.put("PATH", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    }
    return List.copyOf(merged.values());
  }

  private static String key(String e) {
    int eq = e.indexOf('=');
    return eq < 0 ? e : e.substring(0, eq);
  }

  private static List<String> nonNull(List<String> l) {
    return l == null ? List.of() : l;
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
