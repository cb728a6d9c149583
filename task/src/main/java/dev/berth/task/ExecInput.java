package dev.berth.task;

/** Bytes for an attached exec's stdin; {@code close}: stdin ends after them. */
public record ExecInput(byte[] stdin, boolean close) {}
