package dev.berth.tools.cli;

import dev.berth.cli.BerthCli;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The CLI's class-data training workload (ops/cli-cds.sh, through bin/berth): runs the commands a
 * typical invocation goes through in one JVM, without a daemon, so that the archive (AppCDS) or the
 * cache (JDK 25 AOT) holds picocli's model and help, the gRPC client up to a failed connect, the
 * client side of successful calls against a stand-in daemon ({@link TrainingDaemon}) and the
 * table/JSON rendering of their answers. Build-only: not in the shipped berth-cli jar, and uses
 * only the CLI's public entry point.
 */
public final class CliTraining {
  private CliTraining() {}

  public static void main(String[] args) {
    String nowhere = args.length > 0 ? args[0] : "/nonexistent/berth.sock";
    PrintStream sink =
        new PrintStream(OutputStream.nullOutputStream(), false, StandardCharsets.UTF_8);
    Map<String, String> env = Map.of();
    // Help and usage errors: picocli's model and help renderer.
    BerthCli.run(new String[] {"--help"}, sink, sink, env, true);
    BerthCli.run(new String[] {"run", "--help"}, sink, sink, env, true);
    BerthCli.run(new String[] {"ps", "--bogus"}, sink, sink, env, true);
    // A failed connect: channel, the OkHttp transport, status mapping.
    BerthCli.run(new String[] {"--socket", nowhere, "ps"}, sink, sink, env, true);
    BerthCli.run(
        new String[] {"--socket", nowhere, "run", "-d", "--rm", "-e", "A=1", "busybox", "true"},
        sink,
        sink,
        env,
        true);
    // Successful calls against a stand-in daemon: the client side of real RPCs (HTTP/2 frames,
    // message parsing, streaming) and the rendering of what ps, inspect and images print.
    try {
      TrainingDaemon.exercise(sink, env);
    } catch (Exception e) {
      System.err.println("cds training: stand-in daemon skipped: " + e.getMessage());
    }
    sink.flush();
    System.exit(0);
  }
}
