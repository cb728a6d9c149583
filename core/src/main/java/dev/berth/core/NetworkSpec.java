package dev.berth.core;

import java.util.List;

/**
 * A container's network as created (journaled inside {@link ContainerSpec}): the mode ({@value
 * #BRIDGE}, {@value #HOST} or {@value #NONE}), its published ports, and what goes into its {@code
 * /etc/resolv.conf} and {@code /etc/hosts}. A spec journaled before networks has none: {@link
 * ContainerSpec#networkOrNone()} reads that as {@value #NONE}, the loopback-only network such a
 * container always had.
 */
public record NetworkSpec(
    String mode,
    List<PortMapping> ports,
    List<String> dns,
    List<String> dnsSearch,
    /** {@code HOST:IP} lines for /etc/hosts ({@code --add-host}). */
    List<String> extraHosts) {
  public static final String BRIDGE = "bridge";
  public static final String HOST = "host";
  public static final String NONE = "none";

  public NetworkSpec {
    mode = mode == null || mode.isEmpty() ? NONE : mode;
    ports = ports == null ? List.of() : List.copyOf(ports);
    dns = dns == null ? List.of() : List.copyOf(dns);
    dnsSearch = dnsSearch == null ? List.of() : List.copyOf(dnsSearch);
    extraHosts = extraHosts == null ? List.of() : List.copyOf(extraHosts);
  }

  public static NetworkSpec none() {
    return new NetworkSpec(NONE, List.of(), List.of(), List.of(), List.of());
  }

  public boolean bridged() {
    return BRIDGE.equals(mode);
  }

  public boolean host() {
    return HOST.equals(mode);
  }
}
