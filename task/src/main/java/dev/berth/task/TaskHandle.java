package dev.berth.task;

import dev.berth.api.shim.v1.ExecChunk;
import dev.berth.api.shim.v1.ExecTaskRequest;
import dev.berth.api.shim.v1.ExitStatus;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/** What a container actor needs from the shim of its running process. */
public interface TaskHandle extends AutoCloseable {
  /** Completes when init exits; fails if the connection to the shim breaks. */
  CompletionStage<ExitStatus> waitExit();

  CompletionStage<?> kill(int signal, boolean all);

  Source<ExecChunk, NotUsed> exec(ExecTaskRequest request);

  /** Deletes the exited task (runc delete, unmount); the shim ends afterwards. */
  CompletionStage<ExitStatus> delete();

  @Override
  void close();
}
