package dev.berth.tools.shim;

import dev.berth.api.shim.v1.CreateExecRequest;
import dev.berth.api.shim.v1.CreateTaskRequest;
import dev.berth.api.shim.v1.DeleteTaskRequest;
import dev.berth.api.shim.v1.ExecEvent;
import dev.berth.api.shim.v1.ExecInput;
import dev.berth.api.shim.v1.KillTaskRequest;
import dev.berth.api.shim.v1.ListExecsRequest;
import dev.berth.api.shim.v1.Mount;
import dev.berth.api.shim.v1.PidsRequest;
import dev.berth.api.shim.v1.ShutdownRequest;
import dev.berth.api.shim.v1.StartTaskRequest;
import dev.berth.api.shim.v1.StateTaskRequest;
import dev.berth.api.shim.v1.TaskGrpc;
import dev.berth.api.shim.v1.WaitTaskRequest;
import dev.berth.runtime.files.FileTrees;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Operator tool around a shim, not part of the shim's runtime path.
 *
 * <ul>
 *   <li>{@code train SOCKET WORKDIR}: the AppCDS training workload (ops/shim-cds.sh). Runs the
 *       common path against a started shim: State, then (as root, with /bin/busybox) Create on a
 *       busybox bundle, Start, CreateExec, StartExec, ListExecs, Pids, Kill, WaitExit, Delete,
 *       after which the shim exits by itself. Without root or busybox it only calls State and the
 *       caller SIGTERMs the shim.
 *   <li>{@code bench LAUNCHER RUNS}: starts the shim RUNS times through LAUNCHER and prints the
 *       time from process start to the first answered RPC, and the PSS of the idle shim.
 * </ul>
 */
public final class ShimProbe {
  private ShimProbe() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 3 && args[0].equals("train")) {
      boolean exited = train(Path.of(args[1]), Path.of(args[2]));
      System.out.println(exited ? "full cycle done; shim exited after Delete" : "state only");
    } else if (args.length == 3 && args[0].equals("bench")) {
      bench(Path.of(args[1]), Integer.parseInt(args[2]));
    } else {
      System.err.println("usage: ShimProbe train SOCKET WORKDIR | bench LAUNCHER RUNS");
      System.exit(2);
    }
  }

  /** Returns true when it ran the full cycle (the shim then exits on its own). */
  static boolean train(Path socket, Path work) throws Exception {
    try (ShimClient client = new ShimClient(socket)) {
      TaskGrpc.TaskBlockingStub shim = client.blocking(60, TimeUnit.SECONDS);
      shim.state(StateTaskRequest.getDefaultInstance());
      if (!"root".equals(System.getProperty("user.name"))
          || !Files.isExecutable(BusyboxBundle.BUSYBOX)) {
        return false;
      }
      Path src = BusyboxBundle.rootfsSource(work);
      Path bundle = BusyboxBundle.bundle(work, "bundle", List.of("sleep", "30"));
      shim.create(
          CreateTaskRequest.newBuilder()
              .setBundle(bundle.toString())
              .addRootfs(
                  Mount.newBuilder().setType("bind").setSource(src.toString()).addOptions("rbind"))
              .setLogPath(work.resolve("container.log").toString())
              .build());
      shim.start(StartTaskRequest.getDefaultInstance());
      shim.createExec(
          CreateExecRequest.newBuilder()
              .setExecId("train")
              .addArgs("echo")
              .addArgs("trained")
              .build());
      CompletableFuture<Void> done = new CompletableFuture<>();
      StreamObserver<ExecInput> requests =
          client
              .async()
              .startExec(
                  new StreamObserver<ExecEvent>() {
                    @Override
                    public void onNext(ExecEvent e) {}

                    @Override
                    public void onError(Throwable t) {
                      done.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                      done.complete(null);
                    }
                  });
      requests.onNext(ExecInput.newBuilder().setExecId("train").build());
      requests.onCompleted();
      done.get(60, TimeUnit.SECONDS);
      shim.listExecs(ListExecsRequest.getDefaultInstance());
      shim.pids(PidsRequest.getDefaultInstance());
      shim.state(StateTaskRequest.getDefaultInstance());
      shim.kill(KillTaskRequest.newBuilder().setSignal(9).build());
      shim.waitExit(WaitTaskRequest.getDefaultInstance());
      shim.delete(DeleteTaskRequest.getDefaultInstance());
      return true;
    }
  }

  static void bench(Path launcher, int runs) throws Exception {
    List<Long> startMs = new ArrayList<>();
    List<Long> pssKb = new ArrayList<>();
    for (int i = 0; i <= runs; i++) {
      Path dir = Files.createTempDirectory(Path.of("/tmp"), "bs-bench-");
      Path socket = dir.resolve("s.sock");
      long t0 = System.nanoTime();
      Process shim =
          new ProcessBuilder(
                  launcher.toString(),
                  "--id",
                  "bench" + i,
                  "--state-dir",
                  dir.resolve("state").toString(),
                  "--socket",
                  socket.toString(),
                  "--runtime",
                  "runc",
                  "--runtime-root",
                  dir.resolve("runc").toString())
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("shim.log").toFile())
              .start();
      try (ShimClient client = new ShimClient(socket)) {
        while (!accepts(socket)) {
          if (!shim.isAlive()) {
            throw new IOException("shim died: " + Files.readString(dir.resolve("shim.log")));
          }
          Thread.sleep(1);
        }
        client.blocking(10, TimeUnit.SECONDS).state(StateTaskRequest.getDefaultInstance());
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        Thread.sleep(3000);
        long pss = pssKb(shim.pid());
        if (i > 0) { // the first run only warms the page cache
          startMs.add(ms);
          pssKb.add(pss);
        }
        System.out.printf("run %d: first RPC after %d ms, idle PSS %d KiB%n", i, ms, pss);
        client
            .blocking(10, TimeUnit.SECONDS)
            .shutdown(ShutdownRequest.newBuilder().setNow(true).build());
      } finally {
        if (!shim.waitFor(5, TimeUnit.SECONDS)) {
          shim.destroyForcibly();
        }
        FileTrees.deleteRecursively(dir);
      }
    }
    System.out.printf(
        "median: first RPC %d ms, idle PSS %.1f MiB (%d runs)%n",
        median(startMs), median(pssKb) / 1024.0, runs);
  }

  private static boolean accepts(Path socket) {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static long pssKb(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
      if (line.startsWith("Pss:")) {
        return Long.parseLong(line.replaceAll("\\D", ""));
      }
    }
    return -1;
  }

  private static long median(List<Long> values) {
    List<Long> sorted = new ArrayList<>(values);
    sorted.sort(null);
    return sorted.isEmpty() ? -1 : sorted.get(sorted.size() / 2);
  }
}
