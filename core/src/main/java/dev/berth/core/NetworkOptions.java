package dev.berth.core;

import java.util.List;

/**
 * The network flags of a create as the user gave them (checked and resolved into a {@link
 * NetworkSpec} against the image): {@code --network}, {@code -p}, {@code -P}, {@code --dns}, {@code
 * --dns-search}, {@code --add-host}.
 */
public record NetworkOptions(
    String mode,
    List<String> publish,
    boolean publishAll,
    List<String> dns,
    List<String> dnsSearch,
    List<String> addHosts) {
  public NetworkOptions {
    mode = mode == null ? "" : mode;
    publish = publish == null ? List.of() : List.copyOf(publish);
    dns = dns == null ? List.of() : List.copyOf(dns);
    dnsSearch = dnsSearch == null ? List.of() : List.copyOf(dnsSearch);
    addHosts = addHosts == null ? List.of() : List.copyOf(addHosts);
  }

  /** No flag given: the default network. */
  public static NetworkOptions defaults() {
    return new NetworkOptions("", List.of(), false, List.of(), List.of(), List.of());
  }
}
