package dev.berth.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.it.BerthHarness.Result;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Containers' networks with real bridges, veths, network namespaces and iptables (the CNI plugins):
 * a busybox httpd behind -p fetched from the host over 127.0.0.1 and over the host's own address,
 * --network none and host, port conflicts, removal leaving nothing of the container's network
 * behind, and published ports answering across a kill -9 and restart of berthd. The daemon gets a
 * bridge of its own, so a daemon of another test or a production one on this host is not touched;
 * leak checks look only at what carries the container's id.
 */
@Timeout(300)
class NetworkIT {
  static final String BRIDGE = "berthit0";
  static BerthHarness berth;

  @BeforeAll
  static void startDaemon() {
    berth = BerthHarness.start("NetworkIT", List.of("--bridge", BRIDGE));
  }

  @AfterAll
  static void stopDaemon() {
    if (berth != null) berth.close();
    // the test's own bridge (a daemon keeps its bridge, as docker keeps docker0)
    BerthHarness.exec(Duration.ofSeconds(10), List.of("ip", "link", "del", BRIDGE));
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** One GET; the body, or null when the request failed. */
  static String get(String url, Duration timeout) {
    try {
      HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
      c.setConnectTimeout((int) timeout.toMillis());
      c.setReadTimeout((int) timeout.toMillis());
      try (InputStream in = c.getInputStream()) {
        return c.getResponseCode() == 200
            ? new String(in.readAllBytes(), StandardCharsets.UTF_8)
            : null;
      } finally {
        c.disconnect();
      }
    } catch (IOException e) {
      return null;
    }
  }

  static String getEventually(String url) {
    Instant deadline = Instant.now().plusSeconds(15);
    while (Instant.now().isBefore(deadline)) {
      String body = get(url, Duration.ofSeconds(2));
      if (body != null) return body;
      sleep(100);
    }
    throw new AssertionError("no answer from " + url + " within 15 s");
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The host's first global IPv4 address that is not on a container bridge. */
  static String hostAddress() {
    Result r =
        BerthHarness.exec(
            Duration.ofSeconds(10), List.of("ip", "-4", "-o", "addr", "show", "scope", "global"));
    for (String line : r.stdout().lines().collect(Collectors.toList())) {
      String[] f = line.trim().split("\\s+");
      if (f.length > 3 && !f[1].startsWith("berth") && !f[1].startsWith("veth"))
        return f[3].substring(0, f[3].indexOf('/'));
    }
    throw new AssertionError("no global IPv4 address on this host:\n" + r);
  }

  /** busybox httpd serving the container's /etc on port 80, published as {@code publish}. */
  static String httpd(String... publish) {
    List<String> args = new ArrayList<>();
    for (String p : publish) args.addAll(List.of("-p", p));
    args.addAll(List.of("busybox", "httpd", "-f", "-p", "80", "-h", "/etc"));
    return berth.runDetached(args.toArray(String[]::new));
  }

  /** Everything on this host that carries the container's id or its veth: rules, leases, files. */
  static List<String> traces(String id, String veth) throws IOException {
    List<String> found = new ArrayList<>();
    for (String table : List.of("nat", "filter")) {
      Result r = BerthHarness.exec(Duration.ofSeconds(20), List.of("iptables-save", "-t", table));
      r.stdout()
          .lines()
          .filter(l -> l.contains(id))
          .forEach(l -> found.add("iptables " + table + ": " + l));
    }
    if (veth != null && !veth.isEmpty()) {
      Result link = BerthHarness.exec(Duration.ofSeconds(10), List.of("ip", "link", "show", veth));
      if (link.exitCode() == 0) found.add("veth " + veth);
    }
    Path netns = berth.state.resolve("netns").resolve(id);
    if (Files.exists(netns)) found.add("netns file " + netns);
    if (BerthHarness.mountsUnder(berth.state).stream().anyMatch(m -> m.contains(id)))
      found.add("netns mount of " + id);
    Path cache = berth.state.resolve("cni/results").resolve(id + ".json");
    if (Files.exists(cache)) found.add("CNI cache " + cache);
    Path ipam = berth.state.resolve("cni/ipam");
    if (Files.isDirectory(ipam)) {
      try (Stream<Path> s = Files.walk(ipam)) {
        for (Path f : s.filter(Files::isRegularFile).collect(Collectors.toList()))
          if (Files.readString(f).contains(id)) found.add("IP lease " + f);
      }
    }
    return found;
  }

  /** The host side of the container's veth, from the cached CNI result. */
  static String veth(String id) throws IOException {
    JsonNode cache =
        BerthHarness.parse(
            Files.readString(berth.state.resolve("cni/results").resolve(id + ".json")));
    for (JsonNode i : cache.at("/result/interfaces"))
      if (i.path("name").asText().startsWith("veth")) return i.get("name").asText();
    throw new AssertionError("no veth in the CNI result of " + id + ": " + cache);
  }

  @Test
  void a_published_port_answers_on_loopback_and_the_host_address_and_rm_leaves_no_trace()
      throws Exception {
    int port = freePort();
    String id = httpd(port + ":80");
    String hostname = id.substring(0, 12);
    assertEquals(hostname, getEventually("http://127.0.0.1:" + port + "/hostname").strip());
    assertEquals(
        hostname, getEventually("http://" + hostAddress() + ":" + port + "/hostname").strip());
    String hosts = getEventually("http://127.0.0.1:" + port + "/hosts");
    JsonNode net = berth.inspect(id).path("networkSettings");
    assertEquals("bridge", net.path("mode").asText());
    assertEquals(BRIDGE, net.path("bridge").asText());
    String ip = net.path("ipAddress").asText();
    assertTrue(hosts.contains(ip + "\t" + hostname), hosts);
    assertEquals(port, net.at("/ports/0/hostPort").asInt());
    assertEquals("80/tcp -> 0.0.0.0:" + port, berth.ok("port", id));
    String veth = veth(id);
    List<String> before = traces(id, veth);
    assertTrue(
        before.stream().anyMatch(t -> t.startsWith("iptables nat")), "portmap's rules: " + before);
    assertTrue(before.stream().anyMatch(t -> t.startsWith("IP lease")), "the lease: " + before);

    berth.ok("rm", "-f", id);
    assertEquals(List.of(), traces(id, veth));
    assertEquals(null, get("http://127.0.0.1:" + port + "/hostname", Duration.ofSeconds(1)));
  }

  @Test
  void a_free_host_port_is_chosen_for_a_bare_container_port() throws Exception {
    String id = httpd("80");
    String line = berth.ok("port", id);
    assertTrue(line.matches("80/tcp -> 0\\.0\\.0\\.0:[0-9]+"), line);
    int port = Integer.parseInt(line.substring(line.lastIndexOf(':') + 1));
    assertEquals(
        id.substring(0, 12), getEventually("http://127.0.0.1:" + port + "/hostname").strip());
    berth.ok("rm", "-f", id);
  }

  @Test
  void network_none_has_loopback_only_and_host_sees_the_host_interfaces() {
    String none =
        berth.ok("run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net");
    assertEquals(List.of("lo"), none.lines().collect(Collectors.toList()));
    String host =
        berth.ok("run", "--rm", "--network", "host", "busybox", "sh", "-c", "ls /sys/class/net");
    Result mine = BerthHarness.exec(Duration.ofSeconds(10), List.of("ls", "/sys/class/net"));
    assertEquals(mine.stdout().strip(), host.strip());
    String bridged = berth.ok("run", "--rm", "busybox", "sh", "-c", "ls /sys/class/net");
    assertEquals(List.of("eth0", "lo"), bridged.lines().collect(Collectors.toList()));
  }

  @Test
  void dns_and_extra_hosts_reach_the_container_files() {
    String out =
        berth.ok(
            "run",
            "--rm",
            "--dns",
            "10.9.8.7",
            "--dns-search",
            "corp.example",
            "--add-host",
            "db.local:10.1.2.3",
            "--hostname",
            "web1",
            "-u",
            "1000",
            "busybox",
            "sh",
            "-c",
            "cat /etc/resolv.conf /etc/hosts /etc/hostname");
    assertTrue(out.contains("nameserver 10.9.8.7"), out);
    assertTrue(out.contains("search corp.example"), out);
    assertTrue(out.contains("10.1.2.3\tdb.local"), out);
    assertTrue(out.endsWith("web1"), out);
  }

  private static List<String> containers() {
    return berth.psAll().stream()
        .map(c -> c.path("id").asText())
        .sorted()
        .collect(Collectors.toList());
  }

  private static List<String> networkFiles() throws IOException {
    List<String> out = new ArrayList<>();
    for (String d : List.of("netns", "cni/results")) {
      Path dir = berth.state.resolve(d);
      if (!Files.isDirectory(dir)) continue;
      try (Stream<Path> s = Files.list(dir)) {
        s.map(p -> p.getFileName().toString()).sorted().forEach(out::add);
      }
    }
    return out;
  }

  private static void refused(String... args) throws IOException {
    List<String> containers = containers();
    List<String> files = networkFiles();
    Result r = berth.berth(args);
    assertEquals(125, r.exitCode(), r.toString());
    assertEquals(1, r.stderrLines().size(), r.toString());
    assertEquals(containers, containers(), "nothing created: " + r);
    assertEquals(files, networkFiles(), "no network made: " + r);
  }

  @Test
  void a_host_port_in_use_is_one_line_and_leaves_nothing() throws Exception {
    try (ServerSocket taken = new ServerSocket(freePort())) {
      refused("run", "-d", "-p", taken.getLocalPort() + ":80", "busybox", "sleep", "60");
      refused("create", "-p", "127.0.0.1:" + taken.getLocalPort() + ":80", "busybox", "true");
    }
    int port = freePort();
    String first = httpd(port + ":80");
    refused("run", "-d", "-p", port + ":80", "busybox", "sleep", "60");
    refused("create", "-p", port + ":8080", "busybox", "true");
    berth.ok("rm", "-f", first);
  }

  @Test
  void malformed_network_flags_are_one_line_and_create_nothing() throws Exception {
    for (String p : List.of("70000:80", "abc", "1:2:3:4", "80/sctp", "8080:80:"))
      refused("create", "-p", p, "busybox", "true");
    refused("create", "--network", "a/b", "busybox", "true");
    refused("create", "--network", "..", "busybox", "true");
    refused("create", "--network", "nosuch", "busybox", "true");
    refused("create", "--network", "container:nosuch", "busybox", "true");
    refused("create", "--network", "host", "-p", "80", "busybox", "true");
    refused("create", "--dns", "not-an-ip", "busybox", "true");
    refused("create", "--add-host", "nocolon", "busybox", "true");
  }

  @Test
  void published_ports_answer_through_a_daemon_kill_9_and_restart_and_the_ip_stays()
      throws Exception {
    int port = freePort();
    String id = httpd(port + ":80");
    String url = "http://127.0.0.1:" + port + "/hostname";
    getEventually(url);
    String ip = berth.inspect(id).at("/networkSettings/ipAddress").asText();
    AtomicInteger ok = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    AtomicReference<Boolean> running = new AtomicReference<>(true);
    Thread loop =
        new Thread(
            () -> {
              while (running.get()) {
                if (get(url, Duration.ofSeconds(2)) != null) ok.incrementAndGet();
                else failed.incrementAndGet();
                sleep(20);
              }
            });
    loop.start();
    try {
      sleep(500);
      berth.kill9Daemon();
      sleep(1500);
      int whileDown = ok.get();
      berth.startDaemon();
      sleep(1000);
      assertTrue(whileDown > 10, "requests answered while berthd was down: " + whileDown);
    } finally {
      running.set(false);
      loop.join(10_000);
    }
    assertEquals(0, failed.get(), "failed requests (" + ok.get() + " answered)");
    assertEquals(ip, berth.inspect(id).at("/networkSettings/ipAddress").asText());
    String veth = veth(id);
    berth.ok("rm", "-f", id);
    assertEquals(List.of(), traces(id, veth));
  }

  @Test
  void a_stopped_container_keeps_its_address_when_started_again() throws Exception {
    String id = httpd("80");
    String ip = berth.inspect(id).at("/networkSettings/ipAddress").asText();
    berth.ok("stop", "-t", "1", id);
    berth.ok("start", id);
    assertEquals(ip, berth.inspect(id).at("/networkSettings/ipAddress").asText());
    String veth = veth(id);
    berth.ok("rm", "-f", id);
    assertEquals(List.of(), traces(id, veth));
  }
}
