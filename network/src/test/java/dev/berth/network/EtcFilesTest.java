package dev.berth.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.NetworkSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class EtcFilesTest {
  static final String HOST =
      "# written by someone\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\noptions edns0\n";

  @Test
  void loopback_nameservers_are_left_out_of_a_bridged_container_resolv_conf() {
    NetworkSpec bridge = new NetworkSpec("bridge", List.of(), List.of(), List.of(), List.of());
    assertEquals(
        "search corp.example\nnameserver 10.0.0.2\noptions edns0\n",
        EtcFiles.resolvConf(HOST, bridge));
  }

  @Test
  void only_loopback_nameservers_fall_back_to_public_ones_and_host_mode_keeps_them() {
    String onlyLocal = "nameserver 127.0.0.53\n";
    NetworkSpec bridge = new NetworkSpec("bridge", List.of(), List.of(), List.of(), List.of());
    assertEquals(
        "nameserver 8.8.8.8\nnameserver 8.8.4.4\n", EtcFiles.resolvConf(onlyLocal, bridge));
    NetworkSpec host = new NetworkSpec("host", List.of(), List.of(), List.of(), List.of());
    assertEquals("nameserver 127.0.0.53\n", EtcFiles.resolvConf(onlyLocal, host));
  }

  @Test
  void dns_flags_replace_the_host_nameservers_and_search_domains() {
    NetworkSpec spec =
        new NetworkSpec("bridge", List.of(), List.of("1.1.1.1"), List.of("a.example"), List.of());
    assertEquals(
        "search a.example\nnameserver 1.1.1.1\noptions edns0\n", EtcFiles.resolvConf(HOST, spec));
  }

  @Test
  void hosts_names_localhost_the_container_and_extra_hosts() {
    NetworkSpec spec =
        new NetworkSpec("bridge", List.of(), List.of(), List.of(), List.of("db:10.1.2.3"));
    String hosts = EtcFiles.hosts("web1", "web", "10.88.0.5", spec);
    assertTrue(hosts.startsWith("127.0.0.1\tlocalhost\n"), hosts);
    assertTrue(hosts.contains("10.1.2.3\tdb\n"), hosts);
    assertTrue(hosts.endsWith("10.88.0.5\tweb1 web\n"), hosts);
  }
}
