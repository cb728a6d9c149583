package dev.berth.task;

/** One piece of an exec'd process's output, or its end (the last element). */
public sealed interface ExecChunk {
  record Stdout(byte[] data) implements ExecChunk {}

  record Stderr(byte[] data) implements ExecChunk {}

  record Exited(int exitCode) implements ExecChunk {}
}
