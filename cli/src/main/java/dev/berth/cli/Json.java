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
    return write(false, g -> container(g, c, false));
  }

  /** `inspect`: a pretty array of the full objects. */
  static String containersPretty(List<Container> containers) {
    return write(
        true,
        g -> {
          g.writeStartArray();
          for (Container c : containers) container(g, c, true);
          g.writeEndArray();
        });
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

  private static void container(JsonGenerator g, Container c, boolean full) throws IOException {
    g.writeStartObject();
    g.writeStringField("id", c.getId());
    g.writeStringField("name", c.getName());
    g.writeStringField("image", c.getImage());
    g.writeStringField("imageId", c.getImageId());
    g.writeStringField("state", Views.state(c.getState()));
    g.writeNumberField("pid", c.getPid());
    g.writeNumberField("exitCode", Views.exitCode(c));
    g.writeStringField("createdAt", Views.time(c.getCreatedAt()));
    g.writeStringField("startedAt", Views.time(c.getStartedAt()));
    g.writeStringField("finishedAt", Views.time(c.getFinishedAt()));
    g.writeArrayFieldStart("command");
    for (String arg : c.getCommandList()) g.writeString(arg);
    g.writeEndArray();
    g.writeBooleanField("autoRemove", c.getAutoRemove());
    g.writeNumberField("restartCount", c.getRestartCount());
    g.writeStringField("restartPolicy", Views.restartPolicy(c.getRestartPolicy()));
    if (full) {
      g.writeStringField("bundle", c.getBundle());
      g.writeNumberField("shimPid", c.getShimPid());
      g.writeStringField("shimGroup", c.getShimGroup());
      g.writeStringField("shimAddress", c.getShimAddress());
      g.writeObjectFieldStart("labels");
      // Protobuf maps have no order; sorted keys make the output diffable.
      for (Map.Entry<String, String> e : new TreeMap<>(c.getLabelsMap()).entrySet()) {
        g.writeStringField(e.getKey(), e.getValue());
      }
      g.writeEndObject();
      g.writeStringField("error", c.getError());
      g.writeStringField("seccomp", c.getSeccomp());
    }
    g.writeEndObject();
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
