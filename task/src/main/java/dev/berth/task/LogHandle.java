package dev.berth.task;

import java.nio.file.Path;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/**
 * Where a container's json-lines log is, and when following it may stop (the current run's exit).
 */
public record LogHandle(Path file, CompletionStage<Done> exited) {}
