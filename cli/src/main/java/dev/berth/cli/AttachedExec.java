package dev.berth.cli;

import com.google.protobuf.ByteString;
import dev.berth.api.v1.StartExecRequest;
import dev.berth.api.v1.StartExecResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * `exec` without -d: StartExec attached. The process's output is written as it comes (a slow
 * terminal slows the stream: grpc asks for the next message only once a write returned); with -i
 * the CLI's stdin is sent in chunks of at most {@value #STDIN_CHUNK} bytes, each only when the call
 * can take it (isReady / onReady), and close_stdin at its end. Ctrl-C (or SIGTERM) cancels the
 * call, and the daemon then kills the process. The result is the process's exit code (128 + the
 * signal's number after a cancel, as a shell reports it).
 */
final class AttachedExec implements ClientResponseObserver<StartExecRequest, StartExecResponse> {
  /** The largest stdin chunk sent in one request (the daemon takes up to 1 MiB). */
  static final int STDIN_CHUNK = 64 * 1024;

  private final BerthCli root;
  private final Daemon daemon;
  private final String id;
  private final InputStream stdin;
  private final CompletableFuture<Integer> outcome = new CompletableFuture<>();
  private final Object ready = new Object();
  private volatile ClientCallStreamObserver<StartExecRequest> call;

  /** stdin null: the process gets no stdin (it reads /dev/null). */
  AttachedExec(BerthCli root, Daemon daemon, String id, InputStream stdin) {
    this.root = root;
    this.daemon = daemon;
    this.id = id;
    this.stdin = stdin;
  }

  int run() throws Exception {
    daemon.execAsync().startExec(this);
    ClientCallStreamObserver<StartExecRequest> c = call;
    c.onNext(StartExecRequest.newBuilder().setExecId(id).build());
    // The request stream stays open (no half-close) until the daemon ends the call with `exited`:
    // a grpc-java server sees a client's cancel on its request observer (onError) only while the
    // client has not half-closed, and a cancel must always reach the daemon (it kills the process).
    if (stdin != null) {
      Thread pump = new Thread(this::pumpStdin, "berth-exec-stdin");
      pump.setDaemon(true); // blocked in read(2) when the process exits first: never waited for
      pump.start();
    }
    SignalHandler previousInt = handle("INT");
    SignalHandler previousTerm = handle("TERM");
    try {
      return outcome.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) throw re;
      throw e;
    } finally {
      if (previousInt != null) Signal.handle(new Signal("INT"), previousInt);
      if (previousTerm != null) Signal.handle(new Signal("TERM"), previousTerm);
      wake();
    }
  }

  private SignalHandler handle(String name) {
    try {
      return Signal.handle(new Signal(name), this::onSignal);
    } catch (IllegalArgumentException e) {
      return null; // the JVM reserves the signal (e.g. -Xrs): keep its default behaviour
    }
  }

  /** Ctrl-C: cancel the call (the daemon kills the process) and exit like a shell would. */
  private void onSignal(Signal sig) {
    if (outcome.complete(128 + sig.getNumber())) {
      call.cancel("interrupted (SIG" + sig.getName() + ")", null);
    }
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<StartExecRequest> requestStream) {
    call = requestStream;
    requestStream.setOnReadyHandler(this::wake);
  }

  @Override
  public void onNext(StartExecResponse r) {
    switch (r.getEventCase()) {
      case STDOUT -> Streams.write(root.out(), r.getStdout());
      case STDERR -> Streams.write(root.err(), r.getStderr());
      case EXITED -> outcome.complete(r.getExited().getExitCode());
      default -> {} // started (the pid), or a message this client does not know
    }
  }

  @Override
  public void onError(Throwable t) {
    outcome.completeExceptionally(
        t instanceof StatusRuntimeException ? t : Status.fromThrowable(t).asRuntimeException());
    wake();
  }

  @Override
  public void onCompleted() {
    outcome.completeExceptionally(new CliException("exec stream ended without an exit code"));
    wake();
  }

  private void wake() {
    synchronized (ready) {
      ready.notifyAll();
    }
  }

  /** Waits until the call can take a message; false once the exec is over. */
  private boolean awaitReady() throws InterruptedException {
    synchronized (ready) {
      while (!outcome.isDone() && !call.isReady()) ready.wait(1000);
    }
    return !outcome.isDone();
  }

  /** The only sender after the first request: stdin, chunk by chunk, then close_stdin. */
  private void pumpStdin() {
    byte[] buf = new byte[STDIN_CHUNK];
    try {
      while (true) {
        int n;
        try {
          n = stdin.read(buf);
        } catch (IOException e) {
          root.err().println("Error: cannot read stdin: " + BerthCli.oneLine(String.valueOf(e)));
          n = -1; // the process sees the end of its input
        }
        if (!awaitReady()) return;
        if (n < 0) {
          call.onNext(StartExecRequest.newBuilder().setCloseStdin(true).build());
          return;
        }
        if (n > 0) {
          call.onNext(
              StartExecRequest.newBuilder().setStdin(ByteString.copyFrom(buf, 0, n)).build());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IllegalStateException | StatusRuntimeException e) {
      // the call ended (cancelled or closed) meanwhile: nothing more to send
    }
  }
}
