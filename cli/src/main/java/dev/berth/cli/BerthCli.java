package dev.berth.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * `berth`: a thin docker-like client of berthd. Every invocation is a fresh JVM, so this class
 * keeps static initialisation trivial and only connects for commands that need the daemon.
 */
@Command(
    name = "berth",
    description = "A container supervisor client: talks to berthd over its unix socket.",
    versionProvider = BerthCli.ClientVersion.class,
    synopsisSubcommandLabel = "COMMAND")
public final class BerthCli implements Callable<Integer> {
  /** docker's exit code for "the client or daemon failed" (as opposed to the container's code). */
  static final int EXIT_ERROR = 125;

  static final String DEFAULT_SOCKET = "/run/berth/berth.sock";
  static final String SOCKET_ENV = "BERTH_SOCKET";

  /** Set to anything non-empty to get stack traces and gRPC/netty logging on stderr. */
  static final String DEBUG_ENV = "BERTH_DEBUG";

  @Option(
      names = "--socket",
      paramLabel = "PATH",
      description = "berthd API socket (default: $BERTH_SOCKET, else " + DEFAULT_SOCKET + ").")
  String socketOption;

  @Option(
      names = {"-h", "--help"},
      usageHelp = true,
      description = "Show this help and exit.")
  boolean help;

  @Option(
      names = {"-v", "--version"},
      versionHelp = true,
      description = "Print the client version and exit.")
  boolean version;

  @Spec CommandSpec spec;

  private final InputStream in;
  private final PrintStream out;
  private final PrintStream err;
  private final Map<String, String> env;
  private final boolean quietLogging;
  private Daemon daemon;

  BerthCli(
      InputStream in,
      PrintStream out,
      PrintStream err,
      Map<String, String> env,
      boolean quietLogging) {
    this.in = in;
    this.out = out;
    this.err = err;
    this.env = env;
    this.quietLogging = quietLogging;
  }

  public static void main(String[] args) {
    // Our own UTF-8 streams: the JVM picks the locale's charset (ASCII under LANG=C), which would
    // mangle container output and the "…" in truncated columns. stdout is buffered and flushed
    // explicitly (per log chunk when streaming); stderr autoflushes.
    PrintStream out =
        new PrintStream(
            new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16),
            false,
            StandardCharsets.UTF_8);
    PrintStream err =
        new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
    Map<String, String> env = System.getenv();
    int code = run(args, System.in, out, err, env, !debug(env));
    out.flush();
    err.flush();
    // Exit explicitly: grpc's executor threads are not daemons, and there is nothing to wait for.
    System.exit(code);
  }

  /** The in-process entry point (tests): runs one command line and returns its exit code. */
  public static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env) {
    return run(args, System.in, out, err, env, false);
  }

  /** As {@link #run(String[], PrintStream, PrintStream, Map)}, with the stdin `exec -i` reads. */
  public static int run(
      String[] args, InputStream in, PrintStream out, PrintStream err, Map<String, String> env) {
    return run(args, in, out, err, env, false);
  }

  /** As {@link #run(String[], PrintStream, PrintStream, Map)}; quietLogging as {@link #main}. */
  public static int run(
      String[] args,
      PrintStream out,
      PrintStream err,
      Map<String, String> env,
      boolean quietLogging) {
    return run(args, System.in, out, err, env, quietLogging);
  }

  static int run(
      String[] args,
      InputStream in,
      PrintStream out,
      PrintStream err,
      Map<String, String> env,
      boolean quietLogging) {
    BerthCli root = new BerthCli(in, out, err, env, quietLogging);
    try {
      return root.commandLine(args).execute(args);
    } finally {
      root.closeDaemon();
      out.flush();
      err.flush();
    }
  }

  /** The subcommands, in the order `berth --help` lists them. */
  static final List<String> COMMANDS =
      List.of(
          "run",
          "create",
          "start",
          "stop",
          "kill",
          "rm",
          "wait",
          "ps",
          "inspect",
          "logs",
          "port",
          "exec",
          "exec-ls",
          "exec-inspect",
          "exec-kill",
          "events",
          "pull",
          "image",
          "images",
          "rmi",
          "login",
          "logout",
          "info",
          "version");

  private static Object newCommand(String name) {
    return switch (name) {
      case "run" -> new ContainerCommands.Run();
      case "create" -> new ContainerCommands.Create();
      case "start" -> new ContainerCommands.Start();
      case "stop" -> new ContainerCommands.Stop();
      case "kill" -> new ContainerCommands.Kill();
      case "rm" -> new ContainerCommands.Rm();
      case "wait" -> new ContainerCommands.Wait();
      case "ps" -> new ContainerCommands.Ps();
      case "inspect" -> new ContainerCommands.Inspect();
      case "logs" -> new ContainerCommands.Logs();
      case "port" -> new ContainerCommands.Port();
      case "exec" -> new ExecCommands.ExecRun();
      case "exec-ls" -> new ExecCommands.ExecLs();
      case "exec-inspect" -> new ExecCommands.ExecInspect();
      case "exec-kill" -> new ExecCommands.ExecKill();
      case "events" -> new EventsCommand();
      case "pull" -> new RegistryCommands.Pull();
      case "login" -> new RegistryCommands.Login();
      case "logout" -> new RegistryCommands.Logout();
      case "image" -> new ImageCommands.ImageGroup();
      case "images" -> new ImageCommands.Images();
      case "rmi" -> new ImageCommands.Rmi();
      case "info" -> new ContainerCommands.Info();
      case "version" -> new ContainerCommands.Version();
      default -> throw new IllegalArgumentException(name);
    };
  }

  /**
   * The subcommand named on the command line, found by skipping the root's own options; null when
   * there is none or it is not a known command (help, usage errors).
   */
  static String invokedCommand(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--socket")) {
        i++;
      } else if (a.startsWith("--socket=")) {
        continue;
      } else if (a.startsWith("-")) {
        return null;
      } else {
        return COMMANDS.contains(a) ? a : null;
      }
    }
    return null;
  }

  CommandLine commandLine(String[] args) {
    CommandLine cl = new CommandLine(this);
    // picocli builds each command's model by reflection, a large share of a short run's time:
    // when the command is known only that one is registered. Help and unknown commands get all.
    String invoked = invokedCommand(args);
    for (String name : COMMANDS) {
      if (invoked == null || invoked.equals(name)) cl.addSubcommand(name, newCommand(name));
    }
    // `run busybox echo @file` must pass "@file" through, not read a picocli argument file.
    cl.setExpandAtFiles(false);
    // docker lets a later flag win (`stop -t 1 -t 5`); picocli rejects repeats by default.
    cl.setOverwrittenOptionsAllowed(true);
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    cl.setParameterExceptionHandler(this::onParameterError);
    cl.setExecutionExceptionHandler(this::onExecutionError);
    // Everything after IMAGE (or CONTAINER for exec) belongs to the container's command, flags
    // included: `run busybox sh -c 'echo hi'` must keep `-c`.
    for (String name : List.of("run", "create", "exec")) {
      CommandLine sub = cl.getSubcommands().get(name);
      if (sub != null) sub.setStopAtPositional(true);
    }
    return cl;
  }

  /** `berth` alone: the command list, like docker. */
  @Override
  public Integer call() {
    spec.commandLine().usage(out);
    return 0;
  }

  InputStream in() {
    return in;
  }

  PrintStream out() {
    return out;
  }

  PrintStream err() {
    return err;
  }

  Map<String, String> env() {
    return env;
  }

  String socket() {
    if (socketOption != null && !socketOption.isEmpty()) return socketOption;
    String fromEnv = env.get(SOCKET_ENV);
    return fromEnv != null && !fromEnv.isEmpty() ? fromEnv : DEFAULT_SOCKET;
  }

  /** The connection, opened on first use. */
  Daemon daemon() {
    if (daemon == null) {
      if (quietLogging) {
        // grpc and netty log transport trouble through java.util.logging to stderr; the user gets
        // one "Error:" line instead. Done here so commands that never connect never load JUL.
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.OFF);
      }
      daemon = new Daemon(socket());
    }
    return daemon;
  }

  /** A fresh channel: the old one's reconnect backoff would keep a restarted daemon waiting. */
  void reconnect() {
    closeDaemon();
  }

  private void closeDaemon() {
    if (daemon != null) {
      daemon.close();
      daemon = null;
    }
  }

  /** The single stderr line for a failed call. */
  String describe(Throwable e) {
    if (e instanceof StatusRuntimeException sre) return "Error: " + describeStatus(sre);
    if (e instanceof CliException ce) return "Error: " + ce.getMessage();
    String m = e.getMessage();
    return "Error: " + oneLine(m == null || m.isBlank() ? e.getClass().getSimpleName() : m);
  }

  private String describeStatus(StatusRuntimeException e) {
    if (Daemon.isConnectFailure(e)) {
      return Daemon.isPermissionDenied(e)
          ? "cannot connect to berthd at " + socket() + ": permission denied"
          : "cannot connect to berthd at " + socket() + ": is it running?";
    }
    if (Daemon.isConnectionLost(e))
      return "lost the connection to berthd at " + socket() + " (did it stop?)";
    Status st = e.getStatus();
    String d = st.getDescription();
    if (st.getCode() == Status.Code.DEADLINE_EXCEEDED
        && (d == null
            || d.startsWith("deadline exceeded after")
            || d.startsWith("ClientCall started after"))) {
      // The client's own deadline: grpc's description lists internal transport details.
      return "timed out waiting for berthd";
    }
    if (d == null || d.isBlank()) return st.getCode().name().toLowerCase().replace('_', ' ');
    return oneLine(d);
  }

  static String oneLine(String s) {
    return s.strip().replaceAll("\\s*[\\r\\n]+\\s*", " ");
  }

  private int onParameterError(ParameterException ex, String[] args) {
    CommandLine cmd = ex.getCommandLine();
    String message = ex.getMessage();
    if (ex instanceof UnmatchedArgumentException u
        && cmd.getCommandSpec().subcommands().size() > 0
        && !u.getUnmatched().isEmpty()
        && !u.getUnmatched().get(0).startsWith("-")) {
      message =
          "unknown command \""
              + u.getUnmatched().get(0)
              + "\" for \""
              + cmd.getCommandSpec().qualifiedName()
              + "\"";
    }
    // One line, like every other error (docker prints the hint on a second line).
    err.println(
        "Error: "
            + oneLine(message)
            + " (see '"
            + cmd.getCommandSpec().qualifiedName()
            + " --help')");
    return EXIT_ERROR;
  }

  private int onExecutionError(Exception ex, CommandLine cmd, ParseResult parsed) {
    if (debug(env)) ex.printStackTrace(err);
    err.println(describe(ex));
    out.flush();
    return ex instanceof CliException ce ? ce.exitCode() : EXIT_ERROR;
  }

  private static boolean debug(Map<String, String> env) {
    String v = env.get(DEBUG_ENV);
    return v != null && !v.isEmpty() && !v.equals("0");
  }

  /** The client version from the jar manifest (set by the build); "dev" when run from classes. */
  static String clientVersion() {
    String v = BerthCli.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  static final class ClientVersion implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"berth version " + clientVersion()};
    }
  }
}
