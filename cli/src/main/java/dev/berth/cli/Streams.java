package dev.berth.cli;

import com.google.protobuf.ByteString;
import dev.berth.api.v1.ContainerLogsRequest;
import dev.berth.api.v1.ContainerLogsResponse;
import dev.berth.api.v1.LogStream;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Copying container output (log entries, exec chunks) to the CLI's own stdout and stderr. */
final class Streams {
  private Streams() {}

  /**
   * Raw bytes, flushed at once: the output is interleaved with the user's terminal in real time.
   */
  static void write(PrintStream target, ByteString data) {
    try {
      data.writeTo(target);
    } catch (IOException e) {
      // PrintStream never throws; it records errors for checkError(), which callers consult.
    }
    target.flush();
  }

  static void write(ContainerLogsResponse entry, PrintStream out, PrintStream err) {
    write(entry.getStream() == LogStream.LOG_STREAM_STDERR ? err : out, entry.getData());
  }

  /**
   * A followed log stream for an attached `run`, read asynchronously while the main thread waits
   * for the exit code, and cancellable once that code is known.
   */
  static final class LogPump
      implements ClientResponseObserver<ContainerLogsRequest, ContainerLogsResponse> {
    private final BerthCli root;
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile ClientCallStreamObserver<ContainerLogsRequest> call;
    private volatile Throwable failure;

    LogPump(BerthCli root) {
      this.root = root;
    }

    void open(Daemon daemon, String id) {
      daemon
          .containersAsync()
          .containerLogs(
              ContainerLogsRequest.newBuilder().setRef(id).setFollow(true).build(), this);
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ContainerLogsRequest> requestStream) {
      call = requestStream;
    }

    @Override
    public void onNext(ContainerLogsResponse entry) {
      write(entry, root.out(), root.err());
    }

    @Override
    public void onError(Throwable t) {
      Status.Code code = Status.fromThrowable(t).getCode();
      // CANCELLED is our own cancel. NOT_FOUND means a --rm container was already removed when the
      // stream opened: its output is gone, but the exit code still arrives through WaitExit.
      if (code != Status.Code.CANCELLED && code != Status.Code.NOT_FOUND) {
        failure =
            t instanceof StatusRuntimeException ? t : Status.fromThrowable(t).asRuntimeException();
      }
      ended.countDown();
    }

    /**
     * Prints why the output stream broke, if it did. Called only when the run itself ended well: a
     * lost daemon breaks both the output and the exit wait, and the user hears of it once.
     */
    void reportFailure() {
      Throwable t = failure;
      if (t != null) root.err().println(root.describe(t));
    }

    @Override
    public void onCompleted() {
      ended.countDown();
    }

    boolean awaitEnd(long millis) throws InterruptedException {
      return ended.await(millis, TimeUnit.MILLISECONDS);
    }

    void cancel() {
      ClientCallStreamObserver<ContainerLogsRequest> c = call;
      if (c != null && ended.getCount() > 0) c.cancel("attached run finished", null);
    }
  }
}
