package dev.berth.cli;

import dev.berth.api.v1.CreateExecRequest;
import dev.berth.api.v1.Exec;
import dev.berth.api.v1.ExecState;
import dev.berth.api.v1.InspectExecRequest;
import dev.berth.api.v1.KillExecRequest;
import dev.berth.api.v1.ListExecsRequest;
import dev.berth.api.v1.StartExecRequest;
import dev.berth.api.v1.StartExecResponse;
import dev.berth.core.Defaults;
import dev.berth.core.Signals;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Execs: `exec` (CreateExec, then StartExec attached or detached), and the exec resource's own
 * commands `exec-ls`, `exec-inspect` and `exec-kill` (docker has none; named like `image ls`).
 */
final class ExecCommands {
  private ExecCommands() {}

  @Command(
      name = "exec",
      description =
          "Run a command in a running container; exits with its exit code (-d: print the exec id"
              + " and leave it running).")
  static final class ExecRun extends BaseCommand {
    @Option(
        names = {"-d", "--detach"},
        description = "Run in the background and print the exec id.")
    boolean detach;

    @Option(
        names = {"-i", "--interactive"},
        description = "Feed this command's stdin to the process (closed at end of input).")
    boolean interactive;

    @Option(
        names = {"-e", "--env"},
        paramLabel = "KEY=VALUE",
        description = "Set an environment variable; a bare KEY copies it from this shell if set.")
    List<String> env = new ArrayList<>();

    @Option(
        names = {"-w", "--workdir"},
        paramLabel = "DIR",
        description = "Working directory.")
    String workdir;

    @Option(
        names = {"-u", "--user"},
        paramLabel = "USER",
        description = "User (name|uid[:group|gid]).")
    String user;

    @Parameters(index = "0", paramLabel = "CONTAINER")
    String ref;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "COMMAND")
    List<String> command;

    @Override
    public Integer call() throws Exception {
      if (detach && interactive)
        throw new CliException("--detach and --interactive cannot be used together");
      CreateExecRequest.Builder req =
          CreateExecRequest.newBuilder()
              .setContainer(ref)
              .addAllArgs(command)
              .addAllEnv(ContainerCommands.resolveEnv(env, root().env()))
              .setAttachStdin(interactive);
      if (workdir != null) req.setWorkingDir(workdir);
      if (user != null) req.setUser(user);
      String id = daemon().exec().createExec(req.build()).getExec().getId();
      if (detach) {
        startDetached(daemon(), id);
        out().println(id);
        return 0;
      }
      return new AttachedExec(root(), daemon(), id, interactive ? root().in() : null).run();
    }
  }

  /**
   * A detached start: the first request says detach, the daemon answers once the process runs
   * (`started`) and ends the call; the process keeps running.
   */
  static void startDetached(Daemon daemon, String id) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    ClientResponseObserver<StartExecRequest, StartExecResponse> observer =
        new ClientResponseObserver<>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<StartExecRequest> requestStream) {}

          @Override
          public void onNext(StartExecResponse r) {
            // `started` (and nothing else, detached): the process runs.
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            done.complete(null);
          }
        };
    var requests =
        daemon
            .execAsync()
            .withDeadlineAfter(Daemon.UNARY_DEADLINE_SECONDS, TimeUnit.SECONDS)
            .startExec(observer);
    requests.onNext(StartExecRequest.newBuilder().setExecId(id).setDetach(true).build());
    requests.onCompleted();
    try {
      // The call's own deadline ends it; this bound only guards against a lost callback.
      done.get(Daemon.UNARY_DEADLINE_SECONDS + 5, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) throw re;
      throw e;
    } catch (TimeoutException e) {
      throw new CliException("timed out waiting for berthd");
    }
  }

  @Command(
      name = "exec-ls",
      description = "List a container's execs: created, running and the newest exited ones.")
  static final class ExecLs extends BaseCommand {
    @Option(
        names = {"-q", "--quiet"},
        description = "Only print exec ids.")
    boolean quiet;

    @Option(names = "--no-trunc", description = "Do not truncate commands.")
    boolean noTrunc;

    @Option(
        names = "--format",
        paramLabel = "table|json",
        description = "Output format: table (default) or json (one object per line).")
    String format = "table";

    @Parameters(index = "0", paramLabel = "CONTAINER")
    String ref;

    @Override
    public Integer call() {
      ContainerCommands.OutputFormat fmt = ContainerCommands.OutputFormat.parse(format);
      List<Exec> execs =
          daemon()
              .exec()
              .listExecs(ListExecsRequest.newBuilder().setContainer(ref).build())
              .getExecsList();
      PrintStream out = out();
      if (fmt == ContainerCommands.OutputFormat.JSON) {
        for (Exec e : execs) out.println(Json.execLine(e));
      } else if (quiet) {
        for (Exec e : execs) out.println(e.getId());
      } else {
        Instant now = Instant.now();
        Format.Table table = new Format.Table("EXEC ID", "COMMAND", "STATUS", "PID");
        for (Exec e : execs) {
          table.add(
              e.getId(),
              Format.command(e.getArgsList(), !noTrunc),
              status(e, now),
              e.getPid() == 0 ? "-" : Integer.toString(e.getPid()));
        }
        out.print(table.render());
      }
      return 0;
    }
  }

  /** Like ps's STATUS: "Created", "Up 3 seconds", "Exited (0) 2 seconds ago". */
  static String status(Exec e, Instant now) {
    switch (e.getState()) {
      case EXEC_STATE_CREATED:
        return "Created";
      case EXEC_STATE_RUNNING:
        {
          Instant started = Views.instant(e.getStartedAt());
          return started == null
              ? "Up"
              : "Up " + Format.humanDuration(Duration.between(started, now));
        }
      case EXEC_STATE_EXITED:
        {
          Instant finished = Views.instant(e.getFinishedAt());
          String exited = "Exited (" + (e.hasExitCode() ? e.getExitCode() : -1) + ")";
          return finished == null
              ? exited
              : exited + " " + Format.humanDuration(Duration.between(finished, now)) + " ago";
        }
      default:
        return "Unknown";
    }
  }

  static String state(ExecState s) {
    return switch (s) {
      case EXEC_STATE_CREATED -> "created";
      case EXEC_STATE_RUNNING -> "running";
      case EXEC_STATE_EXITED -> "exited";
      default -> "unknown";
    };
  }

  @Command(name = "exec-inspect", description = "Print execs' details as a JSON array.")
  static final class ExecInspect extends BaseCommand {
    @Parameters(arity = "1..*", paramLabel = "EXEC_ID")
    List<String> ids;

    @Override
    public Integer call() {
      List<Exec> found = new ArrayList<>();
      int rc =
          eachRef(
              ids,
              id ->
                  found.add(
                      daemon()
                          .exec()
                          .inspectExec(InspectExecRequest.newBuilder().setExecId(id).build())
                          .getExec()));
      out().println(Json.execsPretty(found));
      return rc;
    }
  }

  @Command(name = "exec-kill", description = "Send a signal to running execs' processes.")
  static final class ExecKill extends BaseCommand {
    @Option(
        names = {"-s", "--signal"},
        paramLabel = "SIGNAL",
        description = "Signal name or number (default: KILL).")
    String signal = "KILL";

    @Parameters(arity = "1..*", paramLabel = "EXEC_ID")
    List<String> ids;

    @Override
    public Integer call() {
      return eachRef(
          ids,
          id -> {
            Signals.parse(signal, Defaults.KILL_SIGNAL); // the daemon's check, without a call
            daemon()
                .exec()
                .killExec(KillExecRequest.newBuilder().setExecId(id).setSignal(signal).build());
            out().println(id);
          });
    }
  }
}
