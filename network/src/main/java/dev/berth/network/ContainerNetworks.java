package dev.berth.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.BerthException;
import dev.berth.core.NetworkSettings;
import dev.berth.core.NetworkSpec;
import dev.berth.core.PortMapping;
import dev.berth.runtime.files.AtomicFiles;
import java.io.IOException;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Containers' networks through CNI: the default bridge's conflist (under {@code ROOT/networks}),
 * one pinned network namespace per bridged container ({@code STATE/netns/<id>}), its CNI ADD before
 * the container's process exists and DEL when the container is removed, and the result of each ADD
 * cached in {@code STATE/cni/results/<id>.json} with the exact conflist and port mappings it was
 * made with: DEL works from the cache alone, after a crash, a daemon restart or a change of {@code
 * --bridge-subnet}. The cache is written before ADD runs, so a daemon killed in the middle of an
 * ADD leaves a record that reconcile finds.
 *
 * <p>Published ports are portmap's iptables DNAT rules in the kernel: they keep working while the
 * daemon is down. Because nothing binds a published port, the daemon checks it before ADD: no other
 * container's cached mapping holds it and a test bind on the host succeeds.
 */
public final class ContainerNetworks {
  private static final Logger log = LoggerFactory.getLogger(ContainerNetworks.class);
  public static final String DEFAULT_BRIDGE = "berth0";
  static final String IFNAME = "eth0";

  private final Path networks;
  private final Path netnsDir;
  private final Path results;
  private final Path ipam;
  private final String bridge;
  private final String bridgeSubnet;
  private final CniPlugins cni;
  private final Object portLock = new Object();
  private volatile JsonNode bridgeList;

  /**
   * @param bridgeSubnet {@code --bridge-subnet}, null or "" to choose one that collides with no
   *     host route (kept across restarts in the conflist)
   */
  public ContainerNetworks(
      Path root, Path state, String bridge, String bridgeSubnet, CniPlugins cni) {
    this.networks = root.resolve("networks");
    this.netnsDir = state.resolve("netns");
    this.results = state.resolve("cni").resolve("results");
    this.ipam = state.resolve("cni").resolve("ipam");
    this.bridge = bridge == null || bridge.isEmpty() ? DEFAULT_BRIDGE : bridge;
    this.bridgeSubnet = bridgeSubnet == null ? "" : bridgeSubnet.strip();
    this.cni = cni;
  }

  /**
   * Writes the default network's conflist (and loopback's): the subnet is {@code --bridge-subnet},
   * else the one an earlier start chose, else the first candidate no host route overlaps.
   *
   * @throws IllegalArgumentException with a one-line reason: a bad or colliding --bridge-subnet
   */
  public void open() throws IOException {
    for (Path d : List.of(networks, netnsDir, results, ipam)) {
      Files.createDirectories(d);
      Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwx------"));
    }
    Path file = networks.resolve(bridge + ".conflist");
    List<HostRoutes.Route> routes = HostRoutes.read();
    Subnet subnet;
    if (!bridgeSubnet.isEmpty()) {
      subnet = Subnet.parse(bridgeSubnet);
      Optional<HostRoutes.Route> hit = HostRoutes.collision(routes, bridge, subnet);
      if (hit.isPresent())
        throw new IllegalArgumentException(
            "--bridge-subnet "
                + subnet
                + " overlaps the host route "
                + hit.get().destination()
                + " on "
                + hit.get().iface());
    } else if (Files.exists(file)) {
      subnet = Conflists.subnetOf(CniPlugins.JSON.readTree(file.toFile()));
    } else {
      subnet =
          HostRoutes.choose(routes, bridge)
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "every candidate bridge subnet overlaps a host route: use --bridge-subnet"));
    }
    ObjectNode list = Conflists.bridge(bridge, bridge, subnet, ipam);
    AtomicFiles.write(
        file,
        CniPlugins.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(list),
        "rw-------");
    AtomicFiles.write(
        networks.resolve("loopback.conflist"),
        CniPlugins.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(Conflists.loopback()),
        "rw-------");
    bridgeList = list;
    log.info("default network: bridge {} on {} (conflist {})", bridge, subnet, file);
  }

  public String bridge() {
    return bridge;
  }

  /** The pinned network namespace of a bridged container. */
  public Path netnsPath(String id) {
    return netnsDir.resolve(id);
  }

  private Path cacheFile(String id) {
    return results.resolve(id + ".json");
  }

  /**
   * Makes the container's network ready before its process is created: for the bridge, the pinned
   * namespace, loopback, the bridge's veth with an address, the published ports. A network already
   * set up (a stopped container started again) is kept as it is, with its address. On failure
   * nothing is left.
   */
  public NetworkSettings setUp(String id, NetworkSpec spec) {
    if (!spec.bridged()) return NetworkSettings.of(spec.mode());
    Optional<ObjectNode> cached = readCache(id);
    if (cached.isPresent() && cached.get().hasNonNull("result") && NetnsFiles.pinned(netnsPath(id)))
      return settings(cached.get());
    tearDown(id); // a half-made one
    long t0 = System.nanoTime();
    Path netns = netnsPath(id);
    try {
      List<PortMapping> ports;
      ObjectNode record = CniPlugins.JSON.createObjectNode();
      synchronized (portLock) {
        ports = resolvePorts(id, spec.ports());
        record.put("containerId", id);
        record.put("netns", netns.toString());
        record.put("ifname", IFNAME);
        record.set("config", bridgeList());
        record.set("runtimeConfig", Conflists.runtimeConfig(ports));
        record.set("ports", CniPlugins.JSON.valueToTree(ports));
        record.putNull("result");
        writeCache(id, record);
      }
      NetnsFiles.create(netns);
      long t1 = System.nanoTime();
      Conflists.add(cni, Conflists.loopback(), id, netns.toString(), "lo", null);
      JsonNode result =
          Conflists.add(
              cni, record.get("config"), id, netns.toString(), IFNAME, record.get("runtimeConfig"));
      record.set("result", result);
      writeCache(id, record);
      long t2 = System.nanoTime();
      NetworkSettings s = settings(record);
      log.info(
          "network of {}: {} on {} ({} ports); netns {} ms, CNI ADD {} ms",
          id,
          s.ipAddress(),
          bridge,
          ports.size(),
          (t1 - t0) / 1_000_000,
          (t2 - t1) / 1_000_000);
      return s;
    } catch (RuntimeException | IOException e) {
      BerthException failure = BerthException.from(e);
      try {
        tearDown(id);
      } catch (RuntimeException again) {
        failure.addSuppressed(again);
      }
      throw failure;
    }
  }

  /** Releases everything the container's network holds (idempotent): DEL, namespace, cache. */
  public void tearDown(String id) {
    long t0 = System.nanoTime();
    Optional<ObjectNode> cached = readCache(id);
    Path netns = netnsPath(id);
    BerthException failure = null;
    if (cached.isPresent()) {
      ObjectNode c = cached.get();
      JsonNode result = c.get("result");
      try {
        Conflists.del(
            cni,
            c.get("config"),
            id,
            c.path("netns").asText(netns.toString()),
            c.path("ifname").asText(IFNAME),
            c.get("runtimeConfig"),
            result == null || result.isNull() ? null : result);
      } catch (BerthException e) {
        failure = e;
      }
    }
    try {
      NetnsFiles.remove(netns);
    } catch (BerthException e) {
      if (failure == null) failure = e;
    }
    if (failure != null) {
      // the cache stays: the next tear-down (removal again, reconcile) tries once more
      log.warn("network tear-down of {} incomplete: {}", id, failure.getMessage());
      throw failure;
    }
    try {
      Files.deleteIfExists(cacheFile(id));
    } catch (IOException e) {
      throw BerthException.internal("cannot delete " + cacheFile(id) + ": " + e.getMessage());
    }
    if (cached.isPresent())
      log.info("network of {} removed: CNI DEL {} ms", id, (System.nanoTime() - t0) / 1_000_000);
  }

  /** The container's network as set up; empty when it has none (not started, host, none). */
  public Optional<NetworkSettings> settings(String id) {
    return readCache(id).filter(c -> c.hasNonNull("result")).map(this::settings);
  }

  /**
   * At create: the published host ports must be free (no other container holds them, nothing on the
   * host listens there), so a conflict is refused before anything exists.
   */
  public void checkPorts(String id, NetworkSpec spec) {
    if (!spec.bridged()) return;
    synchronized (portLock) {
      for (PortMapping p : spec.ports()) if (p.hostPort() != 0) checkFree(id, p);
    }
  }

  /**
   * Tears down what belongs to no container: {@code live} are the ids of every container that
   * exists (its bundle is on disk). Run at daemon start, before any container starts.
   */
  public void reconcile(Set<String> live) {
    Set<String> found = new TreeSet<>();
    for (Path dir : List.of(netnsDir, results)) {
      try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
        for (Path p : s) {
          String n = p.getFileName().toString();
          if (n.endsWith(".json")) n = n.substring(0, n.length() - ".json".length());
          if (n.matches("[0-9a-f]{64}")) found.add(n);
        }
      } catch (NoSuchFileException none) {
        // nothing there yet
      } catch (IOException e) {
        log.warn("cannot list {}: {}", dir, e.getMessage());
      }
    }
    for (String id : found) {
      if (live.contains(id)) continue;
      try {
        tearDown(id);
        log.info("reconcile: removed the network of {}, which has no container", id);
      } catch (RuntimeException e) {
        log.warn("reconcile: network of {}: {}", id, BerthException.from(e).getMessage());
      }
    }
  }

  // ------------------------------------------------------------------ internals

  private JsonNode bridgeList() {
    JsonNode l = bridgeList;
    if (l == null) throw BerthException.internal("networks are not open");
    return l;
  }

  private List<PortMapping> resolvePorts(String id, List<PortMapping> asked) {
    List<PortMapping> out = new ArrayList<>();
    for (PortMapping p : asked) {
      if (p.hostPort() != 0) {
        checkFree(id, p);
        out.add(p);
        continue;
      }
      PortMapping chosen = null;
      for (int attempt = 0; attempt < 20 && chosen == null; attempt++) {
        int port = ephemeral(p);
        PortMapping c = new PortMapping(p.hostIp(), port, p.containerPort(), p.protocol());
        if (heldBy(id, c, out).isEmpty()) chosen = c;
      }
      if (chosen == null)
        throw BerthException.unavailable("no free host port for " + p.containerSide());
      out.add(chosen);
    }
    return out;
  }

  private void checkFree(String id, PortMapping p) {
    Optional<String> other = heldBy(id, p, List.of());
    if (other.isPresent())
      throw BerthException.precondition(
          "port "
              + p.hostSide()
              + "/"
              + p.protocol()
              + " is already published by container "
              + other.get().substring(0, 12));
    if (!bindable(p))
      throw BerthException.precondition(
          "port " + p.hostSide() + "/" + p.protocol() + " is already in use on the host");
  }

  /** Which other container's cached mappings (or which of {@code mine}) clash with {@code p}. */
  private Optional<String> heldBy(String id, PortMapping p, List<PortMapping> mine) {
    for (PortMapping m : mine) if (PortSpecs.clash(m, p)) return Optional.of(id);
    try (DirectoryStream<Path> s = Files.newDirectoryStream(results, "*.json")) {
      for (Path f : s) {
        String other = f.getFileName().toString().replace(".json", "");
        if (other.equals(id)) continue;
        Optional<ObjectNode> c = readCache(other);
        if (c.isEmpty()) continue;
        for (JsonNode m : c.get().path("ports")) {
          PortMapping held =
              new PortMapping(
                  m.path("hostIp").asText(""),
                  m.path("hostPort").asInt(),
                  m.path("containerPort").asInt(),
                  m.path("protocol").asText("tcp"));
          if (PortSpecs.clash(held, p)) return Optional.of(other);
        }
      }
    } catch (IOException e) {
      log.warn("cannot read {}: {}", results, e.getMessage());
    }
    return Optional.empty();
  }

  private static boolean bindable(PortMapping p) {
    try {
      InetSocketAddress at =
          p.hostIp().isEmpty()
              ? new InetSocketAddress(p.hostPort())
              : new InetSocketAddress(InetAddress.getByName(p.hostIp()), p.hostPort());
      if (p.protocol().equals("udp")) {
        try (DatagramSocket s = new DatagramSocket(null)) {
          s.bind(at);
        }
      } else {
        try (ServerSocket s = new ServerSocket()) {
          s.bind(at);
        }
      }
      return true;
    } catch (BindException e) {
      return false;
    } catch (IOException e) {
      throw BerthException.invalid("cannot publish " + p.hostSide() + ": " + e.getMessage());
    }
  }

  private static int ephemeral(PortMapping p) {
    try {
      if (p.protocol().equals("udp")) {
        try (DatagramSocket s = new DatagramSocket(0)) {
          return s.getLocalPort();
        }
      }
      try (ServerSocket s = new ServerSocket(0)) {
        return s.getLocalPort();
      }
    } catch (IOException e) {
      throw BerthException.unavailable("no free host port: " + e.getMessage());
    }
  }

  private Optional<ObjectNode> readCache(String id) {
    try {
      JsonNode n = CniPlugins.JSON.readTree(Files.readAllBytes(cacheFile(id)));
      return n instanceof ObjectNode o ? Optional.of(o) : Optional.empty();
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      log.warn("unreadable CNI cache {}: {}", cacheFile(id), e.getMessage());
      return Optional.empty();
    }
  }

  private void writeCache(String id, ObjectNode record) throws IOException {
    AtomicFiles.write(cacheFile(id), CniPlugins.JSON.writeValueAsBytes(record), "rw-------");
  }

  private NetworkSettings settings(JsonNode c) {
    JsonNode r = c.path("result");
    JsonNode ip = r.path("ips").path(0);
    String cidr = ip.path("address").asText("");
    int slash = cidr.indexOf('/');
    String mac = "";
    if (ip.has("interface"))
      mac = r.path("interfaces").path(ip.get("interface").asInt()).path("mac").asText("");
    List<PortMapping> ports = new ArrayList<>();
    for (JsonNode m : c.path("ports"))
      ports.add(
          new PortMapping(
              m.path("hostIp").asText(""),
              m.path("hostPort").asInt(),
              m.path("containerPort").asInt(),
              m.path("protocol").asText("tcp")));
    return new NetworkSettings(
        NetworkSpec.BRIDGE,
        slash < 0 ? cidr : cidr.substring(0, slash),
        slash < 0 ? 0 : Integer.parseInt(cidr.substring(slash + 1)),
        ip.path("gateway").asText(""),
        mac,
        c.path("config").path("plugins").path(0).path("bridge").asText(bridge),
        c.path("netns").asText(""),
        ports);
  }
}
