package dev.berth.task;

import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * What a container's run monitor needs from the shim of its running process. Domain types only: the
 * shim's protocol stays inside this module ({@link ShimClient} converts).
 */
public interface TaskHandle extends AutoCloseable {
  /** Completes when init exits; fails if the connection to the shim breaks. */
  CompletionStage<TaskExit> waitExit();

  /** Completes when the shim has delivered the signal; fails if it could not. */
  CompletionStage<Void> kill(int signal, boolean all);

  /** Records an exec in the running container (nothing runs yet). */
  CompletionStage<ExecInfo> createExec(ExecRequest request);

  /**
   * Starts a created exec when the Source runs: {@link ExecChunk.Started}, then (attached) its
   * output under back-pressure and {@link ExecChunk.Exited}; detached, the Source completes after
   * Started and the process runs on. Cancelling an attached start kills the process (SIGKILL).
   * {@code stdin} feeds an exec created with attachStdin (it is not run otherwise).
   */
  Source<ExecChunk, NotUsed> startExec(
      String execId, boolean detach, Source<ExecInput, NotUsed> stdin);

  CompletionStage<ExecInfo> killExec(String execId, int signal);

  CompletionStage<ExecInfo> inspectExec(String execId);

  /** The container's execs: created, running, and the newest exited ones. */
  CompletionStage<List<ExecInfo>> listExecs();

  /** Deletes the exited task (runc delete, unmount); the shim ends afterwards. */
  CompletionStage<Void> delete();

  @Override
  void close();
}
