package dev.berth.core;

/**
 * One published port ({@code -p [IP:]HOST:CONTAINER[/PROTO]}): {@code hostPort} 0 means "a free
 * port, chosen at start"; {@code hostIp} "" means every host address.
 */
public record PortMapping(String hostIp, int hostPort, int containerPort, String protocol) {
  public PortMapping {
    hostIp = hostIp == null ? "" : hostIp;
    protocol = protocol == null || protocol.isEmpty() ? "tcp" : protocol;
  }

  /** docker's form: {@code 80/tcp}. */
  public String containerSide() {
    return containerPort + "/" + protocol;
  }

  /** docker's form: {@code 0.0.0.0:8080}. */
  public String hostSide() {
    return (hostIp.isEmpty() ? "0.0.0.0" : hostIp) + ":" + hostPort;
  }
}
