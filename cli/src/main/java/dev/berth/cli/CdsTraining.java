package dev.berth.cli;

import dev.berth.api.v1.Container;
import dev.berth.api.v1.Image;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The AppCDS training workload (ops/cli-cds.sh): loads the classes a typical invocation needs
 * without a daemon, so the dumped archive covers picocli's model and help, the gRPC client up to a
 * failed connect, and the table/JSON rendering.
 */
public final class CdsTraining {
  private CdsTraining() {}

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
    // message parsing, streaming), which a failed connect never reaches.
    try {
      TrainingDaemon.exercise(sink, env);
    } catch (Exception e) {
      System.err.println("cds training: stand-in daemon skipped: " + e.getMessage());
    }
    // Rendering: what ps, inspect and images print once a daemon answers.
    String now = Instant.now().toString();
    Container c =
        Container.newBuilder()
            .setId("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
            .setName("training")
            .setImage("busybox")
            .setState("running")
            .setCreatedAt(now)
            .setStartedAt(now)
            .addAllCommand(List.of("sh", "-c", "sleep 1000"))
            .putLabels("k", "v")
            .build();
    Instant t = Instant.now();
    Format.Table table =
        new Format.Table("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES");
    table.add(
        Format.shortId(c.getId()),
        c.getImage(),
        Format.command(c.getCommandList(), true),
        Format.ago(c.getCreatedAt(), t),
        Format.status(c, t),
        c.getName());
    sink.print(table.render());
    sink.println(Json.containerLine(c));
    sink.println(Json.containersPretty(List.of(c)));
    Image i =
        Image.newBuilder()
            .setId("sha256:" + c.getId())
            .addNames("busybox:latest")
            .setSize(4_261_000)
            .setCreatedAt(now)
            .build();
    sink.println(
        Json.imageLine(i) + Format.humanSize(i.getSize()) + Format.repoTag("busybox:latest")[1]);
    sink.flush();
    System.exit(0);
  }
}
