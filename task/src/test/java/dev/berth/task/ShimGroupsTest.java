package dev.berth.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.core.BerthException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** ShimGroups' bookkeeping against a fake backend (no processes). */
class ShimGroupsTest {
  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final FakeBackend backend = new FakeBackend();

  @AfterEach
  void stop() {
    pool.shutdownNow();
  }

  /** Launches numbered fake shims; the spare, launches and shutdowns are recorded. */
  private static final class FakeBackend implements ShimGroups.Backend {
    final AtomicInteger pids = new AtomicInteger(1000);
    final List<String> launched = Collections.synchronizedList(new ArrayList<>());
    final List<String> shutDown = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger replenished = new AtomicInteger();
    volatile boolean spare;
    volatile CountDownLatch launchGate = new CountDownLatch(0);
    volatile String failLaunch;

    @Override
    public synchronized ShimGroups.Shim takeSpare() {
      if (!spare) return null;
      spare = false;
      return shim("spare");
    }

    @Override
    public ShimGroups.Shim launch(String group) throws Exception {
      assertTrue(launchGate.await(10, TimeUnit.SECONDS));
      if (failLaunch != null) throw new java.io.IOException(failLaunch);
      launched.add(group);
      return shim(group);
    }

    private ShimGroups.Shim shim(String name) {
      return new ShimGroups.Shim(
          pids.incrementAndGet(), Path.of("/tmp/" + name), Path.of("/g"), null);
    }

    @Override
    public void shutdown(String group, ShimGroups.Shim shim) {
      shutDown.add(group);
    }

    @Override
    public void replenishSpare() {
      replenished.incrementAndGet();
    }
  }

  private static final Duration WAIT = Duration.ofSeconds(10);

  private ShimGroups.Shim join(ShimGroups.Slot slot, String id) {
    ShimGroups.Shim shim = slot.await(WAIT);
    slot.joined(id);
    return shim;
  }

  private void awaitShutdowns(int n) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (backend.shutDown.size() < n && System.nanoTime() < deadline) Thread.sleep(5);
  }

  @Test
  void default_containers_fill_an_auto_group_then_open_the_next() {
    ShimGroups groups = new ShimGroups(backend, pool, 3);
    List<Long> pids = new ArrayList<>();
    for (int i = 0; i < 4; i++) pids.add(join(groups.reserve(null), "c" + i).pid());
    assertEquals(pids.get(0), pids.get(1));
    assertEquals(pids.get(0), pids.get(2));
    assertNotEquals(pids.get(0), pids.get(3));
    assertEquals(Map.of(".auto-1", 3, ".auto-2", 1), groups.usage());
    assertEquals(List.of(".auto-1", ".auto-2"), backend.launched);
  }

  @Test
  void a_named_group_shares_one_shim_and_is_refused_when_full() {
    ShimGroups groups = new ShimGroups(backend, pool, 2);
    long a = join(groups.reserve("web"), "w1").pid();
    long b = join(groups.reserve("web"), "w2").pid();
    assertEquals(a, b);
    BerthException full = assertThrows(BerthException.class, () -> groups.reserve("web"));
    assertEquals(BerthException.Code.RESOURCE_EXHAUSTED, full.code());
    assertEquals("shim group web is full (2 containers)", full.getMessage());
    assertEquals("web", groups.groupOf("w1"));
  }

  @Test
  void the_spare_goes_to_the_first_new_group_and_each_group_gets_its_own_shim() {
    ShimGroups groups = new ShimGroups(backend, pool, 4);
    backend.spare = true;
    long web = join(groups.reserve("web"), "w1").pid();
    long db = join(groups.reserve("db"), "d1").pid();
    long auto = join(groups.reserve(null), "a1").pid();
    assertEquals(List.of("db", ".auto-1"), backend.launched, "web took the spare");
    assertEquals(3, List.of(web, db, auto).stream().distinct().count());
    // a live auto group with >= 2 free slots: no spare is worth keeping
    groups.replenishIfNeeded();
    assertEquals(0, backend.replenished.get());
    join(groups.reserve(null), "a2");
    join(groups.reserve(null), "a3");
    groups.replenishIfNeeded();
    assertEquals(1, backend.replenished.get());
  }

  @Test
  void a_group_whose_shim_cannot_start_fails_only_its_own_reservations() throws Exception {
    ShimGroups groups = new ShimGroups(backend, pool, 4);
    long other = join(groups.reserve("ok"), "o1").pid();
    backend.launchGate = new CountDownLatch(1);
    backend.failLaunch = "no memory";
    ShimGroups.Slot s1 = groups.reserve("web");
    ShimGroups.Slot s2 = groups.reserve("web");
    backend.launchGate.countDown();
    for (ShimGroups.Slot s : List.of(s1, s2)) {
      BerthException e = assertThrows(BerthException.class, () -> s.await(WAIT));
      assertEquals("shim group web could not start: no memory", e.getMessage());
      s.release();
    }
    assertEquals(Map.of("ok", 1), groups.usage());
    // the group that works is untouched, and a later try of the failed one starts afresh
    assertEquals(other, groups.live("ok").pid());
    backend.failLaunch = null;
    join(groups.reserve("web"), "w1");
    assertEquals(Map.of("ok", 1, "web", 1), groups.usage());
  }

  @Test
  void concurrent_reservations_never_overfill_a_group() throws Exception {
    ShimGroups groups = new ShimGroups(backend, pool, 3);
    List<java.util.concurrent.Future<Long>> started = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      String id = "c" + i;
      started.add(pool.submit(() -> join(groups.reserve(null), id).pid()));
    }
    Map<Long, Integer> perShim = new java.util.HashMap<>();
    for (var f : started) perShim.merge(f.get(10, TimeUnit.SECONDS), 1, Integer::sum);
    assertEquals(4, perShim.size(), perShim.toString());
    perShim.values().forEach(n -> assertTrue(n <= 3, perShim.toString()));
  }

  @Test
  void an_empty_named_group_is_shut_down_and_an_auto_group_only_when_another_has_room()
      throws Exception {
    ShimGroups groups = new ShimGroups(backend, pool, 2);
    join(groups.reserve("web"), "w1");
    join(groups.reserve("web"), "w2");
    groups.left("w1");
    assertEquals(Map.of("web", 1), groups.usage());
    groups.left("w2");
    awaitShutdowns(1);
    assertEquals(List.of("web"), backend.shutDown);
    assertEquals(Map.of(), groups.usage());

    // the only auto group with room stays, empty, for the next start
    join(groups.reserve(null), "a1");
    groups.left("a1");
    assertEquals(Map.of(".auto-1", 0), groups.usage());
    // a failed start releases its slot the same way
    ShimGroups.Slot failed = groups.reserve(null);
    failed.await(WAIT);
    failed.release();
    assertEquals(Map.of(".auto-1", 0), groups.usage());

    // with a second auto group that has room, an emptied one ends
    join(groups.reserve(null), "b1");
    join(groups.reserve(null), "b2");
    join(groups.reserve(null), "b3"); // .auto-2
    groups.left("b1");
    groups.left("b2");
    awaitShutdowns(2);
    assertEquals(List.of("web", ".auto-1"), backend.shutDown);
    assertEquals(Map.of(".auto-2", 1), groups.usage());
  }
}
