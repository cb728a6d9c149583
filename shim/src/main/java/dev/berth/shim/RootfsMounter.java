package dev.berth.shim;

import dev.berth.api.shim.v1.Mount;
import dev.berth.runtime.nativ.NativeException;
import dev.berth.runtime.nativ.Posix;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Mounts the container's rootfs mounts on BUNDLE/rootfs, in order (like containerd's mount.All),
 * and takes them down again with lazy (MNT_DETACH) unmounts.
 */
final class RootfsMounter {
  /** Options that are mount(2) flags; everything else goes into the data string. */
  private static final Map<String, Long> SET_FLAGS =
      Map.of(
          "ro",
          Posix.MS_RDONLY,
          "nosuid",
          Posix.MS_NOSUID,
          "nodev",
          Posix.MS_NODEV,
          "noexec",
          Posix.MS_NOEXEC,
          "bind",
          Posix.MS_BIND,
          "rbind",
          Posix.MS_BIND | Posix.MS_REC);

  private static final List<String> NO_FLAGS = List.of("rw", "suid", "dev", "exec", "defaults");
  private static final int MAX_STACKED = 16;

  private RootfsMounter() {}

  /** Mounts all, or none: on failure the ones already mounted are detached again. */
  static void mountAll(List<Mount> mounts, Path target) {
    int done = 0;
    try {
      for (Mount m : mounts) {
        mountOne(m, target);
        done++;
      }
    } catch (RuntimeException e) {
      for (int i = 0; i < done; i++) {
        Posix.umount2(target.toString(), Posix.MNT_DETACH);
      }
      throw e;
    }
  }

  private static void mountOne(Mount m, Path target) {
    long flags = 0;
    StringBuilder data = new StringBuilder();
    for (String option : m.getOptionsList()) {
      Long flag = SET_FLAGS.get(option);
      if (flag != null) {
        flags |= flag;
      } else if (!NO_FLAGS.contains(option)) {
        if (data.length() > 0) {
          data.append(',');
        }
        data.append(option);
      }
    }
    String type = m.getType();
    if (type.equals("bind") || type.equals("rbind")) {
      flags |= Posix.MS_BIND | (type.equals("rbind") ? Posix.MS_REC : 0);
    }
    boolean bind = (flags & Posix.MS_BIND) != 0;
    String source = m.getSource().isEmpty() ? type : m.getSource();
    String dataText = data.length() == 0 ? null : data.toString();
    // A bind mount ignores MS_RDONLY on the first call; read-only takes a remount.
    Posix.mount(
        source,
        target.toString(),
        bind ? null : type,
        bind ? flags & ~Posix.MS_RDONLY : flags,
        bind ? null : dataText);
    if (bind && (flags & Posix.MS_RDONLY) != 0) {
      try {
        Posix.mount(
            null,
            target.toString(),
            null,
            Posix.MS_REMOUNT | Posix.MS_BIND | Posix.MS_RDONLY,
            null);
      } catch (NativeException e) {
        Posix.umount2(target.toString(), Posix.MNT_DETACH);
        throw e;
      }
    }
  }

  /** Detaches every mount stacked on target; returns how many there were. */
  static int unmountAll(Path target) {
    int n = 0;
    while (n < MAX_STACKED && Posix.umount2(target.toString(), Posix.MNT_DETACH)) {
      n++;
    }
    return n;
  }
}
