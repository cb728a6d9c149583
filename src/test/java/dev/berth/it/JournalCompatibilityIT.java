package dev.berth.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.berth.it.BerthHarness.Result;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The journal's evolution rule, checked against data written by an older Berth: the newest daemon
 * starts on a --root whose journal, snapshots and bundles were made by commit e83af65 (see
 * src/test/fixtures/make-journal-fixture.sh), and every container reads back as it was left, then
 * works (start, logs, stop, rm).
 */
@Timeout(300)
class JournalCompatibilityIT {
  static final Path FIXTURE = BerthHarness.HOME.resolve("src/test/fixtures/journal-e83af65.tar.gz");

  static final String CREATED = "cae4dacfbf3a158f1d0c86feb2dd5fb92c43d5badd24520b4f90a1cc93cf1d20";
  static final String EXITED3 = "f13406849e1d22c81833c0c3e903ee41983637d35b159e350f32971c293e4cec";
  static final String ALWAYS = "ceebd13951a15c89544769c8fab6caaa09c02431423a729a36de37358436cd58";
  static final String STOPPED = "5e05c3fc842bb1c5f8812005c3b487a7d8f9bd1faca55885be3ed1bcd7b317b3";
  static final String UNCONF = "175441c4206d5921e77d7806a81dbc7d2809650a4ebd7253f5e3ac05cff3f33b";

  @Test
  void a_journal_written_by_an_older_berth_reads_back_and_its_containers_work() throws Exception {
    try (BerthHarness b = BerthHarness.prepare("JournalCompatibilityIT", List.of())) {
      Result untar =
          BerthHarness.exec(
              Duration.ofSeconds(30),
              List.of(
                  "tar",
                  "-C",
                  b.root.toString(),
                  "--strip-components=1",
                  "-xzf",
                  FIXTURE.toString()));
      assertEquals(0, untar.exitCode(), untar.toString());
      b.startDaemon();
      b.importBusybox();

      Map<String, String> states = new TreeMap<>();
      for (JsonNode c : b.psAll()) {
        states.put(c.path("name").asText(), c.path("id").asText() + " " + c.path("state").asText());
      }
      assertEquals(
          Map.of(
              "created1", CREATED + " created",
              "exited3", EXITED3 + " stopped",
              "always", ALWAYS + " stopped",
              "stopped", STOPPED + " stopped",
              "unconf", UNCONF + " stopped"),
          states,
          "every container of the old journal, in the state it was left in; the removed one gone");

      JsonNode exited = b.inspect("exited3");
      assertEquals(3, exited.path("exitCode").asInt());
      assertEquals("2026-12-04T18:50:03.217577718Z", exited.path("createdAt").asText());
      assertEquals("2026-12-04T18:50:03.826289881Z", exited.path("finishedAt").asText());
      assertEquals(
          "[\"sh\",\"-c\",\"echo out; echo err >&2; exit 3\"]", exited.path("command").toString());
      assertEquals("default", exited.path("seccomp").asText());
      assertEquals(137, b.inspect("stopped").path("exitCode").asInt());
      assertEquals(1, b.inspect("always").path("exitCode").asInt());
      assertEquals("on-failure:2", b.inspect("always").path("restartPolicy").asText());
      assertEquals("unconfined", b.inspect("unconf").path("seccomp").asText());
      JsonNode created = b.inspect("created1");
      assertEquals("b", created.path("labels").path("a").asText());

      Result logs = b.berth("logs", "exited3");
      assertEquals(0, logs.exitCode(), logs.toString());
      assertEquals("out", logs.stdout().strip());
      assertEquals("err", logs.stderr().strip());

      // The history is in the feed too (events are read back by tag from the old journal).
      Result events = b.berth(Duration.ofSeconds(20), "events", "--since", "0", "--no-follow");
      assertEquals(0, events.exitCode(), events.toString());
      for (String id : List.of(CREATED, EXITED3, ALWAYS, STOPPED, UNCONF)) {
        assertTrue(events.stdout().contains(id.substring(0, 12)), id + " in\n" + events.stdout());
      }

      // ...and the containers work under the new daemon.
      b.ok("start", "created1");
      assertEquals("running", b.inspect("created1").path("state").asText());
      assertEquals("X=1", b.ok("exec", "created1", "sh", "-c", "echo X=$X"));
      b.ok("stop", "-t", "1", "created1");
      assertEquals("137", b.ok("wait", "created1"));
      b.ok("start", "exited3");
      assertEquals("3", b.ok("wait", "exited3"));
      assertTrue(
          b.ok("create", "--name", "removed", "busybox", "true").matches("[0-9a-f]{64}"),
          "the name of the container removed under the old daemon is free");
      for (String name : List.of("created1", "exited3", "always", "stopped", "unconf", "removed")) {
        b.ok("rm", name);
      }
      assertTrue(b.psAll().isEmpty());
      assertFalse(
          java.nio.file.Files.exists(b.root.resolve("containers").resolve(EXITED3)),
          "rm removes an old bundle too");
    }
  }
}
