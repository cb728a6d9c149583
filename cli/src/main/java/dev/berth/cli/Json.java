package dev.berth.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import dev.berth.api.v1.Container;
import dev.berth.api.v1.Event;
import dev.berth.api.v1.Exec;
import dev.berth.api.v1.Image;
import dev.berth.api.v1.NetworkSettings;
import dev.berth.api.v1.PortBinding;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The machine-readable output. Written with jackson's streaming generator rather than databind: it
 * loads a fraction of the classes, and the key names and order are a public contract that should be
 * spelled out here, not derived from protobuf field names.
 */
final class Json {
  private Json() {}

  private static final JsonFactory FACTORY = new JsonFactory();

  /** One compact object per line (`ps --format json`, like docker's `--format json`). */
  static String containerLine(Container c) {
    return compact(fields(c, false));
  }

  /** A value of maps, lists and plain values, pretty as docker prints (`inspect`). */
  static String pretty(Object value) {
    return write(true, g -> value(g, value));
  }

  static String imageLine(Image i) {
    return write(
        false,
        g -> {
          g.writeStartObject();
          g.writeStringField("id", i.getId());
          g.writeArrayFieldStart("names");
          for (String n : i.getNamesList()) g.writeString(n);
          g.writeEndArray();
          g.writeNumberField("size", i.getSize());
          g.writeStringField("createdAt", Views.time(i.getCreatedAt()));
          g.writeStringField("manifestDigest", i.getManifestDigest());
          g.writeArrayFieldStart("repoDigests");
          for (String d : i.getRepoDigestsList()) g.writeString(d);
          g.writeEndArray();
          g.writeEndObject();
        });
  }

  /** Berth's fields of a container, in print order (ps json: the short set; inspect: all). */
  static Map<String, Object> fields(Container c, boolean full) {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("id", c.getId());
    m.put("name", c.getName());
    m.put("image", c.getImage());
    m.put("imageId", c.getImageId());
    m.put("state", Views.state(c.getState()));
    m.put("pid", c.getPid());
    m.put("exitCode", Views.exitCode(c));
    m.put("createdAt", Views.time(c.getCreatedAt()));
    m.put("startedAt", Views.time(c.getStartedAt()));
    m.put("finishedAt", Views.time(c.getFinishedAt()));
    m.put("command", List.copyOf(c.getCommandList()));
    m.put("autoRemove", c.getAutoRemove());
    m.put("restartCount", c.getRestartCount());
    m.put("restartPolicy", Views.restartPolicy(c.getRestartPolicy()));
    if (full) {
      m.put("bundle", c.getBundle());
      m.put("shimPid", c.getShimPid());
      m.put("shimGroup", c.getShimGroup());
      m.put("shimAddress", c.getShimAddress());
      // Protobuf maps have no order; sorted keys make the output diffable.
      m.put("labels", new TreeMap<>(c.getLabelsMap()));
      m.put("error", c.getError());
      m.put("seccomp", c.getSeccomp());
      if (c.hasNetworkSettings()) m.put("networkSettings", networkSettings(c.getNetworkSettings()));
    }
    return m;
  }

  /** A value of maps, lists, strings, numbers, booleans and nulls, compact on one line. */
  static String compact(Object value) {
    return write(false, g -> value(g, value));
  }

  private static void value(JsonGenerator g, Object v) throws IOException {
    if (v == null) {
      g.writeNull();
    } else if (v instanceof Map<?, ?> m) {
      g.writeStartObject();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (e.getValue() instanceof java.util.function.Function<?, ?>) continue; // template-only
        g.writeFieldName(String.valueOf(e.getKey()));
        value(g, e.getValue());
      }
      g.writeEndObject();
    } else if (v instanceof java.util.Collection<?> c) {
      g.writeStartArray();
      for (Object o : c) value(g, o);
      g.writeEndArray();
    } else if (v instanceof Boolean b) {
      g.writeBoolean(b);
    } else if (v instanceof Integer i) {
      g.writeNumber(i);
    } else if (v instanceof Long l) {
      g.writeNumber(l);
    } else if (v instanceof Number n) {
      g.writeNumber(n.doubleValue());
    } else {
      g.writeString(String.valueOf(v));
    }
  }

  private static Map<String, Object> networkSettings(NetworkSettings n) {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("mode", n.getMode());
    m.put("ipAddress", n.getIpAddress());
    m.put("ipPrefixLength", n.getIpPrefixLength());
    m.put("gateway", n.getGateway());
    m.put("macAddress", n.getMacAddress());
    m.put("bridge", n.getBridge());
    m.put("sandboxKey", n.getSandboxKey());
    List<Map<String, Object>> ports = new java.util.ArrayList<>();
    for (PortBinding p : n.getPortsList()) {
      Map<String, Object> port = new java.util.LinkedHashMap<>();
      port.put("containerPort", p.getContainerPort());
      port.put("protocol", p.getProtocol());
      port.put("hostIp", p.getHostIp());
      port.put("hostPort", p.getHostPort());
      ports.add(port);
    }
    m.put("ports", ports);
    return m;
  }

  /**
   * `events --format json`: exitCode only on exits, pid only on starts, like the proto's optional
   * fields.
   */
  static String eventLine(Event e) {
    return write(
        false,
        g -> {
          g.writeStartObject();
          g.writeNumberField("seq", e.getSeq());
          g.writeStringField("time", Views.time(e.getTime()));
          g.writeStringField("type", Views.eventType(e.getType()));
          g.writeStringField("container", e.getContainerId());
          if (e.hasExitCode()) g.writeNumberField("exitCode", e.getExitCode());
          if (e.getPid() != 0) g.writeNumberField("pid", e.getPid());
          if (!e.getDetail().isEmpty()) g.writeStringField("detail", e.getDetail());
          g.writeEndObject();
        });
  }

  /** `exec-ls --format json`: one compact object per line. */
  static String execLine(Exec e) {
    return write(false, g -> exec(g, e));
  }

  /** `exec-inspect`: a pretty array. */
  static String execsPretty(List<Exec> execs) {
    return write(
        true,
        g -> {
          g.writeStartArray();
          for (Exec e : execs) exec(g, e);
          g.writeEndArray();
        });
  }

  private static void exec(JsonGenerator g, Exec e) throws IOException {
    g.writeStartObject();
    g.writeStringField("id", e.getId());
    g.writeStringField("containerId", e.getContainerId());
    g.writeStringField("state", ExecCommands.state(e.getState()));
    g.writeNumberField("pid", e.getPid());
    g.writeNumberField("exitCode", e.hasExitCode() ? e.getExitCode() : -1);
    g.writeArrayFieldStart("args");
    for (String arg : e.getArgsList()) g.writeString(arg);
    g.writeEndArray();
    g.writeBooleanField("tty", e.getTty());
    g.writeBooleanField("attachStdin", e.getAttachStdin());
    g.writeStringField("startedAt", Views.time(e.getStartedAt()));
    g.writeStringField("finishedAt", Views.time(e.getFinishedAt()));
    g.writeEndObject();
  }

  private interface Body {
    void write(JsonGenerator g) throws IOException;
  }

  private static String write(boolean pretty, Body body) {
    StringWriter sw = new StringWriter();
    try (JsonGenerator g = FACTORY.createGenerator(sw)) {
      if (pretty) g.setPrettyPrinter(prettyPrinter());
      body.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringWriter does not fail
    }
    return sw.toString();
  }

  /** Go's json.MarshalIndent look (what docker inspect prints): `"key": value`, `[]`, `{}`. */
  private static DefaultPrettyPrinter prettyPrinter() {
    DefaultPrettyPrinter pp =
        new DefaultPrettyPrinter(
            Separators.createDefaultInstance()
                .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                .withObjectEmptySeparator("")
                .withArrayEmptySeparator(""));
    DefaultIndenter indenter = new DefaultIndenter("    ", "\n");
    pp.indentArraysWith(indenter);
    pp.indentObjectsWith(indenter);
    return pp;
  }
}
