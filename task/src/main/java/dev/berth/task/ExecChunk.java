package dev.berth.task;

import java.time.Instant;

/**
 * What a started exec sends: {@link Started} first (the process runs), its output, and last, for an
 * attached start, {@link Exited}.
 */
public sealed interface ExecChunk {
  record Started(int pid) implements ExecChunk {}

  record Stdout(byte[] data) implements ExecChunk {}

  record Stderr(byte[] data) implements ExecChunk {}

  record Exited(int exitCode, Instant finishedAt) implements ExecChunk {}
}
