package dev.berth.cli;

/**
 * A failure the CLI detected itself (bad input, protocol surprise): printed as one "Error:" line.
 */
final class CliException extends RuntimeException {
  private final int exitCode;

  CliException(String message) {
    this(message, BerthCli.EXIT_ERROR);
  }

  CliException(String message, int exitCode) {
    super(message);
    this.exitCode = exitCode;
  }

  int exitCode() {
    return exitCode;
  }
}
