package dev.berth.task;

import java.time.Instant;

/** How a task's init process ended, as its shim reported it. */
public record TaskExit(int exitCode, Instant exitedAt) {}
