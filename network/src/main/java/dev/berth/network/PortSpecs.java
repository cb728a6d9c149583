package dev.berth.network;

import dev.berth.core.BerthException;
import dev.berth.core.PortMapping;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * docker's {@code -p} grammar: {@code CONTAINER}, {@code HOST:CONTAINER}, {@code IP:HOST:CONTAINER}
 * and {@code IP::CONTAINER}, each optionally followed by {@code /tcp} or {@code /udp}. An omitted
 * host port is 0: a free one is chosen when the container starts.
 */
public final class PortSpecs {
  private static final Pattern PORT = Pattern.compile("[0-9]{1,5}");
  private static final Pattern IPV4 =
      Pattern.compile(
          "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");

  private PortSpecs() {}

  /** One {@code -p} value; a malformed one is a one-line INVALID_ARGUMENT naming it. */
  public static PortMapping parse(String spec) {
    if (spec == null || spec.isBlank()) throw invalid(spec, "empty");
    String body = spec.strip();
    String protocol = "tcp";
    int slash = body.lastIndexOf('/');
    if (slash >= 0) {
      protocol = body.substring(slash + 1);
      body = body.substring(0, slash);
      if (!protocol.equals("tcp") && !protocol.equals("udp"))
        throw invalid(spec, "the protocol must be tcp or udp");
    }
    String[] parts = body.split(":", -1);
    String ip = "";
    String host = "";
    String container;
    switch (parts.length) {
      case 1 -> container = parts[0];
      case 2 -> {
        host = parts[0];
        container = parts[1];
      }
      case 3 -> {
        ip = parts[0];
        host = parts[1];
        container = parts[2];
      }
      default -> throw invalid(spec, "expected [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp]");
    }
    if (!ip.isEmpty() && !IPV4.matcher(ip).matches())
      throw invalid(spec, BerthException.quote(ip) + " is not an IPv4 address");
    int containerPort = port(spec, container, "container");
    int hostPort = host.isEmpty() ? 0 : port(spec, host, "host");
    return new PortMapping(ip.equals("0.0.0.0") ? "" : ip, hostPort, containerPort, protocol);
  }

  /** Every {@code -p} value, in order; a host port asked for twice is refused. */
  public static List<PortMapping> parseAll(List<String> specs) {
    List<PortMapping> out = new ArrayList<>();
    for (String s : specs) {
      PortMapping m = parse(s);
      for (PortMapping other : out) {
        if (m.hostPort() != 0 && clash(m, other))
          throw BerthException.invalid(
              "port " + m.hostSide() + "/" + m.protocol() + " is published twice");
      }
      out.add(m);
    }
    return out;
  }

  /** Two mappings that would need the same host port (same protocol, overlapping addresses). */
  public static boolean clash(PortMapping a, PortMapping b) {
    return a.hostPort() == b.hostPort()
        && a.protocol().equals(b.protocol())
        && (a.hostIp().isEmpty() || b.hostIp().isEmpty() || a.hostIp().equals(b.hostIp()));
  }

  private static int port(String spec, String text, String side) {
    if (!PORT.matcher(text).matches())
      throw invalid(spec, "the " + side + " port must be a number from 1 to 65535");
    int p = Integer.parseInt(text);
    if (p < 1 || p > 65535)
      throw invalid(spec, "the " + side + " port must be a number from 1 to 65535");
    return p;
  }

  private static BerthException invalid(String spec, String why) {
    return BerthException.invalidField(
        "publish", "invalid -p " + BerthException.quote(spec == null ? "" : spec) + ": " + why);
  }
}
