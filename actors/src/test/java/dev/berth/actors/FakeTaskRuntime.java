package dev.berth.actors;

import dev.berth.core.BerthException;
import dev.berth.core.ContainerSpec;
import dev.berth.core.RestartPolicy;
import dev.berth.host.BerthPaths;
import dev.berth.task.ExecChunk;
import dev.berth.task.ExecInfo;
import dev.berth.task.ExecInput;
import dev.berth.task.ExecRequest;
import dev.berth.task.TaskExit;
import dev.berth.task.TaskHandle;
import dev.berth.task.TaskRuntime;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A TaskRuntime whose processes are futures the test completes: drives actors through every state.
 */
final class FakeTaskRuntime implements TaskRuntime {
  final BerthPaths paths =
      new BerthPaths(
          Path.of("/tmp/berth-fake/root"),
          Path.of("/tmp/berth-fake/state"),
          Path.of("/tmp/berth-fake/state/berth.sock"),
          Path.of("/tmp/berth-fake/home"),
          "runc");
  final AtomicInteger pids = new AtomicInteger(1000);
  final Map<String, FakeTask> tasks = new ConcurrentHashMap<>();
  final List<String> calls = new CopyOnWriteArrayList<>();
  volatile String failStartWith;
  volatile CompletableFuture<Observed> nextObservation;

  /**
   * When set, what deleteTask returns (a task cleanup that is still going on until the test
   * completes it).
   */
  volatile CompletableFuture<Void> taskCleanup;

  /** Answers for the next observe calls, in order, before {@link #nextObservation}. */
  final java.util.Queue<Observed> observations = new java.util.concurrent.ConcurrentLinkedQueue<>();

  final class FakeTask implements TaskHandle {
    final int pid = pids.incrementAndGet();
    final CompletableFuture<TaskExit> exit = new CompletableFuture<>();
    final List<Integer> signals = new CopyOnWriteArrayList<>();
    volatile boolean closed;

    /** A process that does not react to signals (kill is recorded, nothing exits). */
    volatile boolean ignoreSignals;

    /** How many of the next kill RPCs fail (a transient shim error). */
    final AtomicInteger failingKills = new AtomicInteger();

    void exit(int code) {
      exit.complete(new TaskExit(code, Instant.now()));
    }

    @Override
    public CompletionStage<TaskExit> waitExit() {
      return exit;
    }

    @Override
    public CompletionStage<Void> kill(int signal, boolean all) {
      signals.add(signal);
      if (failingKills.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        return CompletableFuture.failedFuture(
            new RuntimeException("UNAVAILABLE: failpoint Kill=1*error"));
      }
      if (signal == 9 && !ignoreSignals) exit(137);
      return CompletableFuture.completedFuture(null);
    }

    /** Execs as a shim records them (no process runs: a start reports exit 0 at once). */
    final java.util.Map<String, ExecInfo> execs = new java.util.concurrent.ConcurrentHashMap<>();

    @Override
    public CompletionStage<ExecInfo> createExec(ExecRequest request) {
      ExecInfo info =
          new ExecInfo(
              request.execId(),
              "",
              ExecInfo.State.CREATED,
              0,
              null,
              request.args(),
              request.attachStdin(),
              null,
              null);
      execs.put(request.execId(), info);
      return CompletableFuture.completedFuture(info);
    }

    @Override
    public Source<ExecChunk, NotUsed> startExec(
        String execId, boolean detach, Source<ExecInput, NotUsed> stdin) {
      if (!execs.containsKey(execId)) {
        return Source.failed(BerthException.execNotFound(execId));
      }
      return Source.from(
          List.of(new ExecChunk.Started(4242), new ExecChunk.Exited(0, Instant.now())));
    }

    @Override
    public CompletionStage<ExecInfo> killExec(String execId, int signal) {
      return inspectExec(execId);
    }

    @Override
    public CompletionStage<ExecInfo> inspectExec(String execId) {
      ExecInfo info = execs.get(execId);
      return info == null
          ? CompletableFuture.failedFuture(BerthException.execNotFound(execId))
          : CompletableFuture.completedFuture(info);
    }

    @Override
    public CompletionStage<List<ExecInfo>> listExecs() {
      return CompletableFuture.completedFuture(List.copyOf(execs.values()));
    }

    @Override
    public CompletionStage<Void> delete() {
      return exit.thenApply(x -> null);
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  @Override
  public BerthPaths paths() {
    return paths;
  }

  /**
   * When set, what prepareBundle returns: a bundle that is still being made until the test
   * completes it.
   */
  volatile CompletableFuture<Void> bundlePreparation;

  /** Completed with the container's id by the first prepareBundle call. */
  final CompletableFuture<String> preparing = new CompletableFuture<>();

  /** Per container id: completed once its bundle was removed. */
  final Map<String, CompletableFuture<Void>> bundleRemovals = new ConcurrentHashMap<>();

  CompletableFuture<Void> bundleRemoved(String id) {
    return bundleRemovals.computeIfAbsent(id, k -> new CompletableFuture<>());
  }

  @Override
  public CompletionStage<Void> prepareBundle(ContainerSpec spec) {
    calls.add("prepare " + spec.id());
    bundles.put(spec.id(), spec);
    preparing.complete(spec.id());
    CompletableFuture<Void> pending = bundlePreparation;
    return pending != null ? pending : CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<RunningTask> start(ContainerSpec spec) {
    calls.add("start " + spec.id());
    if (failStartWith != null)
      return CompletableFuture.failedFuture(BerthException.internal(failStartWith));
    FakeTask t = new FakeTask();
    tasks.put(spec.id(), t);
    return CompletableFuture.completedFuture(
        new RunningTask(t.pid, 42, "/tmp/s.sock", Instant.now(), t));
  }

  @Override
  public CompletionStage<Observed> observe(String id) {
    calls.add("observe " + id);
    Observed queued = observations.poll();
    if (queued != null) return CompletableFuture.completedFuture(queued);
    CompletableFuture<Observed> o = nextObservation;
    return o != null ? o : CompletableFuture.completedFuture(new Observed.Lost("no shim"));
  }

  @Override
  public CompletionStage<Void> deleteTask(String id, TaskHandle handleOrNull) {
    calls.add("deleteTask " + id);
    CompletableFuture<Void> pending = taskCleanup;
    return pending != null ? pending : CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<Void> removeBundle(String id) {
    calls.add("removeBundle " + id);
    bundles.remove(id);
    bundleRemoved(id).complete(null);
    return CompletableFuture.completedFuture(null);
  }

  /** Bundles on disk (id -> its recorded spec), whatever the journal says. */
  final Map<String, ContainerSpec> bundles = new ConcurrentHashMap<>();

  @Override
  public CompletionStage<List<String>> bundlesOnDisk() {
    return CompletableFuture.completedFuture(List.copyOf(bundles.keySet()));
  }

  @Override
  public CompletionStage<java.util.Optional<ContainerSpec>> readBundleRecord(String id) {
    return CompletableFuture.completedFuture(java.util.Optional.ofNullable(bundles.get(id)));
  }

  static ContainerSpec spec(String id, String name, boolean autoRemove) {
    return spec(id, name, autoRemove, RestartPolicy.NO);
  }

  static ContainerSpec spec(String id, String name, boolean autoRemove, RestartPolicy restart) {
    return spec(id, name, autoRemove, restart, null);
  }

  static ContainerSpec spec(
      String id, String name, boolean autoRemove, RestartPolicy restart, String requestId) {
    return new ContainerSpec(
        id,
        name,
        "busybox",
        "sha256:abc",
        List.of("sleep", "100"),
        List.of("PATH=/bin"),
        "/",
        0,
        0,
        List.of(),
        "host",
        autoRemove,
        Map.of(),
        Instant.now(),
        restart,
        Map.of(),
        null,
        requestId);
  }
}
