package dev.berth.cli;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import dev.berth.api.v1.KillContainerRequest;
import dev.berth.api.v1.StartContainerRequest;
import dev.berth.api.v1.WaitContainerRequest;
import dev.berth.api.v1.WaitContainerResponse;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * `run` without -d, for a container that was just created: start it, stream its output, and return
 * its exit code.
 */
final class AttachedRun {
  /**
   * After the exit code is known the log stream should end by itself once the daemon has drained
   * the log file; this bounds the wait if it does not, so `run` never hangs after its container.
   */
  static final long LOG_DRAIN_GRACE_MILLIS = 2000;

  /** Ctrl-C three times stops waiting for a container that ignores the forwarded signal. */
  static final int SIGNALS_BEFORE_DETACH = 3;

  private final BerthCli root;
  private final Daemon daemon;
  private final String id;

  AttachedRun(BerthCli root, Daemon daemon, String id) {
    this.root = root;
    this.daemon = daemon;
    this.id = id;
  }

  int run() throws Exception {
    // Register as an exit waiter BEFORE starting: with --rm the daemon removes the container right
    // after it answers the waiters of its exit, and a WaitExit arriving after that would only get
    // NOT_FOUND. A fast container can exit before Start's reply even reaches us.
    ListenableFuture<WaitContainerResponse> exit =
        daemon
            .containersFuture()
            .waitContainer(WaitContainerRequest.newBuilder().setRef(id).build());
    CompletableFuture<Integer> outcome = new CompletableFuture<>();
    exit.addListener(
        () -> {
          try {
            outcome.complete(exit.get().getExitCode());
          } catch (ExecutionException e) {
            outcome.completeExceptionally(e.getCause());
          } catch (Throwable t) {
            outcome.completeExceptionally(t);
          }
        },
        MoreExecutors.directExecutor());

    // Attach to the output before starting, as docker does: a follow opened on a created container
    // lasts through its next run, so even the first bytes of a short-lived --rm container arrive.
    Streams.LogPump logs = new Streams.LogPump(root);
    logs.open(daemon, id);
    try {
      daemon.containers().startContainer(StartContainerRequest.newBuilder().setRef(id).build());
    } catch (RuntimeException e) {
      exit.cancel(true);
      logs.cancel();
      throw e;
    }

    SignalProxy proxy = new SignalProxy(outcome);
    proxy.install();
    try {
      int code;
      try {
        code = outcome.get();
      } catch (ExecutionException e) {
        if (e.getCause() instanceof RuntimeException re) throw re;
        throw e;
      }
      logs.awaitEnd(LOG_DRAIN_GRACE_MILLIS);
      logs.reportFailure();
      return code;
    } finally {
      proxy.uninstall();
      logs.cancel();
      // Let an in-flight write finish before the caller flushes and exits.
      logs.awaitEnd(500);
      exit.cancel(true);
    }
  }

  /**
   * docker's sig-proxy: SIGINT/SIGTERM to the CLI become the same signal to the container, whose
   * exit then ends the run normally (with 130/143 from the container). The third signal stops
   * waiting, leaving the container running, so a container that ignores signals cannot trap the
   * terminal.
   */
  private final class SignalProxy {
    private final CompletableFuture<Integer> outcome;
    private final AtomicInteger received = new AtomicInteger();
    private SignalHandler previousInt;
    private SignalHandler previousTerm;

    SignalProxy(CompletableFuture<Integer> outcome) {
      this.outcome = outcome;
    }

    void install() {
      previousInt = handle("INT");
      previousTerm = handle("TERM");
    }

    private SignalHandler handle(String name) {
      try {
        return Signal.handle(new Signal(name), this::onSignal);
      } catch (IllegalArgumentException e) {
        return null; // the JVM reserves the signal (e.g. -Xrs): keep its default behaviour
      }
    }

    private void onSignal(Signal sig) {
      if (received.incrementAndGet() >= SIGNALS_BEFORE_DETACH) {
        root.err()
            .println(
                "Error: container "
                    + Format.shortId(id)
                    + " is still running; stopped waiting for it");
        outcome.complete(128 + sig.getNumber());
        return;
      }
      try {
        daemon
            .containers(10)
            .killContainer(
                KillContainerRequest.newBuilder()
                    .setRef(id)
                    .setSignal("SIG" + sig.getName())
                    .build());
      } catch (StatusRuntimeException e) {
        // The container may have exited (or been removed) in the meantime: its exit code is
        // what the user gets, so there is nothing useful to report about the signal.
      }
    }

    void uninstall() {
      if (previousInt != null) Signal.handle(new Signal("INT"), previousInt);
      if (previousTerm != null) Signal.handle(new Signal("TERM"), previousTerm);
    }
  }
}
