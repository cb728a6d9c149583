package dev.berth.oci;

import dev.berth.images.ImageException;
import dev.berth.images.rootfs.Whiteouts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Resolves a docker "user" string against the image's /etc/passwd and /etc/group, with runc's
 * (libcontainer user.GetExecUser) semantics: "" means uid 0; a known user brings its primary group
 * and, when no group is given, its supplementary groups from /etc/group; a numeric uid need not
 * exist.
 */
public final class Users {
  private static final long MAX_FILE = 4L << 20;

  private Users() {}

  /**
   * @param user "", "0", "1000:1000", "nobody", "nobody:nogroup", "1000:nogroup"...
   * @return {uid, gid, supplementary gids...}
   * @throws ImageException "unable to find user X: no matching entries in passwd file" and the like
   */
  public static int[] resolve(List<Path> layerDirsLowestFirst, String user) throws ImageException {
    String spec = user == null ? "" : user.strip();
    String userArg = spec;
    String groupArg = null;
    int colon = spec.indexOf(':');
    if (colon >= 0) {
      userArg = spec.substring(0, colon);
      groupArg = spec.substring(colon + 1);
      if (groupArg.isEmpty()) groupArg = null;
    }
    List<String[]> passwd = read(layerDirsLowestFirst, "passwd", 4);
    int uid = 0;
    int gid = 0;
    String matchedName = null;
    Integer numericUser = userArg.isEmpty() ? Integer.valueOf(0) : number(userArg);
    if (numericUser != null) {
      uid = numericUser;
      for (String[] p : passwd) {
        Integer pu = number(p[2]);
        if (pu != null && pu == uid) {
          matchedName = p[0];
          gid = orDefault(number(p[3]), 0);
          break;
        }
      }
    } else {
      for (String[] p : passwd) {
        if (p[0].equals(userArg)) {
          Integer pu = number(p[2]);
          if (pu == null)
            throw new ImageException(
                "invalid uid for user " + userArg + " in passwd file: " + p[2]);
          uid = pu;
          gid = orDefault(number(p[3]), 0);
          matchedName = userArg;
          break;
        }
      }
      if (matchedName == null) {
        throw new ImageException(
            "unable to find user " + userArg + ": no matching entries in passwd file");
      }
    }
    Set<Integer> extra = new LinkedHashSet<>();
    if (groupArg != null) {
      Integer g = number(groupArg);
      if (g != null) {
        gid = g;
      } else {
        Integer found = null;
        for (String[] grp : read(layerDirsLowestFirst, "group", 3)) {
          if (grp[0].equals(groupArg)) {
            found = number(grp[2]);
            if (found != null) break;
          }
        }
        if (found == null)
          throw new ImageException(
              "unable to find group " + groupArg + ": no matching entries in group file");
        gid = found;
      }
    } else if (matchedName != null) {
      // the implicit form: the user's memberships from /etc/group become supplementary groups
      for (String[] grp : read(layerDirsLowestFirst, "group", 3)) {
        if (grp.length < 4 || grp[3].isEmpty()) continue;
        for (String member : grp[3].split(",")) {
          if (member.strip().equals(matchedName)) {
            Integer g = number(grp[2]);
            if (g != null && g != gid) extra.add(g);
          }
        }
      }
    }
    int[] out = new int[2 + extra.size()];
    out[0] = uid;
    out[1] = gid;
    int i = 2;
    for (int g : extra) out[i++] = g;
    return out;
  }

  private static Integer number(String s) {
    if (s == null || s.isEmpty() || s.length() > 10 || !s.chars().allMatch(Character::isDigit))
      return null;
    long v = Long.parseLong(s);
    return v > Integer.MAX_VALUE ? null : (int) v;
  }

  private static int orDefault(Integer v, int d) {
    return v == null ? d : v;
  }

  /**
   * The colon-separated records of etc/NAME as the merged rootfs would show it; empty when absent.
   */
  private static List<String[]> read(List<Path> layers, String name, int minFields)
      throws ImageException {
    Optional<Path> file = find(layers, name);
    List<String[]> out = new ArrayList<>();
    if (file.isEmpty()) return out;
    try {
      if (Files.size(file.get()) > MAX_FILE)
        throw new ImageException("/etc/" + name + " of the image is too large");
      for (String line :
          new String(Files.readAllBytes(file.get()), StandardCharsets.UTF_8).split("\n")) {
        if (line.isBlank() || line.startsWith("#")) continue;
        String[] f = line.split(":", -1);
        if (f.length >= minFields) out.add(f);
      }
    } catch (IOException e) {
      throw new ImageException("cannot read /etc/" + name + " of the image: " + e.getMessage(), e);
    }
    return out;
  }

  /**
   * Finds etc/NAME in the topmost layer that decides it, honouring whiteouts and opaque dirs.
   * Symlinks (of etc or the file) are not followed: on the host they would resolve outside the
   * image.
   */
  private static Optional<Path> find(List<Path> layers, String name) throws ImageException {
    for (int i = layers.size() - 1; i >= 0; i--) {
      Path etc = layers.get(i).resolve("etc");
      BasicFileAttributes ea = attrs(etc);
      if (ea == null) continue;
      if (!ea.isDirectory())
        return Optional.empty(); // a whiteout, a file or a symlink hides lower /etc
      Path f = etc.resolve(name);
      BasicFileAttributes fa = attrs(f);
      if (fa != null) return fa.isRegularFile() ? Optional.of(f) : Optional.empty();
      try {
        if (Whiteouts.isOpaque(etc)) return Optional.empty();
      } catch (IOException e) {
        throw new ImageException("cannot inspect /etc of the image: " + e.getMessage(), e);
      }
    }
    return Optional.empty();
  }

  private static BasicFileAttributes attrs(Path p) {
    try {
      return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      return null;
    }
  }
}
