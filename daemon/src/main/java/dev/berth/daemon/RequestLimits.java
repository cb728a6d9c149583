package dev.berth.daemon;

import dev.berth.api.v1.CreateContainerRequest;
import dev.berth.core.BerthException;
import dev.berth.task.ContainerSpecs;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * berth.v1's documented limits (containers.proto, images.proto), checked before a request reaches
 * the domain. A violation is one INVALID_ARGUMENT line naming the field (its proto path, which the
 * error's BadRequest detail carries too) and never quotes more than a short piece of the input.
 */
final class RequestLimits {
  static final int REF = 256;
  static final int NAME = 128;
  static final int IMAGE = 512;
  static final int HOSTNAME = 253;
  static final int LABELS = 256;
  static final int LABEL_KEY = 256;
  static final int LABEL_VALUE = 4096;
  static final int LABELS_TOTAL = 64 * 1024;
  static final int ENV = 1024;
  static final int ENV_ENTRY = 32 * 1024;
  static final int ENV_TOTAL = 256 * 1024;
  static final int ARGS = 1024;
  static final int ARGS_TOTAL = 256 * 1024;
  static final int PATH = 4096;
  static final int USER = 256;
  static final int SECURITY_OPTS = 16;
  static final int SECURITY_OPTS_TOTAL = 1024 * 1024;
  static final int SIGNAL = 32;
  static final int FILTER_ENTRIES = 64;
  static final int PLATFORM = 64;
  static final int SERVER = 256;
  static final int USERNAME = 256;
  static final int PASSWORD = 4096;

  /** RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens. */
  private static final Pattern HOST_LABEL =
      Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?");

  private RequestLimits() {}

  static void create(CreateContainerRequest r) {
    required("image", r.getImage(), IMAGE);
    text("name", r.getName(), NAME);
    hostname("hostname", r.getHostname());
    labels("labels", r.getLabelsMap());
    var p = r.getProcess();
    strings("process.env", p.getEnvList(), ENV, ENV_ENTRY, ENV_TOTAL);
    int argCount = p.getEntrypointCount() + p.getCmdCount();
    if (argCount > ARGS) {
      throw BerthException.invalidField(
          "process.cmd", "too many command arguments (" + argCount + ", at most " + ARGS + ")");
    }
    strings("process.entrypoint", p.getEntrypointList(), ARGS, ARGS_TOTAL, ARGS_TOTAL);
    strings("process.cmd", p.getCmdList(), ARGS, ARGS_TOTAL, ARGS_TOTAL);
    if (bytes(p.getEntrypointList()) + bytes(p.getCmdList()) > ARGS_TOTAL) {
      throw BerthException.invalidField(
          "process.cmd", "the command is too long (at most " + ARGS_TOTAL + " bytes in all)");
    }
    text("process.working_dir", p.getWorkingDir(), PATH);
    text("process.user", p.getUser(), USER);
    strings(
        "security_opts",
        r.getSecurityOptsList(),
        SECURITY_OPTS,
        SECURITY_OPTS_TOTAL,
        SECURITY_OPTS_TOTAL);
    requestId("request_id", r.getRequestId());
    text("network", r.getNetwork(), NAME);
    strings("publish", r.getPublishList(), PORTS, 64, PORTS * 64);
    strings("dns", r.getDnsList(), DNS, 64, DNS * 64);
    strings("dns_search", r.getDnsSearchList(), DNS, 256, DNS * 256);
    strings("add_host", r.getAddHostList(), HOSTS, 320, HOSTS * 320);
    if (!r.getShimGroup().isEmpty()) {
      String bad = dev.berth.task.ContainerSpecs.checkShimGroup(r.getShimGroup());
      if (bad != null) throw BerthException.invalidField("shim_group", bad);
    }
  }

  /** At most this many published ports, nameservers/search domains and extra hosts. */
  static final int PORTS = 256;

  static final int DNS = 16;
  static final int HOSTS = 256;

  /** The largest `logs --tail`: more lines than this are read as "all" would be. */
  static final int LOG_TAIL = 1_000_000;

  static int logTail(int tail) {
    if (tail < 0 || tail > LOG_TAIL) {
      throw BerthException.invalidField(
          "tail", "tail must be between 0 and " + LOG_TAIL + " (got " + tail + ")");
    }
    return tail;
  }

  /** A container or image reference: present and short. */
  static String ref(String field, String value) {
    return required(field, value, REF);
  }

  static String required(String field, String value, int limit) {
    if (value.isEmpty()) throw BerthException.invalidField(field, field + " is empty");
    return text(field, value, limit);
  }

  /** Optional text: at most {@code limit} bytes, no NUL. */
  static String text(String field, String value, int limit) {
    int n = utf8(value);
    if (n > limit) {
      throw BerthException.invalidField(
          field, field + " is too long (" + n + " bytes, at most " + limit + ")");
    }
    if (value.indexOf('\0') >= 0) {
      throw BerthException.invalidField(field, field + " contains a NUL character");
    }
    return value;
  }

  /** An absolute path on the daemon's side. */
  static String absolutePath(String field, String value) {
    required(field, value, PATH);
    if (!value.startsWith("/")) {
      throw BerthException.invalidField(
          field,
          field + " must be an absolute path on the daemon's side: " + BerthException.quote(value));
    }
    return value;
  }

  static void strings(String field, List<String> values, int count, int entry, int total) {
    if (values.size() > count) {
      throw BerthException.invalidField(
          field, "too many " + field + " entries (" + values.size() + ", at most " + count + ")");
    }
    long sum = 0;
    for (String v : values) {
      text(field, v, entry);
      sum += utf8(v);
    }
    if (sum > total) {
      throw BerthException.invalidField(
          field, field + " is too large (" + sum + " bytes, at most " + total + ")");
    }
  }

  static void labels(String field, Map<String, String> labels) {
    if (labels.size() > LABELS) {
      throw BerthException.invalidField(
          field, "too many labels (" + labels.size() + ", at most " + LABELS + ")");
    }
    long sum = 0;
    for (var e : labels.entrySet()) {
      if (e.getKey().isEmpty()) throw BerthException.invalidField(field, "a label key is empty");
      text(field, e.getKey(), LABEL_KEY);
      text(field, e.getValue(), LABEL_VALUE);
      sum += utf8(e.getKey()) + utf8(e.getValue());
    }
    if (sum > LABELS_TOTAL) {
      throw BerthException.invalidField(
          field, "labels are too large (" + sum + " bytes, at most " + LABELS_TOTAL + ")");
    }
  }

  static void hostname(String field, String value) {
    if (value.isEmpty()) return;
    text(field, value, HOSTNAME);
    for (String label : value.split("\\.", -1)) {
      if (!HOST_LABEL.matcher(label).matches()) {
        throw BerthException.invalidField(
            field,
            "invalid hostname "
                + BerthException.quote(value)
                + ": labels of letters, digits and inner hyphens, 1 to 63 characters, separated by dots");
      }
    }
  }

  /** The domain's rule ({@link ContainerSpecs#checkRequestId}), reported for {@code field}. */
  static void requestId(String field, String value) {
    String bad = ContainerSpecs.checkRequestId(value);
    if (bad != null) throw BerthException.invalidField(field, bad);
  }

  static void signal(String field, String value) {
    text(field, value, SIGNAL);
  }

  static void entries(String field, int count) {
    if (count > FILTER_ENTRIES) {
      throw BerthException.invalidField(
          field, "too many " + field + " entries (" + count + ", at most " + FILTER_ENTRIES + ")");
    }
  }

  private static long bytes(List<String> values) {
    long n = 0;
    for (String v : values) n += utf8(v);
    return n;
  }

  /** UTF-8 length without encoding. */
  static int utf8(String s) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) n++;
      else if (c < 0x800) n += 2;
      else if (Character.isHighSurrogate(c)) {
        n += 4;
        i++;
      } else n += 3;
    }
    return n;
  }
}
