package dev.berth.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.BerthException;
import dev.berth.core.ContainerState;
import dev.berth.core.ContainerView;
import dev.berth.core.ExitInfo;
import dev.berth.task.ContainerSpecs.CreateParams;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ContainerSupervisorTest {
  static final ActorTestKit kit =
      ActorTestKit.create(
          PersistenceTestKitPlugin.getInstance()
              .config()
              .withFallback(PersistenceTestKitSnapshotPlugin.config())
              .withFallback(com.typesafe.config.ConfigFactory.load()));

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
    supervisor = spawnSupervisor();
  }

  private ActorRef<ContainerSupervisor.Command> spawnSupervisor() {
    return kit.spawn(
        ContainerSupervisor.create(
            runtime,
            (id, name, p) -> {
              if (p.image().equals("missing")) throw BerthException.imageNotFound("missing");
              return FakeTaskRuntime.spec(id, name, p.autoRemove());
            },
            Executors.newCachedThreadPool()));
  }

  private static CreateParams params(String image, String name, boolean rm) {
    return new CreateParams(
        image,
        name,
        List.of(),
        List.of("sleep", "100"),
        List.of(),
        "",
        "",
        rm,
        "",
        Map.of(),
        null,
        Map.of(),
        List.of());
  }

  private StatusReply<ContainerView> create(String image, String name) {
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    supervisor.tell(new ContainerSupervisor.Create(params(image, name, false), p.getRef()));
    return p.receiveMessage(Duration.ofSeconds(5));
  }

  private StatusReply<ContainerView> forward(
      String ref,
      java.util.function.Function<ActorRef<StatusReply<ContainerView>>, ContainerActor.Request>
          make) {
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    supervisor.tell(new ContainerSupervisor.Forward(ref, make.apply(p.getRef())));
    return p.receiveMessage(Duration.ofSeconds(5));
  }

  private List<ContainerView> list(boolean all) {
    TestProbe<List<ContainerView>> p = kit.createTestProbe();
    supervisor.tell(new ContainerSupervisor.ListContainers(all, p.getRef()));
    return p.receiveMessage(Duration.ofSeconds(5));
  }

  /**
   * Bundles the journal does not know (it was truncated or set aside) are rebuilt, and the loss
   * reported.
   */
  @Test
  void bundles_missing_from_the_journal_are_rebuilt_from_disk_and_reported() {
    kit.stop(
        supervisor); // one supervisor per journal: this test starts its own, with bundles already
    // on disk
    String first = "a".repeat(64);
    String gone = "b".repeat(64);
    runtime.bundles.put(first, FakeTaskRuntime.spec(first, "web", false));
    runtime.bundles.put(
        gone, FakeTaskRuntime.spec(gone, "web", false)); // a name clash among the rebuilt
    var task = runtime.new FakeTask();
    runtime.observations.add(
        new dev.berth.task.TaskRuntime.Observed.Running(task.pid, 42, "/tmp/s.sock", task));
    runtime.observations.add(new dev.berth.task.TaskRuntime.Observed.Lost("no shim"));
    dev.berth.actors.JournalHealth health = dev.berth.actors.JournalHealth.healthy();
    supervisor =
        kit.spawn(
            ContainerSupervisor.create(
                runtime,
                (id, name, p) -> FakeTaskRuntime.spec(id, name, false),
                Executors.newCachedThreadPool(),
                health));
    List<ContainerView> all = list(true);
    for (int i = 0;
        i < 50 && all.stream().anyMatch(v -> v.state() == ContainerState.UNKNOWN);
        i++) {
      kit.createTestProbe().expectNoMessage(Duration.ofMillis(100)); // adoption asks the shim first
      all = list(true);
    }
    assertEquals(2, all.size(), all.toString());
    assertEquals(
        List.of("web", "web-bbbbbbbbbbbb"),
        all.stream().map(ContainerView::name).sorted().toList());
    ContainerView live =
        all.stream().filter(v -> v.state() == ContainerState.RUNNING).findFirst().orElseThrow();
    assertEquals(task.pid, live.pid());
    assertTrue(
        all.stream()
            .anyMatch(
                v ->
                    v.state() == ContainerState.CREATED && v.error().contains("rebuilt from disk")),
        all.toString());
    assertTrue(
        health.summary().contains("2 container(s) missing from the journal were rebuilt"),
        health.summary());
    // Rebuilt containers are managed like any other: the running one stops on request.
    assertEquals(137, forwardExit(live.id()).exitCode());
  }

  private ExitInfo forwardExit(String ref) {
    forward(ref, r -> new ContainerActor.Kill(9, r));
    TestProbe<StatusReply<ExitInfo>> p = kit.createTestProbe();
    supervisor.tell(new ContainerSupervisor.Forward(ref, new ContainerActor.WaitExit(p.getRef())));
    return p.receiveMessage(Duration.ofSeconds(5)).getValue();
  }

  /**
   * wait NAME after removals answers for the newest container of that name (the name can be
   * reused).
   */
  @Test
  void a_wait_by_name_after_removals_answers_for_the_newest_container_of_that_name() {
    for (int code : new int[] {3, 5}) {
      ContainerView v = create("busybox", "job").getValue();
      assertTrue(forward(v.id(), ContainerActor.Start::new).isSuccess());
      runtime.tasks.get(v.id()).exit(code);
      TestProbe<StatusReply<ExitInfo>> exited = kit.createTestProbe();
      supervisor.tell(
          new ContainerSupervisor.Forward(v.id(), new ContainerActor.WaitExit(exited.getRef())));
      assertEquals(code, exited.receiveMessage(Duration.ofSeconds(5)).getValue().exitCode());
      assertTrue(forward(v.id(), r -> new ContainerActor.Delete(false, r)).isSuccess());
    }
    TestProbe<StatusReply<ExitInfo>> p = kit.createTestProbe();
    supervisor.tell(
        new ContainerSupervisor.Forward("job", new ContainerActor.WaitExit(p.getRef())));
    assertEquals(5, p.receiveMessage(Duration.ofSeconds(5)).getValue().exitCode());
  }

  @Test
  void resolves_by_id_prefix_and_name() {
    ContainerView v = create("busybox", "web").getValue();
    assertEquals("web", forward(v.id(), ContainerActor.Inspect::new).getValue().name());
    assertEquals(
        v.id(), forward(v.id().substring(0, 6), ContainerActor.Inspect::new).getValue().id());
    assertEquals(v.id(), forward("web", ContainerActor.Inspect::new).getValue().id());
  }

  @Test
  void bad_input_is_rejected_and_nothing_is_created() {
    create("busybox", "web");
    StatusReply<ContainerView> dup = create("busybox", "web");
    assertEquals(BerthException.Code.ALREADY_EXISTS, ((BerthException) dup.getError()).code());
    assertEquals(
        BerthException.Code.NOT_FOUND,
        ((BerthException) create("missing", "other").getError()).code());
    assertEquals(
        BerthException.Code.INVALID_ARGUMENT,
        ((BerthException) create("busybox", "a/b").getError()).code());
    assertEquals(
        BerthException.Code.INVALID_ARGUMENT,
        ((BerthException) create("busybox", "a..b").getError()).code());
    assertEquals(
        BerthException.Code.NOT_FOUND,
        ((BerthException) forward("../etc", ContainerActor.Inspect::new).getError()).code());
    assertEquals(
        BerthException.Code.NOT_FOUND,
        ((BerthException) forward("nope", ContainerActor.Start::new).getError()).code());
    assertEquals(1, list(true).size());
    // the failed create released its name
    assertTrue(create("busybox", "other").isSuccess());
  }

  @Test
  void list_shows_running_unless_all() {
    ContainerView a = create("busybox", "a").getValue();
    create("busybox", "b");
    forward(a.id(), ContainerActor.Start::new);
    assertEquals(List.of("a"), list(false).stream().map(ContainerView::name).toList());
    assertEquals(2, list(true).size());
  }

  @Test
  void registry_survives_restart_and_removed_containers_keep_their_exit_for_wait() {
    ContainerView a = create("busybox", "a").getValue();
    forward(a.id(), ContainerActor.Start::new);
    runtime.tasks.get(a.id()).exit(5);
    TestProbe<StatusReply<ExitInfo>> w = kit.createTestProbe();
    supervisor.tell(new ContainerSupervisor.Forward("a", new ContainerActor.WaitExit(w.getRef())));
    assertEquals(5, w.receiveMessage(Duration.ofSeconds(5)).getValue().exitCode());
    assertTrue(forward("a", to -> new ContainerActor.Delete(false, to)).isSuccess());
    // a wait that arrives after the removal (docker run --rm race) still gets the exit code
    TestProbe<StatusReply<ExitInfo>> late = kit.createTestProbe();
    supervisor.tell(
        new ContainerSupervisor.Forward("a", new ContainerActor.WaitExit(late.getRef())));
    assertEquals(5, late.receiveMessage(Duration.ofSeconds(5)).getValue().exitCode());

    ContainerView b = create("busybox", "b").getValue();
    kit.stop(supervisor);
    supervisor = spawnSupervisor();
    List<ContainerView> after = list(true);
    assertEquals(List.of(b.id()), after.stream().map(ContainerView::id).toList());
  }
}
