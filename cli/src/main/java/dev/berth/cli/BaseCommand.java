package dev.berth.cli;

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

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
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
      }
    }
    out().flush();
    return rc;
  }
}
