package dev.berth.network;

import dev.berth.core.NetworkSpec;
import dev.berth.runtime.files.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * The container's {@code /etc/hosts}, {@code /etc/hostname} and {@code /etc/resolv.conf}, written
 * beside its bundle and bind-mounted over the image's, docker's way: hosts names localhost, the
 * container's address with its hostname and name, and {@code --add-host} entries; resolv.conf is
 * the host's with loopback nameservers left out (they mean nothing in the container's network;
 * docker's public fallback when none remain), {@code --dns} and {@code --dns-search} replacing the
 * host's.
 */
public final class EtcFiles {
  public static final String HOSTS = "hosts";
  public static final String HOSTNAME = "hostname";
  public static final String RESOLV_CONF = "resolv.conf";
  static final List<String> FALLBACK_NAMESERVERS = List.of("8.8.8.8", "8.8.4.4");

  private EtcFiles() {}

  /** Writes the three files into {@code dir}; {@code ip} "" when the container has no address. */
  public static void write(
      Path dir, String hostname, String name, String ip, NetworkSpec spec, String hostResolvConf)
      throws IOException {
    // readable by the container's users; the 0700 bundle above keeps host users out
    AtomicFiles.write(dir.resolve(HOSTNAME), bytes(hostname + "\n"), READABLE);
    AtomicFiles.write(dir.resolve(HOSTS), bytes(hosts(hostname, name, ip, spec)), READABLE);
    AtomicFiles.write(dir.resolve(RESOLV_CONF), bytes(resolvConf(hostResolvConf, spec)), READABLE);
    for (String f : List.of(HOSTNAME, HOSTS, RESOLV_CONF)) // the daemon's umask took group/other
    Files.setPosixFilePermissions(dir.resolve(f), PosixFilePermissions.fromString(READABLE));
  }

  static final String READABLE = "rw-r--r--";

  private static byte[] bytes(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  /** The host's resolv.conf ("" when it has none). */
  public static String hostResolvConf() {
    try {
      return Files.readString(Path.of("/etc/resolv.conf"));
    } catch (IOException e) {
      return "";
    }
  }

  static String hosts(String hostname, String name, String ip, NetworkSpec spec) {
    StringBuilder b = new StringBuilder();
    b.append("127.0.0.1\tlocalhost\n");
    b.append("::1\tlocalhost ip6-localhost ip6-loopback\n");
    b.append(
        "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
    for (String h : spec.extraHosts()) {
      int colon = h.indexOf(':');
      b.append(h.substring(colon + 1)).append('\t').append(h, 0, colon).append('\n');
    }
    String names =
        name == null || name.isEmpty() || name.equals(hostname) ? hostname : hostname + " " + name;
    b.append(ip.isEmpty() ? "127.0.1.1" : ip).append('\t').append(names).append('\n');
    return b.toString();
  }

  static String resolvConf(String host, NetworkSpec spec) {
    List<String> nameservers = new ArrayList<>();
    List<String> search = new ArrayList<>();
    List<String> other = new ArrayList<>();
    for (String line : host.split("\n")) {
      String t = line.strip();
      if (t.startsWith("nameserver")) {
        String[] f = t.split("\\s+");
        if (f.length >= 2 && (spec.host() || !isLoopback(f[1]))) nameservers.add(f[1]);
      } else if (t.startsWith("search") || t.startsWith("domain")) {
        String[] f = t.split("\\s+");
        for (int i = 1; i < f.length; i++) search.add(f[i]);
      } else if (t.startsWith("options")) {
        other.add(t);
      }
    }
    if (!spec.dns().isEmpty()) nameservers = new ArrayList<>(spec.dns());
    if (!spec.dnsSearch().isEmpty()) search = new ArrayList<>(spec.dnsSearch());
    if (nameservers.isEmpty()) nameservers = new ArrayList<>(FALLBACK_NAMESERVERS);
    StringBuilder b = new StringBuilder();
    if (!search.isEmpty()) b.append("search ").append(String.join(" ", search)).append('\n');
    for (String ns : nameservers) b.append("nameserver ").append(ns).append('\n');
    for (String o : other) b.append(o).append('\n');
    return b.toString();
  }

  static boolean isLoopback(String address) {
    return address.startsWith("127.") || address.equals("::1");
  }
}
