package dev.berth.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.core.BerthException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs CNI plugins as the CNI 1.0 spec says: the plugin binary named by a config's {@code type},
 * found on {@code CNI_PATH}, with {@code CNI_COMMAND}, {@code CNI_CONTAINERID}, {@code CNI_NETNS},
 * {@code CNI_IFNAME} and {@code CNI_PATH} in its environment and the network config on stdin. A
 * plugin that has not exited after the timeout is killed with whatever it started; its output is
 * read up to a bound (a plugin gone wrong cannot fill the daemon's heap); a failure is one line
 * (the plugin's error JSON {@code msg} and {@code details}, or its exit and stderr).
 */
public final class CniPlugins {
  static final ObjectMapper JSON = new ObjectMapper();

  /** More than any plugin result holds; what is beyond it is discarded. */
  static final int OUTPUT_LIMIT = 1 << 20;

  private final List<Path> cniPath;
  private final Duration timeout;

  public CniPlugins(List<Path> cniPath, Duration timeout) {
    this.cniPath = List.copyOf(cniPath);
    this.timeout = timeout;
  }

  /** The directories searched for plugins (CNI_PATH). */
  public List<Path> path() {
    return cniPath;
  }

  /** The plugin binary for {@code type}; a one-line error when it is not installed. */
  Path find(String type) {
    if (type == null || type.isEmpty() || type.contains("/") || type.contains(".."))
      throw BerthException.invalid("invalid CNI plugin type " + BerthException.quote(type));
    for (Path dir : cniPath) {
      Path p = dir.resolve(type);
      if (Files.isExecutable(p)) return p;
    }
    throw BerthException.precondition(
        "CNI plugin "
            + type
            + " not found in "
            + joined()
            + " (install containernetworking-plugins)");
  }

  private String joined() {
    List<String> s = new ArrayList<>();
    cniPath.forEach(p -> s.add(p.toString()));
    return String.join(":", s);
  }

  /**
   * Runs one plugin.
   *
   * @return the plugin's result (ADD), or null when it printed nothing (DEL, CHECK)
   */
  public JsonNode invoke(
      String command, String containerId, String netns, String ifname, ObjectNode config) {
    String type = config.path("type").asText("");
    Path binary = find(type);
    String what = "CNI plugin " + type + " " + command;
    ProcessBuilder pb = new ProcessBuilder(binary.toString());
    Map<String, String> env = pb.environment();
    env.put("CNI_COMMAND", command);
    env.put("CNI_CONTAINERID", containerId);
    env.put("CNI_NETNS", netns);
    env.put("CNI_IFNAME", ifname);
    env.put("CNI_PATH", joined());
    // portmap and firewall run iptables: it must be found whatever PATH berthd got
    String path = env.getOrDefault("PATH", "");
    env.put("PATH", (path.isEmpty() ? "" : path + ":") + "/usr/sbin:/usr/bin:/sbin:/bin");
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw BerthException.internal(what + ": cannot run " + binary + ": " + e.getMessage());
    }
    CompletableFuture<byte[]> out = drain(p.getInputStream(), "cni-stdout");
    CompletableFuture<byte[]> err = drain(p.getErrorStream(), "cni-stderr");
    try (OutputStream in = p.getOutputStream()) {
      in.write(JSON.writeValueAsBytes(config));
    } catch (IOException e) {
      // the plugin exited without reading its config: its exit says why
    }
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
        throw BerthException.internal(
            what + " timed out after " + timeout.toSeconds() + "s (killed)");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw BerthException.internal(what + " interrupted");
    }
    byte[] stdout = output(out);
    byte[] stderr = output(err);
    if (p.exitValue() != 0)
      throw BerthException.internal(what + " failed: " + reason(p, stdout, stderr));
    if (stdout.length == 0 || new String(stdout, StandardCharsets.UTF_8).isBlank()) return null;
    try {
      return JSON.readTree(stdout);
    } catch (IOException e) {
      throw BerthException.internal(what + " printed a result that is not JSON");
    }
  }

  /** The plugin's error JSON ({@code {"code":N,"msg":"...","details":"..."}}) as one line. */
  static String reason(Process p, byte[] stdout, byte[] stderr) {
    try {
      JsonNode e = JSON.readTree(stdout);
      if (e != null && e.hasNonNull("msg")) {
        String msg = e.get("msg").asText();
        String details = e.path("details").asText("");
        return BerthException.oneLine(details.isEmpty() ? msg : msg + ": " + details);
      }
    } catch (IOException notJson) {
      // below: the exit code and stderr
    }
    String text = new String(stderr, StandardCharsets.UTF_8).strip();
    if (text.isEmpty()) text = new String(stdout, StandardCharsets.UTF_8).strip();
    return "exit " + p.exitValue() + (text.isEmpty() ? "" : ": " + BerthException.oneLine(text));
  }

  private static byte[] output(CompletableFuture<byte[]> f) {
    try {
      return f.get(2, TimeUnit.SECONDS);
    } catch (Exception e) {
      // something the plugin started still holds the pipe open
      return new byte[0];
    }
  }

  /** Reads a stream to its end on a thread of its own, keeping at most OUTPUT_LIMIT bytes. */
  static CompletableFuture<byte[]> drain(InputStream in, String name) {
    CompletableFuture<byte[]> f = new CompletableFuture<>();
    Thread t =
        new Thread(
            () -> {
              try (in) {
                byte[] kept = in.readNBytes(OUTPUT_LIMIT);
                byte[] skip = new byte[8192];
                while (in.read(skip) >= 0) {
                  // discarded: beyond the bound
                }
                f.complete(kept);
              } catch (IOException e) {
                f.complete(new byte[0]);
              }
            },
            name);
    t.setDaemon(true);
    t.start();
    return f;
  }
}
