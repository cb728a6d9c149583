package dev.berth.network;

import dev.berth.core.BerthException;
import dev.berth.core.NetworkOptions;
import dev.berth.core.NetworkSpec;
import dev.berth.core.PortMapping;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** A create's network flags, checked and resolved against the image into a {@link NetworkSpec}. */
public final class NetworkSpecs {
  private static final Pattern IPV4 =
      Pattern.compile(
          "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");
  private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:.]{2,45}");
  private static final Pattern HOST_NAME =
      Pattern.compile(
          "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
  private static final Pattern NETWORK_NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}");

  private NetworkSpecs() {}

  /**
   * @param exposed the image's EXPOSEd ports ({@code 80/tcp}), published on free host ports by -P
   */
  public static NetworkSpec resolve(NetworkOptions o, List<String> exposed) {
    String mode = o.mode().isEmpty() ? NetworkSpec.BRIDGE : o.mode();
    switch (mode) {
      case NetworkSpec.BRIDGE, NetworkSpec.HOST, NetworkSpec.NONE -> {}
      default -> {
        if (mode.startsWith("container:"))
          throw BerthException.unsupported(
              "--network container:ID is not supported yet: use bridge, host or none");
        if (!NETWORK_NAME.matcher(mode).matches() || mode.contains(".."))
          throw BerthException.invalidField(
              "network", "invalid network name " + BerthException.quote(mode));
        throw BerthException.invalidField(
            "network",
            "network " + BerthException.quote(mode) + " not found (networks: bridge, host, none)");
      }
    }
    List<PortMapping> ports = new ArrayList<>(PortSpecs.parseAll(o.publish()));
    if (o.publishAll()) {
      for (String e : exposed) {
        PortMapping p;
        try {
          p = PortSpecs.parse(e);
        } catch (BerthException bad) {
          continue; // an image's EXPOSE that docker would not publish either (a range)
        }
        boolean mapped =
            ports.stream()
                .anyMatch(
                    m ->
                        m.containerPort() == p.containerPort()
                            && m.protocol().equals(p.protocol()));
        if (!mapped) ports.add(new PortMapping("", 0, p.containerPort(), p.protocol()));
      }
    }
    if (!ports.isEmpty() && !mode.equals(NetworkSpec.BRIDGE))
      throw BerthException.invalidField(
          "publish", "published ports need the bridge network, not --network " + mode);
    for (String d : o.dns())
      if (!isIp(d))
        throw BerthException.invalidField(
            "dns", "invalid --dns " + BerthException.quote(d) + ": expected an IP address");
    for (String s : o.dnsSearch())
      if (!HOST_NAME.matcher(s).matches() && !s.equals("."))
        throw BerthException.invalidField(
            "dns_search",
            "invalid --dns-search " + BerthException.quote(s) + ": not a domain name");
    List<String> hosts = new ArrayList<>();
    for (String h : o.addHosts()) {
      int colon = h.indexOf(':');
      String name = colon < 0 ? "" : h.substring(0, colon);
      String ip = colon < 0 ? "" : h.substring(colon + 1);
      if (!HOST_NAME.matcher(name).matches() || !isIp(ip))
        throw BerthException.invalidField(
            "add_host", "invalid --add-host " + BerthException.quote(h) + ": expected HOST:IP");
      hosts.add(name + ":" + ip);
    }
    return new NetworkSpec(mode, ports, o.dns(), o.dnsSearch(), hosts);
  }

  static boolean isIp(String s) {
    return IPV4.matcher(s).matches() || (s.contains(":") && IPV6.matcher(s).matches());
  }
}
