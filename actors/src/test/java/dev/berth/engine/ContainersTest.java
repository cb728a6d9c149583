package dev.berth.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.actors.ContainerActor;
import dev.berth.actors.ContainerSupervisor;
import dev.berth.core.BerthException;
import dev.berth.core.RestartPolicy;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The facade's own rules: parsing, defaults, and refusing bad input before any actor is asked. */
class ContainersTest {
  static final ActorTestKit kit = ActorTestKit.create();

  TestProbe<ContainerSupervisor.Command> supervisor;
  Containers containers;

  @AfterAll
  static void shutdown() {
    kit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    supervisor = kit.createTestProbe();
    containers = new Containers(kit.system(), supervisor.getRef(), Executors.newCachedThreadPool());
  }

  private ContainerActor.Request forwarded(String ref) {
    ContainerSupervisor.Forward f =
        supervisor.expectMessageClass(ContainerSupervisor.Forward.class);
    assertEquals(ref, f.ref());
    return f.request();
  }

  private static BerthException failure(CompletionStage<?> stage) throws Exception {
    try {
      stage.toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return assertInstanceOf(BerthException.class, e.getCause());
    }
    throw new AssertionError("the stage did not fail");
  }

  @Test
  void kill_and_stop_apply_the_defaults() {
    containers.kill(new Containers.Kill("web", ""));
    assertEquals(9, ((ContainerActor.Kill) forwarded("web")).signal());
    containers.kill(new Containers.Kill("web", "sighup"));
    assertEquals(1, ((ContainerActor.Kill) forwarded("web")).signal());
    containers.stop(new Containers.Stop("db", null, null));
    ContainerActor.Stop stop = (ContainerActor.Stop) forwarded("db");
    assertEquals(15, stop.signal());
    assertEquals(Duration.ofSeconds(10), stop.timeout());
    containers.stop(new Containers.Stop("db", "INT", Duration.ZERO));
    stop = (ContainerActor.Stop) forwarded("db");
    assertEquals(2, stop.signal());
    assertEquals(Duration.ZERO, stop.timeout());
  }

  @Test
  void bad_signals_and_restart_policies_fail_without_asking() throws Exception {
    BerthException kill = failure(containers.kill(new Containers.Kill("web", "FOO")));
    assertEquals(BerthException.Code.INVALID_ARGUMENT, kill.code());
    assertEquals("invalid signal: FOO", kill.getMessage());
    BerthException stop = failure(containers.stop(new Containers.Stop("web", "0", null)));
    assertEquals("invalid signal: 0", stop.getMessage());
    BerthException create = failure(containers.create(create("sometimes", 0)));
    assertEquals(
        "invalid restart policy \"sometimes\": use no, on-failure[:MAX], always or unless-stopped",
        create.getMessage());
    supervisor.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void create_parses_the_restart_policy() {
    containers.create(create("on-failure", 3));
    ContainerSupervisor.Create c = supervisor.expectMessageClass(ContainerSupervisor.Create.class);
    assertEquals(new RestartPolicy("on-failure", 3), c.params().restart());
    assertEquals("job", c.params().name());
    containers.create(create("", 0));
    assertTrue(
        supervisor.expectMessageClass(ContainerSupervisor.Create.class).params().restart().isNo());
  }

  @Test
  void a_bad_request_id_fails_without_asking() throws Exception {
    Containers.Create c = create("", 0);
    for (String bad : List.of("k".repeat(129), "new\nline", "ü")) {
      BerthException e =
          failure(
              containers.create(
                  new Containers.Create(
                      c.image(),
                      c.name(),
                      c.entrypoint(),
                      c.cmd(),
                      c.env(),
                      c.workingDir(),
                      c.user(),
                      c.autoRemove(),
                      c.hostname(),
                      c.labels(),
                      c.restartPolicy(),
                      c.restartMaxRetries(),
                      c.failpoints(),
                      c.securityOpts(),
                      bad)));
      assertEquals("request_id", e.field());
      assertTrue(e.getMessage().length() < 200, e.getMessage());
    }
    supervisor.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void a_wait_is_answered_by_its_waiter_and_a_cancelled_one_stops_it() throws Exception {
    var answered = containers.waitExit("web").toCompletableFuture();
    var first = (ContainerActor.WaitExit) forwarded("web");
    first
        .replyTo()
        .tell(
            org.apache.pekko.pattern.StatusReply.success(
                new dev.berth.core.ExitInfo("id", 3, java.time.Instant.now())));
    assertEquals(3, answered.get(5, TimeUnit.SECONDS).exitCode());
    TestProbe<Object> watcher = kit.createTestProbe();
    watcher.expectTerminated(first.replyTo(), Duration.ofSeconds(5));

    var cancelled = containers.waitExit("db").toCompletableFuture();
    var second = (ContainerActor.WaitExit) forwarded("db");
    cancelled.cancel(false);
    watcher.expectTerminated(second.replyTo(), Duration.ofSeconds(5));
  }

  private static Containers.Create create(String policy, int max) {
    return new Containers.Create(
        "busybox",
        "job",
        List.of(),
        List.of("true"),
        List.of(),
        "",
        "",
        false,
        "",
        Map.of(),
        policy,
        max,
        Map.of(),
        List.of(),
        "");
  }
}
