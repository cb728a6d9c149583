package dev.berth.network;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** An IPv4 network in CIDR form ({@code 10.88.0.0/16}), host bits cleared. */
public record Subnet(int base, int prefix) {
  private static final Pattern CIDR =
      Pattern.compile("([0-9]{1,3})\\.([0-9]{1,3})\\.([0-9]{1,3})\\.([0-9]{1,3})/([0-9]{1,2})");

  public Subnet {
    if (prefix < 0 || prefix > 32) throw new IllegalArgumentException("prefix " + prefix);
    base = base & mask(prefix);
  }

  /** {@code A.B.C.D/N}; an IllegalArgumentException with a one-line reason otherwise. */
  public static Subnet parse(String cidr) {
    Matcher m = CIDR.matcher(cidr == null ? "" : cidr.strip());
    if (!m.matches())
      throw new IllegalArgumentException(
          "invalid subnet \"" + cidr + "\": expected an IPv4 CIDR such as 10.88.0.0/16");
    int addr = 0;
    for (int i = 1; i <= 4; i++) {
      int octet = Integer.parseInt(m.group(i));
      if (octet > 255) throw new IllegalArgumentException("invalid subnet \"" + cidr + "\"");
      addr = (addr << 8) | octet;
    }
    int prefix = Integer.parseInt(m.group(5));
    if (prefix > 30 || prefix < 8)
      throw new IllegalArgumentException(
          "invalid subnet \"" + cidr + "\": the prefix must be from /8 to /30");
    return new Subnet(addr, prefix);
  }

  static int mask(int prefix) {
    return prefix == 0 ? 0 : (int) (0xffffffffL << (32 - prefix));
  }

  public boolean overlaps(Subnet other) {
    int shorter = Math.min(prefix, other.prefix);
    return (base & mask(shorter)) == (other.base & mask(shorter));
  }

  /** The first host address: the bridge's own (the gateway). */
  public String gateway() {
    return text(base + 1);
  }

  static String text(int a) {
    return ((a >>> 24) & 255)
        + "."
        + ((a >>> 16) & 255)
        + "."
        + ((a >>> 8) & 255)
        + "."
        + (a & 255);
  }

  @Override
  public String toString() {
    return text(base) + "/" + prefix;
  }
}
