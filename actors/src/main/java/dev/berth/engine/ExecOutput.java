package dev.berth.engine;

import java.nio.ByteBuffer;

/**
 * One piece of an exec's output: bytes the process wrote to stdout or stderr, or, last, its exit
 * code. The buffers are read-only views of what the shim sent (no copy).
 */
public sealed interface ExecOutput {
  record Stdout(ByteBuffer data) implements ExecOutput {}

  record Stderr(ByteBuffer data) implements ExecOutput {}

  record Exited(int exitCode) implements ExecOutput {}
}
