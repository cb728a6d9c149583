package dev.berth.shim;

import dev.berth.runtime.files.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;

/**
 * exit.json in the shim's state dir: {"exitCode":N,"exitedAt":"RFC3339 nanos","pid":P}. Written
 * atomically before any WaitExit caller is answered, so the file is the durable truth about the
 * exit even when the daemon is down at that moment.
 */
final class ExitFile {
  static final String NAME = "exit.json";

  /** One exit of the init process. */
  record ExitRecord(int pid, int exitCode, Instant exitedAt) {
    String exitedAtText() {
      return Timestamps.format(exitedAt);
    }

    String toJson() {
      StringBuilder sb = new StringBuilder(96);
      sb.append("{\"exitCode\":").append(exitCode).append(",\"exitedAt\":");
      Json.quote(sb, exitedAtText());
      return sb.append(",\"pid\":").append(pid).append("}\n").toString();
    }
  }

  private ExitFile() {}

  static void write(Path stateDir, ExitRecord record) throws IOException {
    AtomicFiles.write(stateDir.resolve(NAME), record.toJson());
  }
}
