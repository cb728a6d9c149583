package dev.berth.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.host.BerthPaths;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Real spare shims (bin/berth-shim, so the shim module must be packaged: the reactor builds it
 * before this module) in a short /tmp/bp-XXXX state dir. No runc needed: spares never run it.
 */
class ShimPoolTest {
  static ActorTestKit kit;
  static EpollEventLoopGroup group;
  static ExecutorService blocking;
  static Path home;

  Path tmp;
  BerthPaths paths;
  ShimPool pool;
  final List<Process> started = new ArrayList<>();

  @BeforeAll
  static void setUpAll() {
    home = Path.of("").toAbsolutePath();
    while (home != null && !Files.isExecutable(home.resolve("bin/berth-shim")))
      home = home.getParent();
    Assumptions.assumeTrue(
        home != null, "bin/berth-shim not found above " + Path.of("").toAbsolutePath());
    boolean built;
    try (Stream<Path> jars = Files.list(home.resolve("shim/target"))) {
      built =
          jars.anyMatch(p -> p.getFileName().toString().matches("berth-shim-.*\\.jar"))
              && Files.isDirectory(home.resolve("shim/target/lib"));
    } catch (java.io.IOException e) {
      built = false;
    }
    Assumptions.assumeTrue(built, "shim not packaged (mvn -pl shim -am package)");
    Assumptions.assumeTrue(Epoll.isAvailable(), "needs epoll");
    kit = ActorTestKit.create();
    group = new EpollEventLoopGroup(1);
    blocking = Executors.newCachedThreadPool();
  }

  @AfterAll
  static void tearDownAll() {
    if (kit != null) kit.shutdownTestKit();
    if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    if (blocking != null) blocking.shutdownNow();
  }

  @BeforeEach
  void setUp() throws Exception {
    tmp = Files.createTempDirectory(Path.of("/tmp"), "bp-");
    paths =
        new BerthPaths(
            tmp.resolve("root"),
            tmp.resolve("state"),
            tmp.resolve("state/berth.sock"),
            home,
            "runc");
    Files.createDirectories(paths.shims());
    pool = newPool();
  }

  private ShimPool newPool() {
    return new ShimPool(
        new ShimLauncher(paths),
        paths,
        blocking,
        1,
        shim -> ShimClient.connect(kit.system(), shim.socket(), group));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (pool != null) pool.close();
    // whatever is still running with a state dir under tmp goes (spares are this JVM's children)
    for (ShimPool.SpareProcess p : ShimPool.spareProcesses()) {
      if (p.stateDir().startsWith(tmp))
        ProcessHandle.of(p.pid()).ifPresent(ProcessHandle::destroyForcibly);
    }
    for (Process p : started) p.destroyForcibly();
    for (ShimPool.SpareProcess p : ShimPool.spareProcesses()) {
      if (p.stateDir().startsWith(tmp)) ShimPool.awaitGone(p.pid(), 5_000);
    }
    try (Stream<Path> files = Files.walk(tmp)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for: " + what);
      Thread.sleep(20);
    }
  }

  private ShimPool.Spare ready() throws Exception {
    await("a spare being started", () -> pool.current() != null);
    return pool.current().get(60, TimeUnit.SECONDS);
  }

  private List<String> spareDirs() {
    try (Stream<Path> dirs = Files.list(paths.shims())) {
      return dirs.map(d -> d.getFileName().toString())
          .filter(n -> n.startsWith(".spare-"))
          .sorted()
          .toList();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void a_spare_killed_while_it_waits_is_removed_and_replaced() throws Exception {
    pool.replenish();
    ShimPool.Spare first = ready();
    assertTrue(first.shim().process().isAlive());
    assertEquals(List.of(first.shim().dir().getFileName().toString()), spareDirs());
    assertTrue(Files.exists(first.shim().socket()));
    // the daemon told the spare who its parent is
    String cmdline = first.shim().process().info().commandLine().orElse("");
    assertTrue(cmdline.contains("--parent-pid " + ProcessHandle.current().pid()), cmdline);

    first.shim().process().destroyForcibly(); // kill -9
    await(
        "the dead spare's dir and socket removed",
        () -> !Files.exists(first.shim().dir()) && !Files.exists(first.shim().socket()));
    ShimPool.Spare second = ready();
    assertNotEquals(first.shim().pid(), second.shim().pid());
    assertTrue(second.shim().process().isAlive());
    assertEquals(List.of(second.shim().dir().getFileName().toString()), spareDirs());

    // the replacement is what the next start adopts
    ShimPool.Spare taken = pool.take();
    assertNotNull(taken);
    assertEquals(second.shim().pid(), taken.shim().pid());
    // taken: its exit is not the pool's business any more (it would be a container's shim)
    taken.client().close();
    taken.shim().process().destroyForcibly();
    taken.shim().process().waitFor(10, TimeUnit.SECONDS);
    Thread.sleep(300);
    assertTrue(Files.exists(taken.shim().dir()), "a taken shim's dir is not the pool's to remove");
    assertEquals(null, pool.current(), "no spare started for a taken one's exit");
  }

  @Test
  void close_ends_the_spare_and_removes_its_files() throws Exception {
    pool.replenish();
    ShimPool.Spare sp = ready();
    pool.close();
    assertTrue(sp.shim().process().waitFor(10, TimeUnit.SECONDS));
    await(
        "the spare's dir and socket removed",
        () -> !Files.exists(sp.shim().dir()) && !Files.exists(sp.shim().socket()));
    pool.replenish();
    assertEquals(null, pool.current(), "a closed pool starts no spare");
    pool = null;
  }

  /**
   * An earlier daemon's spare that has not written shim.pid (nor address) yet: removeLeftovers
   * finds its process by its command line and kills it before removing its dir and socket.
   */
  @Test
  void remove_leftovers_kills_aHalf_started_spare_before_removing_its_dir() throws Exception {
    String name = "spare-0123456789ab";
    Path dir = paths.shims().resolve("." + name);
    Path socket = paths.shimSocket(name);
    Files.createDirectories(dir);
    // started the way ShimLauncher starts one; its "daemon" (this JVM) is alive, so it stays
    Process leftover =
        new ProcessBuilder(
                home.resolve("bin/berth-shim").toString(),
                "--id",
                name,
                "--state-dir",
                dir.toString(),
                "--socket",
                socket.toString(),
                "--runtime",
                "runc",
                "--runtime-root",
                paths.runtimeRoot().toString(),
                "--spare",
                "--parent-pid",
                Long.toString(ProcessHandle.current().pid()))
            .redirectOutput(ProcessBuilder.Redirect.appendTo(tmp.resolve("leftover.log").toFile()))
            .redirectErrorStream(true)
            .start();
    started.add(leftover);
    await("the leftover serving", () -> Files.exists(dir.resolve("address")));
    // as if stopped just before it wrote its pid and address
    Files.delete(dir.resolve("address"));
    Files.delete(dir.resolve("shim.pid"));
    assertTrue(Files.exists(socket));
    // and a leftover with nothing in it but its dir (its daemon died between mkdir and exec)
    Path empty = Files.createDirectories(paths.shims().resolve(".spare-ba9876543210"));
    // a container's shim dir is none of removeLeftovers' business
    Path container = Files.createDirectories(paths.shims().resolve("c1"));

    pool.removeLeftovers();

    assertTrue(leftover.waitFor(10, TimeUnit.SECONDS), "the leftover spare was killed");
    assertFalse(Files.exists(dir), "its dir removed");
    assertFalse(Files.exists(socket), "its socket removed");
    assertFalse(Files.exists(empty));
    assertTrue(Files.exists(container));
  }
}
