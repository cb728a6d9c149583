package dev.berth.engine;

import dev.berth.actors.ContainerActor;
import dev.berth.actors.ContainerSupervisor;
import dev.berth.core.BerthException;
import dev.berth.core.Defaults;
import dev.berth.core.Signals;
import dev.berth.task.ExecChunk;
import dev.berth.task.ExecInfo;
import dev.berth.task.ExecInput;
import dev.berth.task.ExecRequest;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The domain's front door for execs (processes run in a running container, each a resource with an
 * id), as {@link Containers} is for containers: plain requests in, {@link ExecInfo}s and {@link
 * ExecChunk}s out, failures as {@link BerthException}s in the stage or Source.
 *
 * <p>An exec lives in its container's shim, which keeps its record (at most 64 created or running
 * per container, the 64 newest exited), so a daemon restart loses none; it ends with its
 * container's run. Its id is 32 hex digits: the first 16 of its container's id and 16 random ones,
 * so an id alone finds its container.
 *
 * <p>{@link #start}: attached, the Source carries Started, the output (back-pressured down to the
 * process: a slow consumer slows the process, nothing is dropped) and Exited; cancelling it (the
 * client went away) SIGKILLs the process, recorded as 137. Detached, it ends after Started and the
 * process runs on.
 */
public final class Execs {
  /** The largest stdin chunk a start takes. */
  public static final int MAX_STDIN_CHUNK = 1 << 20;

  private static final Duration ASK = Duration.ofSeconds(60);
  private static final int CONTAINER_PART = 16;
  private static final SecureRandom RANDOM = new SecureRandom();

  // Limits as for a container's process (containers.proto)
  private static final int MAX_ARGS = 1024;
  private static final int MAX_ARGS_BYTES = 256 * 1024;
  private static final int MAX_ENV = 1024;
  private static final int MAX_ENV_ENTRY = 32 * 1024;
  private static final int MAX_ENV_BYTES = 256 * 1024;
  private static final int MAX_PATH = 4096;

  /**
   * {@code container}: its ref (id, name or unique id prefix); {@code env} KEY=VALUE over the
   * container's; {@code user} uid[:gid], empty for the container's; {@code tty} is not supported
   * yet.
   */
  public record Create(
      String container,
      List<String> args,
      List<String> env,
      String workingDir,
      String user,
      boolean tty,
      boolean attachStdin) {}

  private final ActorSystem<?> system;
  private final ActorRef<ContainerSupervisor.Command> supervisor;

  public Execs(ActorSystem<?> system, ActorRef<ContainerSupervisor.Command> supervisor) {
    this.system = system;
    this.supervisor = supervisor;
  }

  /** Records an exec in a running container; nothing runs until {@link #start}. */
  public CompletionStage<ExecInfo> create(Create r) {
    try {
      validate(r);
    } catch (BerthException e) {
      return CompletableFuture.failedFuture(e);
    }
    return target(r.container())
        .thenCompose(
            t -> {
              String id =
                  t.containerId().substring(0, Math.min(CONTAINER_PART, t.containerId().length()))
                      + HexFormat.of().formatHex(randomBytes(8));
              return t.handle()
                  .createExec(
                      new ExecRequest(
                          id,
                          List.copyOf(r.args()),
                          List.copyOf(r.env()),
                          nullToEmpty(r.workingDir()),
                          nullToEmpty(r.user()),
                          r.attachStdin()));
            });
  }

  /**
   * Starts a created exec when the Source runs. {@code stdin} feeds an exec created with
   * attachStdin (chunks up to {@link #MAX_STDIN_CHUNK}; the adapter checks); it is not run
   * otherwise.
   */
  public Source<ExecChunk, NotUsed> start(
      String execId, boolean detach, Source<ExecInput, NotUsed> stdin) {
    return Source.completionStageSource(
            targetOf(execId).thenApply(t -> t.handle().startExec(execId, detach, stdin)))
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  /** {@code signal}: a name or number, null or blank for SIGKILL; the exec must be running. */
  public CompletionStage<ExecInfo> kill(String execId, String signal) {
    int sig;
    try {
      sig = Signals.parse(signal, Defaults.KILL_SIGNAL);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return targetOf(execId).thenCompose(t -> t.handle().killExec(execId, sig));
  }

  public CompletionStage<ExecInfo> inspect(String execId) {
    return targetOf(execId).thenCompose(t -> t.handle().inspectExec(execId));
  }

  /**
   * A container's execs: created, running and the newest exited; none for a container that is not
   * running (its execs ended with its run).
   */
  public CompletionStage<List<ExecInfo>> list(String container) {
    CompletableFuture<List<ExecInfo>> out = new CompletableFuture<>();
    target(container)
        .whenComplete(
            (t, e) -> {
              if (e == null) {
                t.handle()
                    .listExecs()
                    .whenComplete(
                        (l, e2) -> {
                          if (e2 != null) out.completeExceptionally(e2);
                          else out.complete(l);
                        });
                return;
              }
              BerthException b = BerthException.from(e);
              if (b.reason() == BerthException.Reason.INVALID_STATE) out.complete(List.of());
              else out.completeExceptionally(b);
            });
    return out;
  }

  /** The running container an exec id names; EXEC_NOT_FOUND if none (or not running). */
  private CompletionStage<ContainerActor.ExecTarget> targetOf(String execId) {
    if (execId == null || !execId.matches("[0-9a-f]{32}")) {
      return CompletableFuture.failedFuture(BerthException.execNotFound(execId));
    }
    String prefix = execId.substring(0, CONTAINER_PART);
    CompletableFuture<ContainerActor.ExecTarget> out = new CompletableFuture<>();
    target(prefix)
        .whenComplete(
            (t, e) -> {
              if (e != null) {
                BerthException b = BerthException.from(e);
                boolean gone =
                    b.reason() == BerthException.Reason.CONTAINER_NOT_FOUND
                        || b.reason() == BerthException.Reason.INVALID_STATE
                        || b.reason() == BerthException.Reason.AMBIGUOUS_REFERENCE
                        || b.code() == BerthException.Code.INVALID_ARGUMENT;
                out.completeExceptionally(gone ? BerthException.execNotFound(execId) : b);
              } else if (!t.containerId().startsWith(prefix)) {
                out.completeExceptionally(BerthException.execNotFound(execId)); // a name, not it
              } else {
                out.complete(t);
              }
            });
    return out;
  }

  private CompletionStage<ContainerActor.ExecTarget> target(String ref) {
    return AskPattern.askWithStatus(
        supervisor,
        (ActorRef<StatusReply<ContainerActor.ExecTarget>> to) ->
            new ContainerSupervisor.Forward(ref, new ContainerActor.OpenExecs(to)),
        ASK,
        system.scheduler());
  }

  private static void validate(Create r) {
    if (r.tty()) {
      throw BerthException.unsupported("exec on a terminal (tty) is not supported yet");
    }
    if (r.args() == null || r.args().isEmpty() || r.args().get(0).isEmpty()) {
      throw BerthException.invalidField("args", "exec needs a command");
    }
    if (r.args().size() > MAX_ARGS || bytes(r.args()) > MAX_ARGS_BYTES) {
      throw BerthException.invalidField(
          "args", "too many or too long args (at most " + MAX_ARGS + ", 256 KiB in all)");
    }
    List<String> env = r.env() == null ? List.of() : r.env();
    if (env.size() > MAX_ENV || bytes(env) > MAX_ENV_BYTES) {
      throw BerthException.invalidField(
          "env", "too many or too long env entries (at most " + MAX_ENV + ", 256 KiB in all)");
    }
    for (String kv : env) {
      if (kv.length() > MAX_ENV_ENTRY) {
        throw BerthException.invalidField("env", "an env entry is longer than 32 KiB");
      }
      if (kv.isEmpty() || kv.startsWith("=") || kv.indexOf('\0') >= 0) {
        throw BerthException.invalidField(
            "env", "env entries are KEY=VALUE, got " + BerthException.quote(kv));
      }
    }
    if (nullToEmpty(r.workingDir()).length() > MAX_PATH) {
      throw BerthException.invalidField("working_dir", "working_dir is longer than 4096");
    }
    if (nullToEmpty(r.user()).length() > MAX_PATH) {
      throw BerthException.invalidField("user", "user is longer than 4096");
    }
  }

  private static long bytes(List<String> values) {
    long n = 0;
    for (String v : values) n += v.getBytes(StandardCharsets.UTF_8).length;
    return n;
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    return b;
  }
}
