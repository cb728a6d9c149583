package dev.berth.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.ContainerView;
import dev.berth.task.ContainerSpecs.CreateParams;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A create whose container actor takes longer than the supervisor's 60 s to make the bundle: the
 * caller is told it failed, and what the actor finishes afterwards must not stay behind (no
 * container the registry does not know, no orphaned bundle). The time is manual: the 60 s pass when
 * the test says so.
 */
class ContainerSupervisorCreateTimeoutTest {
  static final ActorTestKit kit =
      ActorTestKit.create(
          ManualTime.config()
              .withFallback(PersistenceTestKitPlugin.getInstance().config())
              .withFallback(PersistenceTestKitSnapshotPlugin.config())
              .withFallback(com.typesafe.config.ConfigFactory.load()));

  static final ManualTime time = ManualTime.get(kit.system());

  FakeTaskRuntime runtime;
  ActorRef<ContainerSupervisor.Command> supervisor;

  @AfterAll
  static void shutdown() {
    kit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    PersistenceTestKit.create(kit.system()).clearAll();
    runtime = new FakeTaskRuntime();
    supervisor =
        kit.spawn(
            ContainerSupervisor.create(
                runtime,
                (id, name, p) -> FakeTaskRuntime.spec(id, name, false),
                Executors.newCachedThreadPool()));
  }

  private static CreateParams params(String name) {
    return new CreateParams(
        "busybox",
        name,
        List.of(),
        List.of("sleep", "100"),
        List.of(),
        "",
        "",
        false,
        "",
        Map.of(),
        null,
        Map.of(),
        List.of(),
        null);
  }

  private List<ContainerView> list() {
    TestProbe<List<ContainerView>> p = kit.createTestProbe();
    supervisor.tell(new ContainerSupervisor.ListContainers(true, p.getRef()));
    return p.receiveMessage(Duration.ofSeconds(5));
  }

  /** Starts a create and lets the supervisor's wait for the container actor run out. */
  private String createThatTimesOut(CompletableFuture<Void> bundle) throws Exception {
    runtime.bundlePreparation = bundle;
    TestProbe<StatusReply<ContainerView>> caller = kit.createTestProbe();
    supervisor.tell(new ContainerSupervisor.Create(params("job"), caller.getRef()));
    // The actor is making the bundle, so the supervisor's 60 s are counting.
    String id = runtime.preparing.get(5, TimeUnit.SECONDS);
    time.timePasses(Duration.ofSeconds(61));
    assertTrue(caller.receiveMessage(Duration.ofSeconds(5)).isError());
    runtime.bundlePreparation = null;
    return id;
  }

  /**
   * The name is taken until the abandoned container is gone (a create always answers, so it is what
   * the test polls); then the registry holds only the new container.
   */
  private void assertNothingLeftAndTheNameIsFree() {
    TestProbe<Object> probe = kit.createTestProbe();
    ContainerView fresh =
        probe.awaitAssert(
            Duration.ofSeconds(5),
            () -> {
              TestProbe<StatusReply<ContainerView>> again = kit.createTestProbe();
              supervisor.tell(new ContainerSupervisor.Create(params("job"), again.getRef()));
              StatusReply<ContainerView> r = again.receiveMessage(Duration.ofSeconds(5));
              assertTrue(r.isSuccess(), () -> r.getError().getMessage());
              return r.getValue();
            });
    assertEquals(List.of(fresh.id()), list().stream().map(ContainerView::id).toList());
  }

  @Test
  void a_bundle_finished_after_the_create_timed_out_is_removed_again() throws Exception {
    CompletableFuture<Void> bundle = new CompletableFuture<>();
    String id = createThatTimesOut(bundle);
    // The actor finishes (and journals ContainerCreated) after the caller was told "failed".
    bundle.complete(null);
    runtime.bundleRemoved(id).get(5, TimeUnit.SECONDS);
    assertTrue(!runtime.bundles.containsKey(id));
    assertNothingLeftAndTheNameIsFree();
  }

  @Test
  void a_bundle_that_fails_after_the_create_timed_out_leaves_nothing_either() throws Exception {
    CompletableFuture<Void> bundle = new CompletableFuture<>();
    createThatTimesOut(bundle);
    bundle.completeExceptionally(new RuntimeException("disk full"));
    assertNothingLeftAndTheNameIsFree();
  }
}
