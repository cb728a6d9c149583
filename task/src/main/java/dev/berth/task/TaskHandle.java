package dev.berth.task;

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

  Source<ExecChunk, NotUsed> exec(ExecRequest request);

  /** Deletes the exited task (runc delete, unmount); the shim ends afterwards. */
  CompletionStage<Void> delete();

  @Override
  void close();
}
