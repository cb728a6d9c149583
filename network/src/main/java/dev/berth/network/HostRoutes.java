package dev.berth.network;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The host's IPv4 routes ({@code /proc/net/route}) and the choice of a bridge subnet that collides
 * with none of them, as docker chooses its {@code docker0} range.
 */
public final class HostRoutes {
  /** A route: its interface and destination network. */
  public record Route(String iface, Subnet destination) {}

  /** The ranges tried in order: podman's default first, then docker's 172.17-31 and more. */
  static final List<Subnet> CANDIDATES = candidates();

  private HostRoutes() {}

  private static List<Subnet> candidates() {
    List<Subnet> out = new ArrayList<>();
    out.add(Subnet.parse("10.88.0.0/16"));
    for (int i = 17; i <= 31; i++) out.add(Subnet.parse("172." + i + ".0.0/16"));
    for (int i = 89; i <= 99; i++) out.add(Subnet.parse("10." + i + ".0.0/16"));
    for (int i = 0; i <= 255; i += 16) out.add(Subnet.parse("192.168." + i + ".0/20"));
    return List.copyOf(out);
  }

  /** The host's routes except default routes (which overlap everything). */
  public static List<Route> read() throws IOException {
    return parse(Files.readAllLines(Path.of("/proc/net/route")));
  }

  static List<Route> parse(List<String> lines) {
    List<Route> out = new ArrayList<>();
    for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
      String[] f = line.trim().split("\\s+");
      if (f.length < 8) continue;
      int dest = Integer.reverseBytes((int) Long.parseLong(f[1], 16));
      int mask = Integer.reverseBytes((int) Long.parseLong(f[7], 16));
      int prefix = Integer.bitCount(mask);
      if (prefix == 0) continue;
      out.add(new Route(f[0], new Subnet(dest, prefix)));
    }
    return out;
  }

  /** The first candidate that overlaps no route other than those through {@code ownBridge}. */
  public static Optional<Subnet> choose(List<Route> routes, String ownBridge) {
    for (Subnet c : CANDIDATES) {
      if (collision(routes, ownBridge, c).isEmpty()) return Optional.of(c);
    }
    return Optional.empty();
  }

  /** A route (not through {@code ownBridge}) that {@code subnet} overlaps. */
  public static Optional<Route> collision(List<Route> routes, String ownBridge, Subnet subnet) {
    return routes.stream()
        .filter(r -> !r.iface().equals(ownBridge) && r.destination().overlaps(subnet))
        .findFirst();
  }
}
