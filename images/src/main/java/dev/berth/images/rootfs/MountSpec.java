package dev.berth.images.rootfs;

import java.util.List;

/** A mount as mount(2) takes it: filesystem type, source and the comma-joined data options. */
public record MountSpec(String type, String source, List<String> options) {
  public MountSpec {
    options = List.copyOf(options);
  }
}
