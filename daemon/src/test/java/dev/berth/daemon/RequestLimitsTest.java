package dev.berth.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Duration;
import dev.berth.api.v1.CreateContainerRequest;
import dev.berth.api.v1.ProcessSpec;
import dev.berth.api.v1.StopContainerRequest;
import dev.berth.core.BerthException;
import org.junit.jupiter.api.Test;

class RequestLimitsTest {
  static CreateContainerRequest.Builder create() {
    return CreateContainerRequest.newBuilder().setImage("busybox");
  }

  static BerthException refused(Runnable r) {
    return assertThrows(BerthException.class, r::run);
  }

  @Test
  void a_9000_character_ref_is_refused_on_one_short_line() {
    BerthException e = refused(() -> RequestLimits.ref("ref", "a".repeat(9000)));
    assertEquals("ref", e.field());
    assertTrue(e.getMessage().length() < 100, e.getMessage());
  }

  @Test
  void a_log_read_with_a_bad_tail_or_time_is_refused_naming_the_field() {
    var base = dev.berth.api.v1.ContainerLogsRequest.newBuilder().setRef("web");
    assertEquals("tail", refused(() -> Protos.logs(base.clone().setTail(-1).build())).field());
    assertEquals(
        "tail", refused(() -> Protos.logs(base.clone().setTail(2_000_000).build())).field());
    assertEquals(
        "since",
        refused(
                () ->
                    Protos.logs(
                        base.clone()
                            .setSince(com.google.protobuf.Timestamp.newBuilder().setNanos(-5))
                            .build()))
            .field());
    var ok = Protos.logs(base.clone().setTail(0).build());
    assertEquals(0, ok.tail());
    assertEquals(-1, Protos.logs(base.build()).tail());
  }

  @Test
  void labels_past_their_limits_are_refused() {
    BerthException e =
        refused(() -> RequestLimits.create(create().putLabels("big", "v".repeat(1 << 20)).build()));
    assertEquals("labels", e.field());
    var many = create();
    for (int i = 0; i < 257; i++) many.putLabels("k" + i, "v");
    assertEquals("labels", refused(() -> RequestLimits.create(many.build())).field());
    var total = create();
    for (int i = 0; i < 20; i++) total.putLabels("k" + i, "v".repeat(4000));
    assertEquals("labels", refused(() -> RequestLimits.create(total.build())).field());
  }

  @Test
  void long_names_images_env_and_commands_are_refused() {
    assertEquals(
        "name",
        refused(() -> RequestLimits.create(create().setName("n".repeat(200)).build())).field());
    assertEquals(
        "image",
        refused(() -> RequestLimits.create(create().setImage("i".repeat(9000)).build())).field());
    assertEquals(
        "process.env",
        refused(
                () ->
                    RequestLimits.create(
                        create()
                            .setProcess(ProcessSpec.newBuilder().addEnv("A=" + "x".repeat(40_000)))
                            .build()))
            .field());
    var args = ProcessSpec.newBuilder();
    for (int i = 0; i < 1025; i++) args.addCmd("x");
    assertEquals(
        "process.cmd",
        refused(() -> RequestLimits.create(create().setProcess(args).build())).field());
  }

  @Test
  void an_invalid_hostname_is_refused_at_create() {
    for (String bad :
        new String[] {"-bad", "bad-", "under_score", "a..b", "x".repeat(64), "sp ace"}) {
      assertEquals(
          "hostname",
          refused(() -> RequestLimits.create(create().setHostname(bad).build())).field(),
          bad);
    }
    RequestLimits.create(create().setHostname("web-1.example.org").build());
  }

  @Test
  void a_request_id_must_be_short_printable_ascii() {
    assertEquals(
        "request_id",
        refused(() -> RequestLimits.create(create().setRequestId("a b").build())).field());
    assertEquals(
        "request_id",
        refused(() -> RequestLimits.create(create().setRequestId("r".repeat(129)).build()))
            .field());
    RequestLimits.create(create().setRequestId("3f2c-retry-1").build());
  }

  @Test
  void a_stop_without_a_timeout_asks_for_the_default_and_zero_means_now() {
    assertEquals(
        null, Protos.stop(StopContainerRequest.newBuilder().setRef("c").build()).timeout());
    assertEquals(
        java.time.Duration.ZERO,
        Protos.stop(
                StopContainerRequest.newBuilder()
                    .setRef("c")
                    .setTimeout(Duration.getDefaultInstance())
                    .build())
            .timeout());
    assertEquals(
        "timeout",
        refused(
                () ->
                    Protos.stop(
                        StopContainerRequest.newBuilder()
                            .setRef("c")
                            .setTimeout(Duration.newBuilder().setSeconds(-1))
                            .build()))
            .field());
  }

  @Test
  void import_and_save_paths_must_be_absolute() {
    assertEquals("path", refused(() -> RequestLimits.absolutePath("path", "busybox.tar")).field());
    RequestLimits.absolutePath("path", "/tmp/busybox.tar");
  }
}
