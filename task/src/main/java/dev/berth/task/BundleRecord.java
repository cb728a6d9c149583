package dev.berth.task;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.berth.core.ContainerSpec;
import dev.berth.core.RestartPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A copy of the container's spec beside its OCI bundle ({@code spec.json}), so the container can be
 * rebuilt when the journal is lost or damaged. The journal stays the record of intent and history;
 * this file only says what the container is. Bundles written before this file existed are read back
 * from their {@code config.json}, with a name made from the id and no image.
 */
public final class BundleRecord {
  public static final String FILE_NAME = "spec.json";
  static final ObjectMapper JSON =
      new ObjectMapper()
          .findAndRegisterModules()
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private BundleRecord() {}

  public static byte[] serialize(ContainerSpec spec) throws IOException {
    return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(spec);
  }

  /**
   * The spec of the container whose bundle is {@code bundle}; empty when neither file reads back.
   */
  public static Optional<ContainerSpec> read(String id, Path bundle) {
    try {
      ContainerSpec spec =
          JSON.readValue(Files.readAllBytes(bundle.resolve(FILE_NAME)), ContainerSpec.class);
      if (id.equals(spec.id())) return Optional.of(spec);
    } catch (NoSuchFileException e) {
      // an older bundle: config.json below
    } catch (IOException e) {
      // damaged: config.json below
    }
    return fromRuntimeSpec(id, bundle);
  }

  private static Optional<ContainerSpec> fromRuntimeSpec(String id, Path bundle) {
    try {
      JsonNode config = JSON.readTree(Files.readAllBytes(bundle.resolve("config.json")));
      JsonNode process = config.path("process");
      List<String> args = strings(process.path("args"));
      if (args.isEmpty()) return Optional.empty();
      Instant created = Files.getLastModifiedTime(bundle.resolve("config.json")).toInstant();
      return Optional.of(
          new ContainerSpec(
              id,
              "recovered-" + id.substring(0, 12),
              "",
              "",
              args,
              strings(process.path("env")),
              process.path("cwd").asText("/"),
              process.path("user").path("uid").asInt(0),
              process.path("user").path("gid").asInt(0),
              List.of(),
              config.path("hostname").asText(id.substring(0, 12)),
              false,
              Map.of(),
              created,
              RestartPolicy.NO,
              Map.of(),
              null,
              null));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
