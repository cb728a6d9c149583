package dev.berth.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.actors.ContainerActor;
import dev.berth.actors.ContainerSupervisor;
import dev.berth.core.BerthException;
import dev.berth.task.ExecChunk;
import dev.berth.task.ExecInfo;
import dev.berth.task.ExecInput;
import dev.berth.task.ExecRequest;
import dev.berth.task.TaskExit;
import dev.berth.task.TaskHandle;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The execs facade's own rules: ids, validation, resolution, before and around the shim. */
class ExecsTest {
  static final ActorTestKit kit = ActorTestKit.create();
  static final String CONTAINER = "0123456789abcdef" + "f".repeat(48);

  TestProbe<ContainerSupervisor.Command> supervisor;
  Execs execs;
  Handle handle;

  @AfterAll
  static void shutdown() {
    kit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    supervisor = kit.createTestProbe();
    execs = new Execs(kit.system(), supervisor.getRef());
    handle = new Handle();
  }

  /** The supervisor's answer to the next OpenExecs: the running container, or a failure. */
  private String answer(StatusReply<ContainerActor.ExecTarget> reply) {
    ContainerSupervisor.Forward f =
        supervisor.expectMessageClass(ContainerSupervisor.Forward.class);
    ContainerActor.OpenExecs open = assertInstanceOf(ContainerActor.OpenExecs.class, f.request());
    open.replyTo().tell(reply);
    return f.ref();
  }

  private static BerthException failure(CompletionStage<?> stage) throws Exception {
    try {
      stage.toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return assertInstanceOf(BerthException.class, e.getCause());
    }
    throw new AssertionError("the stage did not fail");
  }

  private static <T> T value(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  private static Execs.Create create(List<String> args, boolean tty) {
    return new Execs.Create("web", args, List.of("A=1"), "", "", tty, false);
  }

  @Test
  void an_exec_id_is_16_hex_of_its_container_and_16_random_ones() throws Exception {
    var first = execs.create(create(List.of("true"), false));
    assertEquals(
        "web", answer(StatusReply.success(new ContainerActor.ExecTarget(CONTAINER, handle))));
    var second = execs.create(create(List.of("true"), false));
    answer(StatusReply.success(new ContainerActor.ExecTarget(CONTAINER, handle)));
    String a = value(first).id();
    String b = value(second).id();
    assertTrue(a.matches("0123456789abcdef[0-9a-f]{16}"), a);
    assertTrue(b.matches("0123456789abcdef[0-9a-f]{16}"), b);
    assertTrue(!a.equals(b));
    assertEquals(List.of("A=1"), handle.created.get(0).env());
  }

  @Test
  void tty_and_empty_commands_and_bad_env_are_refused_before_any_actor_is_asked() throws Exception {
    assertEquals(
        BerthException.Reason.UNSUPPORTED,
        failure(execs.create(create(List.of("sh"), true))).reason());
    assertEquals("args", failure(execs.create(create(List.of(), false))).field());
    assertEquals(
        "env",
        failure(
                execs.create(
                    new Execs.Create("web", List.of("true"), List.of("=x"), "", "", false, false)))
            .field());
    supervisor.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void an_exec_id_finds_its_container_by_its_first_16_hex() throws Exception {
    String id = "0123456789abcdef" + "0011223344556677";
    var info = execs.inspect(id);
    assertEquals(
        "0123456789abcdef",
        answer(StatusReply.success(new ContainerActor.ExecTarget(CONTAINER, handle))));
    assertEquals(id, value(info).id());

    // malformed: not found, nobody asked
    assertEquals(BerthException.Reason.EXEC_NOT_FOUND, failure(execs.inspect("nope")).reason());
    supervisor.expectNoMessage(Duration.ofMillis(100));

    // its container gone or stopped: the exec is not found either
    var gone = execs.kill(id, "");
    answer(StatusReply.error(BerthException.containerNotFound("0123456789abcdef")));
    assertEquals(BerthException.Reason.EXEC_NOT_FOUND, failure(gone).reason());
    var stopped = execs.inspect(id);
    answer(StatusReply.error(BerthException.precondition("container web is not running")));
    assertEquals(BerthException.Reason.EXEC_NOT_FOUND, failure(stopped).reason());

    // a container *named* like the prefix is not the exec's container
    var named = execs.inspect(id);
    answer(StatusReply.success(new ContainerActor.ExecTarget("ab".repeat(32), handle)));
    assertEquals(BerthException.Reason.EXEC_NOT_FOUND, failure(named).reason());
  }

  @Test
  void a_stopped_container_lists_no_execs_and_bad_signals_are_refused() throws Exception {
    var list = execs.list("web");
    answer(StatusReply.error(BerthException.precondition("container web is not running")));
    assertEquals(List.of(), value(list));
    var missing = execs.list("nothing");
    answer(StatusReply.error(BerthException.containerNotFound("nothing")));
    assertEquals(BerthException.Reason.CONTAINER_NOT_FOUND, failure(missing).reason());
    assertEquals(
        BerthException.Code.INVALID_ARGUMENT,
        failure(execs.kill("0123456789abcdef0011223344556677", "SIGNOPE")).code());
  }

  @Test
  void kill_defaults_to_sigkill() throws Exception {
    var killed = execs.kill("0123456789abcdef0011223344556677", null);
    answer(StatusReply.success(new ContainerActor.ExecTarget(CONTAINER, handle)));
    value(killed);
    assertEquals(List.of(9), handle.signals);
  }

  /** A shim connection that records what it is asked. */
  static final class Handle implements TaskHandle {
    final List<ExecRequest> created = new CopyOnWriteArrayList<>();
    final List<Integer> signals = new CopyOnWriteArrayList<>();

    private static ExecInfo info(String id) {
      return new ExecInfo(
          id, CONTAINER, ExecInfo.State.CREATED, 0, null, List.of("true"), false, null, null);
    }

    @Override
    public CompletionStage<TaskExit> waitExit() {
      return new CompletableFuture<>();
    }

    @Override
    public CompletionStage<Void> kill(int signal, boolean all) {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<ExecInfo> createExec(ExecRequest request) {
      created.add(request);
      return CompletableFuture.completedFuture(info(request.execId()));
    }

    @Override
    public Source<ExecChunk, NotUsed> startExec(
        String execId, boolean detach, Source<ExecInput, NotUsed> stdin) {
      return Source.single(new ExecChunk.Started(1));
    }

    @Override
    public CompletionStage<ExecInfo> killExec(String execId, int signal) {
      signals.add(signal);
      return CompletableFuture.completedFuture(info(execId));
    }

    @Override
    public CompletionStage<ExecInfo> inspectExec(String execId) {
      return CompletableFuture.completedFuture(info(execId));
    }

    @Override
    public CompletionStage<List<ExecInfo>> listExecs() {
      return CompletableFuture.completedFuture(List.of());
    }

    @Override
    public CompletionStage<Void> delete() {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public void close() {}
  }
}
