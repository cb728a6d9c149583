package dev.berth.oci;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Generates an OCI runtime spec (a bundle's config.json) with docker's defaults (moby
 * oci/defaults.go and daemon/oci_linux.go): docker's 14 default capabilities, no-new-privileges,
 * fresh pid/net/ipc/uts/mount namespaces (a new network namespace has loopback only), the usual
 * /proc /dev /sys mounts, masked and read-only /proc paths and docker's device cgroup allow list,
 * and the seccomp filter it is given (the {@code linux.seccomp} object of a {@link SeccompProfile}
 * converted for {@link #DEFAULT_CAPABILITIES}; none means no filter).
 *
 * <p>Deliberately absent: rlimits (setting them needs CAP_SYS_RESOURCE, which the daemon may lack),
 * AppArmor profiles, and a user namespace.
 */
public final class RuntimeSpec {
  public static final String OCI_VERSION = "1.0.2";
  public static final String DEFAULT_PATH =
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  public static final List<String> DEFAULT_CAPABILITIES =
      List.of(
          "CAP_CHOWN",
          "CAP_DAC_OVERRIDE",
          "CAP_FSETID",
          "CAP_FOWNER",
          "CAP_MKNOD",
          "CAP_NET_RAW",
          "CAP_SETGID",
          "CAP_SETUID",
          "CAP_SETFCAP",
          "CAP_SETPCAP",
          "CAP_NET_BIND_SERVICE",
          "CAP_SYS_CHROOT",
          "CAP_KILL",
          "CAP_AUDIT_WRITE");
  static final List<String> MASKED_PATHS =
      List.of(
          "/proc/asound",
          "/proc/acpi",
          "/proc/kcore",
          "/proc/keys",
          "/proc/latency_stats",
          "/proc/timer_list",
          "/proc/timer_stats",
          "/proc/sched_debug",
          "/proc/scsi",
          "/sys/firmware",
          "/sys/devices/virtual/powercap");
  static final List<String> READONLY_PATHS =
      List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");

  private static final ObjectMapper JSON = new ObjectMapper();

  private RuntimeSpec() {}

  /**
   * @param containerId used for the cgroup path ({@code /berth/<id>})
   * @param hostname the UTS hostname; the first 12 characters of the id when null or blank
   * @param rootfs the (mounted) root filesystem; a relative path stays relative (runc resolves it
   *     against the bundle, so a bundle moved with its --root still runs)
   * @param extraMounts OCI mount objects ({@code destination}, {@code type}, {@code source}, {@code
   *     options}); one with the destination of a default mount replaces that default
   * @param seccomp the {@code linux.seccomp} object (see {@link SeccompProfile#toRuntimeSpec});
   *     null for none
   * @return config.json as UTF-8 JSON bytes
   */
  public static byte[] generate(
      String containerId,
      ProcessConfig process,
      String hostname,
      Path rootfs,
      List<Map<String, Object>> extraMounts,
      JsonNode seccomp) {
    return generate(containerId, process, hostname, rootfs, extraMounts, seccomp, null);
  }

  /**
   * As above, with the container's network namespace: null for a new one of its own (loopback
   * only), "" for the host's (no network namespace), else the path of a pinned one it joins.
   */
  public static byte[] generate(
      String containerId,
      ProcessConfig process,
      String hostname,
      Path rootfs,
      List<Map<String, Object>> extraMounts,
      JsonNode seccomp,
      String networkNamespace) {
    if (containerId == null || containerId.isEmpty())
      throw new IllegalArgumentException("container id is required");
    if (process.args().isEmpty())
      throw new IllegalArgumentException("process args must not be empty");
    if (!process.cwd().startsWith("/"))
      throw new IllegalArgumentException("cwd must be absolute: " + process.cwd());
    ObjectNode spec = JSON.createObjectNode();
    spec.put("ociVersion", OCI_VERSION);
    spec.set("process", process(process));
    ObjectNode root = spec.putObject("root");
    root.put("path", rootfs.normalize().toString());
    root.put("readonly", false);
    String host =
        hostname == null || hostname.isBlank()
            ? containerId.substring(0, Math.min(12, containerId.length()))
            : hostname;
    spec.put("hostname", host);
    spec.set("mounts", mounts(extraMounts == null ? List.of() : extraMounts));
    ObjectNode linux = linux(containerId, networkNamespace);
    // a copy: the caller's object may be shared by every container (the daemon's default profile)
    if (seccomp != null) linux.set("seccomp", seccomp.deepCopy());
    spec.set("linux", linux);
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(spec);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("serializing the runtime spec failed", e);
    }
  }

  private static ObjectNode process(ProcessConfig p) {
    ObjectNode n = JSON.createObjectNode();
    n.put("terminal", false);
    ObjectNode user = n.putObject("user");
    user.put("uid", p.uid());
    user.put("gid", p.gid());
    if (!p.additionalGids().isEmpty())
      p.additionalGids().forEach(user.putArray("additionalGids")::add);
    p.args().forEach(n.putArray("args")::add);
    ArrayNode env = n.putArray("env");
    boolean hasPath = false;
    for (String e : p.env()) {
      env.add(e);
      if (e.startsWith("PATH=")) hasPath = true;
    }
    // runc resolves args[0] through the process' PATH; without one nothing but absolute paths would
    // start
    if (!hasPath) env.insert(0, DEFAULT_PATH);
    n.put("cwd", p.cwd());
    ObjectNode caps = n.putObject("capabilities");
    for (String set : List.of("bounding", "effective", "permitted"))
      DEFAULT_CAPABILITIES.forEach(caps.putArray(set)::add);
    caps.putArray("inheritable");
    caps.putArray("ambient");
    n.put("noNewPrivileges", true);
    return n;
  }

  private static ArrayNode mounts(List<Map<String, Object>> extra) {
    Set<String> overridden = new HashSet<>();
    for (Map<String, Object> m : extra) {
      Object d = m.get("destination");
      if (!(d instanceof String s) || !s.startsWith("/")) {
        throw new IllegalArgumentException("mount without an absolute destination: " + m);
      }
      overridden.add(s);
    }
    ArrayNode out = JSON.createArrayNode();
    mount(out, overridden, "/proc", "proc", "proc", "nosuid", "noexec", "nodev");
    mount(
        out,
        overridden,
        "/dev",
        "tmpfs",
        "tmpfs",
        "nosuid",
        "strictatime",
        "mode=755",
        "size=65536k");
    mount(
        out,
        overridden,
        "/dev/pts",
        "devpts",
        "devpts",
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
        "gid=5");
    mount(out, overridden, "/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro");
    mount(
        out,
        overridden,
        "/sys/fs/cgroup",
        "cgroup",
        "cgroup",
        "ro",
        "nosuid",
        "noexec",
        "nodev",
        "relatime");
    mount(out, overridden, "/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev");
    mount(
        out,
        overridden,
        "/dev/shm",
        "tmpfs",
        "shm",
        "nosuid",
        "noexec",
        "nodev",
        "mode=1777",
        "size=65536k");
    for (Map<String, Object> m : extra) out.add(JSON.valueToTree(m));
    return out;
  }

  private static void mount(
      ArrayNode out,
      Set<String> overridden,
      String dest,
      String type,
      String source,
      String... options) {
    if (overridden.contains(dest)) return;
    ObjectNode m = out.addObject();
    m.put("destination", dest);
    m.put("type", type);
    m.put("source", source);
    for (String o : options) m.withArray("options").add(o);
  }

  private static ObjectNode linux(String id, String networkNamespace) {
    ObjectNode n = JSON.createObjectNode();
    ObjectNode resources = n.putObject("resources");
    ArrayNode devices = resources.putArray("devices");
    devices.add(device(false, null, null, null, "rwm"));
    // docker's default device cgroup rules (daemon/oci_linux.go): mknod of anything, use of the
    // basics
    devices.add(device(true, "c", null, null, "m"));
    devices.add(device(true, "b", null, null, "m"));
    devices.add(device(true, "c", 1L, 3L, "rwm")); // /dev/null
    devices.add(device(true, "c", 1L, 8L, "rwm")); // /dev/random
    devices.add(device(true, "c", 1L, 7L, "rwm")); // /dev/full
    devices.add(device(true, "c", 5L, 0L, "rwm")); // /dev/tty
    devices.add(device(true, "c", 1L, 5L, "rwm")); // /dev/zero
    devices.add(device(true, "c", 1L, 9L, "rwm")); // /dev/urandom
    devices.add(device(true, "c", 5L, 1L, "rwm")); // /dev/console
    devices.add(device(true, "c", 136L, null, "rwm")); // /dev/pts/*
    devices.add(device(true, "c", 5L, 2L, "rwm")); // /dev/ptmx
    devices.add(device(true, "c", 10L, 200L, "rwm")); // /dev/net/tun
    n.put("cgroupsPath", "/berth/" + id);
    ArrayNode ns = n.putArray("namespaces");
    for (String t : List.of("pid", "network", "ipc", "uts", "mount")) {
      if (t.equals("network") && networkNamespace != null) {
        if (networkNamespace.isEmpty()) continue; // the host's network
        ns.addObject().put("type", t).put("path", networkNamespace);
        continue;
      }
      ns.addObject().put("type", t);
    }
    MASKED_PATHS.forEach(n.putArray("maskedPaths")::add);
    READONLY_PATHS.forEach(n.putArray("readonlyPaths")::add);
    return n;
  }

  /** A device cgroup rule; a null major or minor is the wildcard "*" (the OCI spec: omitted). */
  private static JsonNode device(
      boolean allow, String type, Long major, Long minor, String access) {
    ObjectNode d = JSON.createObjectNode();
    d.put("allow", allow);
    if (type != null) d.put("type", type);
    if (major != null) d.put("major", major);
    if (minor != null) d.put("minor", minor);
    d.put("access", access);
    return d;
  }
}
