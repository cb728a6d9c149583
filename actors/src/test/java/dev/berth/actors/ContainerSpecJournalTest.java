package dev.berth.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.typesafe.config.ConfigFactory;
import dev.berth.core.ContainerSpec;
import dev.berth.core.RestartPolicy;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** ContainerSpec through the journal's serializer (jackson-cbor), old entries included. */
class ContainerSpecJournalTest {
  static final ActorTestKit kit = ActorTestKit.create(ConfigFactory.load());

  @AfterAll
  static void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  void specs_journaled_before_seccomp_read_as_the_daemon_default() throws Exception {
    ContainerSpec spec =
        new ContainerSpec(
            "id",
            "n",
            "busybox",
            "sha256:x",
            List.of("true"),
            List.of("PATH=/bin"),
            "/",
            0,
            0,
            List.of(),
            "h",
            false,
            Map.of(),
            Instant.parse("2026-01-01T00:00:00Z"),
            RestartPolicy.NO,
            Map.of(),
            "unconfined",
            "req-1");
    // A spec is journaled inside ContainerCreated (and ContainerAdopted), never on its own.
    ContainerActor.ContainerCreated event = new ContainerActor.ContainerCreated(spec);
    SerializerWithStringManifest serializer =
        (SerializerWithStringManifest)
            SerializationExtension.get(Adapter.toClassic(kit.system())).findSerializerFor(event);
    byte[] bytes = serializer.toBinary(event);
    String manifest = serializer.manifest(event);
    assertEquals(event, serializer.fromBinary(bytes, manifest));

    ObjectMapper cbor = new ObjectMapper(new CBORFactory());
    ObjectNode written = (ObjectNode) cbor.readTree(bytes);
    assertEquals("unconfined", written.path("spec").path("seccompProfile").asText());
    ((ObjectNode) written.get("spec")).remove("seccompProfile");
    ContainerSpec old =
        ((ContainerActor.ContainerCreated)
                serializer.fromBinary(cbor.writeValueAsBytes(written), manifest))
            .spec();
    assertNull(old.seccompProfile());
    assertEquals("default", old.seccompMode());
  }

  @Test
  void specs_and_registry_entries_journaled_before_request_ids_read_without_one() throws Exception {
    ContainerSpec spec = FakeTaskRuntime.spec("id", "n", false);
    ContainerSpec withKey =
        new ContainerSpec(
            spec.id(),
            spec.name(),
            spec.image(),
            spec.imageId(),
            spec.args(),
            spec.env(),
            spec.cwd(),
            spec.uid(),
            spec.gid(),
            spec.additionalGids(),
            spec.hostname(),
            spec.autoRemove(),
            spec.labels(),
            spec.createdAt(),
            spec.restart(),
            spec.failpoints(),
            spec.seccompProfile(),
            "req-1");
    ObjectMapper cbor = new ObjectMapper(new CBORFactory());

    ContainerActor.ContainerCreated created = new ContainerActor.ContainerCreated(withKey);
    SerializerWithStringManifest serializer =
        (SerializerWithStringManifest)
            SerializationExtension.get(Adapter.toClassic(kit.system())).findSerializerFor(created);
    ObjectNode written = (ObjectNode) cbor.readTree(serializer.toBinary(created));
    assertEquals("req-1", written.path("spec").path("requestId").asText());
    ((ObjectNode) written.get("spec")).remove("requestId");
    ContainerSpec old =
        ((ContainerActor.ContainerCreated)
                serializer.fromBinary(
                    cbor.writeValueAsBytes(written), serializer.manifest(created)))
            .spec();
    assertNull(old.requestId());
    assertEquals("", old.requestIdOrEmpty());

    ContainerSupervisor.ContainerAdded added =
        new ContainerSupervisor.ContainerAdded("id", "n", "sha256:x", "req-1");
    ObjectNode addedJson = (ObjectNode) cbor.readTree(serializer.toBinary(added));
    addedJson.remove("requestId");
    ContainerSupervisor.ContainerAdded oldAdded =
        (ContainerSupervisor.ContainerAdded)
            serializer.fromBinary(cbor.writeValueAsBytes(addedJson), serializer.manifest(added));
    assertEquals(new ContainerSupervisor.ContainerAdded("id", "n", "sha256:x", null), oldAdded);
  }
}
