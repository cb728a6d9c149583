package dev.berth.task;

import java.util.List;

/**
 * A process to run inside a running container ({@code user}: uid[:gid], "" for the image's; {@code
 * attachStdin}: its stdin is fed by the start's {@link ExecInput}s, otherwise /dev/null).
 */
public record ExecRequest(
    String execId,
    List<String> args,
    List<String> env,
    String cwd,
    String user,
    boolean attachStdin) {}
