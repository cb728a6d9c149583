package dev.berth.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.typesafe.config.ConfigFactory;
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
  void specsJournaledBeforeSeccompReadAsTheDaemonDefault() throws Exception {
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
            "unconfined");
    SerializerWithStringManifest serializer =
        (SerializerWithStringManifest)
            SerializationExtension.get(Adapter.toClassic(kit.system())).findSerializerFor(spec);
    byte[] bytes = serializer.toBinary(spec);
    String manifest = serializer.manifest(spec);
    assertEquals(spec, serializer.fromBinary(bytes, manifest));

    ObjectMapper cbor = new ObjectMapper(new CBORFactory());
    ObjectNode written = (ObjectNode) cbor.readTree(bytes);
    assertEquals("unconfined", written.path("seccompProfile").asText());
    written.remove("seccompProfile");
    ContainerSpec old =
        (ContainerSpec) serializer.fromBinary(cbor.writeValueAsBytes(written), manifest);
    assertNull(old.seccompProfile());
    assertEquals("default", old.seccompMode());
  }
}
