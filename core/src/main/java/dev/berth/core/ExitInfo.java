package dev.berth.core;

import java.time.Instant;

/** How a container's init process ended. exitCode -1 means unknown (the process was lost). */
public record ExitInfo(String id, int exitCode, Instant finishedAt) {}
