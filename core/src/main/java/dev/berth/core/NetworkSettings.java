package dev.berth.core;

import java.util.List;

/**
 * What a container's network is once set up (inspect's network settings, {@code berth port}): the
 * address its interface got, the gateway, the bridge and the host ports its ports are published on.
 * {@code sandboxKey} is the pinned network namespace file ("" for host and none).
 */
public record NetworkSettings(
    String mode,
    String ipAddress,
    int ipPrefixLength,
    String gateway,
    String macAddress,
    String bridge,
    String sandboxKey,
    List<PortMapping> ports) {
  public NetworkSettings {
    ports = ports == null ? List.of() : List.copyOf(ports);
  }

  /** A network that needs no set-up ({@code host}, {@code none}). */
  public static NetworkSettings of(String mode) {
    return new NetworkSettings(mode, "", 0, "", "", "", "", List.of());
  }
}
