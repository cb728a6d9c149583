package dev.berth.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;

/**
 * berth.v1 from a client in another language: Debian's python3-grpcio, with stubs generated from
 * the .proto files by ops/examples/python/gen-stubs.sh. Runs the example client
 * (ops/examples/python/berth_client.py) and the contract suite (src/test/python/test_contract.py:
 * one test or more per bug of issue 11) against a private berthd; each Python test shows up here as
 * a test of its own.
 */
@Timeout(1800)
class PythonClientIT {

  static final String PYTHON = "/usr/bin/python3"; // Debian's, with python3-grpcio
  static final Path EXAMPLES = BerthHarness.HOME.resolve("ops/examples/python");
  static final Path SUITE = BerthHarness.HOME.resolve("src/test/python/test_contract.py");

  /** Kept after the run (the harness removes its base directory): outputs, results, stubs. */
  static final Path OUT = BerthHarness.HOME.resolve("src/test/target/python-client-it");

  static BerthHarness berth;
  static Path stubs;

  record Run(int exitCode, String output) {}

  @BeforeAll
  static void startDaemonAndGenerateStubs() throws Exception {
    // a production daemon: the contract suite checks that the failpoints service is not served
    berth = BerthHarness.prepare("PythonClientIT", List.of());
    berth.withoutFailpoints();
    berth.startDaemon();
    berth.importBusybox();
    Files.createDirectories(OUT);
    stubs = OUT.resolve("python-stubs");
    Run gen =
        run(
            List.of(EXAMPLES.resolve("gen-stubs.sh").toString(), stubs.toString()),
            OUT.resolve("gen-stubs.log"),
            120);
    if (gen.exitCode() != 0) fail("gen-stubs.sh failed:\n" + gen.output());
  }

  @AfterAll
  static void stopDaemon() {
    if (berth != null) berth.close();
  }

  @Test
  void the_example_client_walks_through_the_api() throws Exception {
    Run r =
        run(
            List.of(
                PYTHON,
                EXAMPLES.resolve("berth_client.py").toString(),
                "--socket",
                berth.socket.toString()),
            OUT.resolve("berth_client.log"),
            300);
    if (r.exitCode() != 0)
      fail("berth_client.py exited " + r.exitCode() + ":\n" + r.output() + daemonTail());
    assertTrue(r.output().contains("berth_client: ok"), r.output());
  }

  @TestFactory
  Stream<DynamicTest> the_contract_suite_in_python() throws Exception {
    Path results = OUT.resolve("python-contract.jsonl");
    Run r =
        run(
            List.of(PYTHON, SUITE.toString(), results.toString()),
            OUT.resolve("python-contract.log"),
            1500);
    List<JsonNode> lines =
        Files.exists(results) ? BerthHarness.jsonLines(Files.readString(results)) : List.of();
    if (lines.isEmpty())
      fail("the Python suite ran no test (exit " + r.exitCode() + "):\n" + r.output());
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode line : lines) {
      String name = line.path("name").asText();
      String outcome = line.path("outcome").asText();
      String message = line.path("message").asText();
      tests.add(
          DynamicTest.dynamicTest(
              name,
              () -> {
                if (outcome.equals("failure")) fail(name + ":\n" + message);
                assertFalse(outcome.equals("skipped"), name + " skipped: " + message);
                assertEquals("success", outcome, name);
              }));
    }
    // the suite's own verdict must agree with the lines (a crash after the last line, say)
    tests.add(
        DynamicTest.dynamicTest(
            "the_suite_exits_as_its_tests_say",
            () -> {
              boolean allPassed =
                  lines.stream().allMatch(l -> l.path("outcome").asText().equals("success"));
              assertEquals(allPassed ? 0 : 1, r.exitCode(), r.output());
            }));
    return tests.stream();
  }

  /** Runs a command with the stubs on PYTHONPATH and the daemon's socket and pid in the env. */
  static Run run(List<String> command, Path log, long timeoutSeconds)
      throws IOException, InterruptedException {
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    pb.environment().put("PYTHONPATH", stubs + File.pathSeparator + EXAMPLES);
    pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
    pb.environment().put("BERTH_SOCKET", berth.socket.toString());
    pb.environment().put("BERTH_DAEMON_PID", Long.toString(berth.daemonPid()));
    Process p = pb.start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
      fail(
          "timed out after "
              + timeoutSeconds
              + "s: "
              + String.join(" ", command)
              + "\n"
              + Files.readString(log)
              + daemonTail());
    }
    return new Run(p.exitValue(), Files.readString(log));
  }

  static String daemonTail() {
    return "\n--- berthd log tail ---\n" + berth.daemonLogTail();
  }
}
