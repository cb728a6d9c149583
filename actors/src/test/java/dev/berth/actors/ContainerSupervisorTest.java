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
import java.util.concurrent.TimeUnit;
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
              return FakeTaskRuntime.spec(
                  id,
                  name,
                  p.autoRemove(),
                  dev.berth.core.RestartPolicy.NO,
                  p.requestId() == null || p.requestId().isEmpty() ? null : p.requestId());
            },
            Executors.newCachedThreadPool()));
  }

  private static CreateParams params(String image, String name, boolean rm) {
    return params(image, name, rm, null);
  }

  private static CreateParams params(String image, String name, boolean rm, String requestId) {
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
        List.of(),
        requestId);
  }

  private StatusReply<ContainerView> create(String image, String name) {
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    supervisor.tell(new ContainerSupervisor.Create(params(image, name, false), p.getRef()));
    return p.receiveMessage(Duration.ofSeconds(5));
  }

  private StatusReply<ContainerView> create(String image, String name, String requestId) {
    TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
    supervisor.tell(
        new ContainerSupervisor.Create(params(image, name, false, requestId), p.getRef()));
    return p.receiveMessage(Duration.ofSeconds(5));
  }

  private static BerthException failure(StatusReply<?> reply) {
    assertTrue(reply.isError(), "expected a failure, got " + reply);
    return (BerthException) reply.getError();
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

  // ---------------------------------------------------------------- names and references

  @Test
  void
      a_name_equal_to_another_containers_short_id_is_refused_and_the_short_id_keeps_its_container() {
    ContainerView web = create("busybox", "web").getValue();
    String shortId = web.id().substring(0, 12);
    for (String name : List.of(shortId, web.id().substring(0, 20), web.id())) {
      BerthException e = failure(create("busybox", name));
      assertEquals(BerthException.Reason.NAME_IN_USE, e.reason(), name);
      assertEquals(BerthException.Code.ALREADY_EXISTS, e.code(), name);
      assertEquals("name", e.field(), name);
    }
    // 64 hex digits are an id's form, even when no container has that id
    assertEquals(
        BerthException.Reason.NAME_IN_USE, failure(create("busybox", "0".repeat(64))).reason());
    assertEquals(web.id(), forward(shortId, ContainerActor.Inspect::new).getValue().id());
    assertEquals(1, list(true).size());
    // hex names that are no container's id prefix, or shorter than a short id, are names
    assertTrue(create("busybox", "abc").isSuccess());
    String free = web.id().startsWith("f") ? "e".repeat(12) : "f".repeat(12);
    assertTrue(create("busybox", free).isSuccess());
  }

  @Test
  void an_exact_name_wins_over_an_id_prefix_and_an_ambiguous_prefix_says_so() {
    java.util.Map<Character, String> byFirst = new java.util.HashMap<>();
    String a = null;
    String b = null;
    for (int i = 0; a == null; i++) { // 17 ids: two of them share their first hex digit
      String id = create("busybox", "c" + i).getValue().id();
      String other = byFirst.putIfAbsent(id.charAt(0), id);
      if (other != null) {
        a = other;
        b = id;
      }
    }
    String prefix = a.substring(0, 1);
    BerthException e = failure(forward(prefix, ContainerActor.Inspect::new));
    assertEquals(BerthException.Reason.AMBIGUOUS_REFERENCE, e.reason());
    assertEquals(BerthException.Code.INVALID_ARGUMENT, e.code());
    // a short name that is also an id prefix: the name wins (docker's order)
    ContainerView named = create("busybox", prefix).getValue();
    assertEquals(named.id(), forward(prefix, ContainerActor.Inspect::new).getValue().id());
    assertEquals(b, forward(b, ContainerActor.Inspect::new).getValue().id());
  }

  @Test
  void names_follow_the_grammar_and_the_length_limit() {
    for (String bad : List.of("-x", ".x", "_x", "a b", "a/b", "é", "a".repeat(129))) {
      BerthException e = failure(create("busybox", bad));
      assertEquals(BerthException.Code.INVALID_ARGUMENT, e.code(), bad);
      assertEquals("name", e.field(), bad);
      assertTrue(e.getMessage().length() < 200, e.getMessage());
    }
    assertTrue(create("busybox", "a".repeat(128)).isSuccess());
    assertTrue(create("busybox", "Web-1.a_b").isSuccess());
    assertEquals(2, list(true).size());
  }

  // ---------------------------------------------------------------- idempotent create

  @Test
  void a_create_repeated_with_its_request_id_returns_the_same_container_also_after_a_restart() {
    ContainerView first = create("busybox", "job", "req-1").getValue();
    assertEquals("req-1", first.requestId());
    assertTrue(forward(first.id(), ContainerActor.Start::new).isSuccess());
    ContainerView again = create("busybox", "job", "req-1").getValue();
    assertEquals(first.id(), again.id());
    assertEquals(ContainerState.RUNNING, again.state(), "the container's current view");
    // another key is another create (and the name is taken)
    assertEquals(
        BerthException.Reason.NAME_IN_USE, failure(create("busybox", "job", "req-2")).reason());

    kit.stop(supervisor);
    supervisor = spawnSupervisor();
    assertEquals(first.id(), create("busybox", "job", "req-1").getValue().id());
    assertEquals(1, list(true).size());

    // once that container is gone, the key makes a new one
    runtime.tasks.get(first.id()).exit(0);
    TestProbe<StatusReply<ExitInfo>> w = kit.createTestProbe();
    supervisor.tell(
        new ContainerSupervisor.Forward(first.id(), new ContainerActor.WaitExit(w.getRef())));
    w.receiveMessage(Duration.ofSeconds(5));
    assertTrue(forward(first.id(), to -> new ContainerActor.Delete(false, to)).isSuccess());
    ContainerView next = create("busybox", "job", "req-1").getValue();
    assertTrue(!next.id().equals(first.id()));
  }

  @Test
  void concurrent_creates_with_one_request_id_make_one_container() throws Exception {
    runtime.bundlePreparation = new java.util.concurrent.CompletableFuture<>();
    List<TestProbe<StatusReply<ContainerView>>> callers = new java.util.ArrayList<>();
    for (int i = 0; i < 5; i++) {
      TestProbe<StatusReply<ContainerView>> p = kit.createTestProbe();
      // each retry asks for its own name: the key decides, not the name
      supervisor.tell(
          new ContainerSupervisor.Create(params("busybox", "", false, "same"), p.getRef()));
      callers.add(p);
    }
    runtime.preparing.get(5, java.util.concurrent.TimeUnit.SECONDS); // the first is under way
    callers.get(0).expectNoMessage(Duration.ofMillis(100));
    runtime.bundlePreparation.complete(null);
    java.util.Set<String> ids = new java.util.HashSet<>();
    for (TestProbe<StatusReply<ContainerView>> p : callers)
      ids.add(p.receiveMessage(Duration.ofSeconds(5)).getValue().id());
    assertEquals(1, ids.size(), ids.toString());
    assertEquals(1, list(true).size());
    assertEquals(1, runtime.calls.stream().filter(c -> c.startsWith("prepare")).count());
  }

  @Test
  void a_failed_create_fails_its_joined_retries_and_frees_the_request_id() {
    TestProbe<StatusReply<ContainerView>> a = kit.createTestProbe();
    TestProbe<StatusReply<ContainerView>> b = kit.createTestProbe();
    supervisor.tell(new ContainerSupervisor.Create(params("missing", "", false, "k"), a.getRef()));
    supervisor.tell(new ContainerSupervisor.Create(params("missing", "", false, "k"), b.getRef()));
    assertEquals(
        BerthException.Reason.IMAGE_NOT_FOUND,
        failure(a.receiveMessage(Duration.ofSeconds(5))).reason());
    assertEquals(
        BerthException.Reason.IMAGE_NOT_FOUND,
        failure(b.receiveMessage(Duration.ofSeconds(5))).reason());
    assertTrue(create("busybox", "", "k").isSuccess());
  }

  @Test
  void a_bad_request_id_is_refused_and_nothing_is_created() {
    for (String bad : List.of("x".repeat(129), "tab\there", "é")) {
      BerthException e = failure(create("busybox", "", bad));
      assertEquals(BerthException.Code.INVALID_ARGUMENT, e.code(), bad);
      assertEquals("request_id", e.field(), bad);
    }
    assertEquals(0, list(true).size());
    assertTrue(create("busybox", "", "x".repeat(128)).isSuccess());
  }

  // ---------------------------------------------------------------- waits

  @Test
  void cancelled_waits_leave_no_waiter_behind_and_the_rest_still_get_the_exit() throws Exception {
    ContainerView v = create("busybox", "job").getValue();
    assertTrue(forward(v.id(), ContainerActor.Start::new).isSuccess());
    dev.berth.engine.Containers containers =
        new dev.berth.engine.Containers(kit.system(), supervisor, Executors.newCachedThreadPool());
    List<java.util.concurrent.CompletableFuture<ExitInfo>> waits = new java.util.ArrayList<>();
    for (int i = 0; i < 200; i++) waits.add(containers.waitExit("job").toCompletableFuture());
    awaitWaiters(v.id(), 200);
    // what a 50 ms client deadline does: the adapter cancels the stage
    for (int i = 1; i < 200; i++) waits.get(i).cancel(false);
    awaitWaiters(v.id(), 1);
    runtime.tasks.get(v.id()).exit(4);
    assertEquals(4, waits.get(0).get(5, java.util.concurrent.TimeUnit.SECONDS).exitCode());
    awaitWaiters(v.id(), 0);
  }

  private void awaitWaiters(String id, int expected) throws InterruptedException {
    int n = -1;
    for (int i = 0; i < 100; i++) {
      TestProbe<StatusReply<Integer>> p = kit.createTestProbe();
      supervisor.tell(
          new ContainerSupervisor.Forward(id, new ContainerActor.CountExitWaiters(p.getRef())));
      n = p.receiveMessage(Duration.ofSeconds(5)).getValue();
      if (n == expected) return;
      Thread.sleep(50);
    }
    assertEquals(expected, n, "exit waiters held by the container actor");
  }

  // ---------------------------------------------------------------- list

  private static dev.berth.engine.Containers.ListRequest listing(
      boolean all, int pageSize, String token) {
    return new dev.berth.engine.Containers.ListRequest(
        all, List.of(), List.of(), Map.of(), List.of(), pageSize, token);
  }

  @Test
  void list_pages_in_creation_order_and_a_removal_between_pages_skips_nothing() throws Exception {
    dev.berth.engine.Containers containers =
        new dev.berth.engine.Containers(kit.system(), supervisor, Executors.newCachedThreadPool());
    List<String> created = new java.util.ArrayList<>();
    for (int i = 0; i < 5; i++) {
      created.add(create("busybox", "c" + i).getValue().id());
      Thread.sleep(2); // distinct creation times (ties are ordered by id)
    }
    var first =
        containers.list(listing(true, 2, "")).toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertEquals(created.subList(0, 2), first.items().stream().map(ContainerView::id).toList());
    // the last item of the page is removed before the next call: the token is a position
    assertTrue(forward(created.get(1), to -> new ContainerActor.Delete(false, to)).isSuccess());
    var second =
        containers
            .list(listing(true, 2, first.nextPageToken()))
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    assertEquals(created.subList(2, 4), second.items().stream().map(ContainerView::id).toList());
    var last =
        containers
            .list(listing(true, 2, second.nextPageToken()))
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
    assertEquals(List.of(created.get(4)), last.items().stream().map(ContainerView::id).toList());
    assertEquals("", last.nextPageToken());
    // the default size takes them all; without all, only running ones
    assertEquals(
        4,
        containers
            .list(listing(true, 0, ""))
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS)
            .items()
            .size());
    assertEquals(
        0,
        containers
            .list(listing(false, 0, ""))
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS)
            .items()
            .size());
  }

  @Test
  void list_refuses_a_bad_page_size_or_token_with_its_field() {
    dev.berth.engine.Containers containers =
        new dev.berth.engine.Containers(kit.system(), supervisor, Executors.newCachedThreadPool());
    for (int size : new int[] {-1, 1001}) {
      var e =
          org.junit.jupiter.api.Assertions.assertThrows(
              java.util.concurrent.ExecutionException.class,
              () -> containers.list(listing(true, size, "")).toCompletableFuture().get());
      assertEquals("page_size", ((BerthException) e.getCause()).field());
    }
    for (String token : List.of("!!", "bm9wZQ", "x".repeat(300))) {
      var e =
          org.junit.jupiter.api.Assertions.assertThrows(
              java.util.concurrent.ExecutionException.class,
              () -> containers.list(listing(true, 10, token)).toCompletableFuture().get());
      assertEquals("page_token", ((BerthException) e.getCause()).field(), token);
    }
  }
}
