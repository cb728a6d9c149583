package dev.berth.cli;

import dev.berth.core.BerthException;
import io.grpc.StatusRuntimeException;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Shared plumbing of every subcommand: the root's streams and its lazily opened connection. */
abstract class BaseCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = {"-h", "--help"},
      usageHelp = true,
      description = "Show this help and exit.")
  boolean help;

  /** The root object; reached through the spec so a command works at any depth (`image import`). */
  final BerthCli root() {
    return (BerthCli) spec.root().userObject();
  }

  final PrintStream out() {
    return root().out();
  }

  final PrintStream err() {
    return root().err();
  }

  final Daemon daemon() {
    return root().daemon();
  }

  /** How long `wait`, `logs -f` and `events` keep trying to get their daemon back. */
  static final long RECONNECT_SECONDS = 120;

  interface Call<T> {
    T run();
  }

  /**
   * Runs a long-lived call (wait, a followed stream) so that it survives a daemon restart: when the
   * connection breaks mid-call (berthd killed or restarted) it reconnects and runs the call again,
   * for up to {@value #RECONNECT_SECONDS} s; the call itself must resume where it left off (events
   * by sequence number, logs by entries already printed). No daemon at the first attempt, or an
   * error the daemon answered, fails as before.
   */
  final <T> T reconnecting(Call<T> call) {
    // Reach the daemon once first: with no daemon at all this fails as every command does. After
    // that, a connection lost mid-call and a refused reconnect both mean "berthd is restarting".
    daemon().system().getVersion(dev.berth.api.v1.GetVersionRequest.getDefaultInstance());
    long deadline = 0;
    while (true) {
      try {
        return call.run();
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE) throw e;
        if (deadline == 0) {
          deadline = System.nanoTime() + RECONNECT_SECONDS * 1_000_000_000L;
          err().println("berth: lost the connection to berthd; reconnecting");
          err().flush();
        } else if (System.nanoTime() > deadline) {
          throw e;
        }
        root().reconnect();
        try {
          Thread.sleep(250);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  interface RefAction {
    void apply(String ref);
  }

  /**
   * Applies an action to each ref like docker does: a failure for one ref is reported (one line)
   * and the others are still processed; the exit code says whether any failed. Not reaching the
   * daemon at all aborts at once, so the user sees one cannot-connect line, not one per ref.
   */
  final int eachRef(List<String> refs, RefAction action) {
    int rc = 0;
    for (String ref : refs) {
      try {
        action.apply(ref);
      } catch (StatusRuntimeException e) {
        if (Daemon.isConnectFailure(e)) throw e;
        out().flush();
        err().println(root().describe(e));
        rc = BerthCli.EXIT_ERROR;
      } catch (BerthException e) {
        // What the daemon would refuse for this container (the same check, made here first).
        out().flush();
        err().println(root().describe(e));
        rc = BerthCli.EXIT_ERROR;
      }
    }
    out().flush();
    return rc;
  }
}
