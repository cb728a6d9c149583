package dev.berth.daemon;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.berth.actors.ContainerSupervisor;
import dev.berth.actors.EventFeed;
import dev.berth.actors.JournalHealth;
import dev.berth.api.v1.GetVersionResponse;
import dev.berth.core.ContainerSpec;
import dev.berth.daemon.grpc.RequestGuard;
import dev.berth.daemon.grpc.SourceToStream;
import dev.berth.engine.Containers;
import dev.berth.engine.Events;
import dev.berth.engine.Execs;
import dev.berth.engine.Images;
import dev.berth.host.BerthPaths;
import dev.berth.host.DiskSpace;
import dev.berth.host.PrivateTree;
import dev.berth.images.ImageException;
import dev.berth.images.ImageStore;
import dev.berth.images.Puller;
import dev.berth.images.RegistryConfig;
import dev.berth.images.RegistryCredentials;
import dev.berth.network.CniPlugins;
import dev.berth.network.ContainerNetworks;
import dev.berth.oci.SeccompProfile;
import dev.berth.oci.SecurityDefaults;
import dev.berth.persistence.JournalCheck;
import dev.berth.persistence.JournalConfig;
import dev.berth.runtime.nativ.Posix;
import dev.berth.task.ContainerRuntime;
import dev.berth.task.ContainerSpecs;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** berthd: the container supervisor daemon. */
@Command(
    name = "berthd",
    mixinStandardHelpOptions = true,
    versionProvider = BerthDaemon.DaemonVersion.class,
    description = "Berth container supervisor daemon.")
public final class BerthDaemon implements Callable<Integer> {
  /**
   * The build's version (the jar manifest's Implementation-Version), the same string `berth
   * version` shows for the client: one version for the whole build.
   */
  static final String VERSION = buildVersion();

  private static String buildVersion() {
    String v = BerthDaemon.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  static final class DaemonVersion implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"berthd version " + VERSION};
    }
  }

  /** berth.v1's documented request size limit. */
  static final int MAX_REQUEST_BYTES = 2 * 1024 * 1024;

  private static final Logger log = LoggerFactory.getLogger(BerthDaemon.class);

  @Option(
      names = "--root",
      description = "Persistent state (journal, images, bundles). Default: ${DEFAULT-VALUE}")
  Path root = Path.of("/var/lib/berth");

  @Option(
      names = "--state",
      description = "Runtime state (sockets, shim state). Default: ${DEFAULT-VALUE}")
  Path state = Path.of("/run/berth");

  @Option(names = "--socket", description = "API socket. Default: <state>/berth.sock")
  Path socket;

  @Option(
      names = "--pidfile",
      paramLabel = "PATH",
      description =
          "Where berthd writes its pid once it holds the root lock (removed at a clean exit). Default: <state>/berthd.pid")
  Path pidfile;

  @Option(names = "--runtime", description = "OCI runtime: runc or crun. Default: ${DEFAULT-VALUE}")
  String runtime = "runc";

  @Option(
      names = "--default-registry",
      paramLabel = "HOST[:PORT]",
      description = "Registry of image names without a host (busybox). Default: ${DEFAULT-VALUE}")
  String defaultRegistry = "docker.io";

  @Option(
      names = "--repository-prefix",
      paramLabel = "NAMESPACE",
      description =
          "Namespace of one-word names on the default registry (busybox is library/busybox). Default: ${DEFAULT-VALUE}")
  String repositoryPrefix = "library";

  @Option(
      names = "--insecure-registry",
      paramLabel = "HOST[:PORT]",
      description =
          "Registry spoken to in plain HTTP (repeatable; loopback registries always are).")
  List<String> insecureRegistries = new ArrayList<>();

  @Option(
      names = "--registry-mirror",
      paramLabel = "REGISTRY=URL",
      description =
          "Mirror tried before REGISTRY (repeatable; several for one registry are tried in order).")
  List<String> registryMirrors = new ArrayList<>();

  @Option(
      names = "--registry-timeout",
      paramLabel = "SECONDS",
      description =
          "A registry that sends nothing for this long is given up on (after retries). Default: ${DEFAULT-VALUE}")
  int registryTimeoutSeconds = 30;

  @Option(
      names = "--seccomp-profile",
      paramLabel = "PATH|unconfined",
      description =
          "Seccomp profile (docker/podman JSON format) of containers created without one, or unconfined for none. "
              + "Default: ${DEFAULT-VALUE}")
  String seccompProfile = SecurityDefaults.DEFAULT_SECCOMP_PROFILE;

  @Option(
      names = "--spare-shims",
      description =
          "Shims kept started ahead of need (0 or 1): trades ~35 MB for a JVM start per container start. Default: ${DEFAULT-VALUE}")
  int spareShims = 1;

  @Option(
      names = "--shim-group-size",
      paramLabel = "N",
      description =
          "Containers one shim process serves (1..64): containers without --shim-group share auto groups of N;"
              + " 1 gives each its own shim. Provisional default, until the memory sweep: ${DEFAULT-VALUE}")
  int shimGroupSize = 16;

  @Option(
      names = "--min-free-space",
      paramLabel = "SIZE",
      description =
          "Creates, starts, pulls and imports are refused while --root or --state has less free (k, m, g suffixes). Default: ${DEFAULT-VALUE}")
  String minFreeSpace = "64m";

  @Option(
      names = "--bridge",
      paramLabel = "NAME",
      description = "The default network's bridge. Default: ${DEFAULT-VALUE}")
  String bridge = ContainerNetworks.DEFAULT_BRIDGE;

  @Option(
      names = "--bridge-subnet",
      paramLabel = "CIDR",
      description =
          "The default bridge's IPv4 subnet. Default: the one chosen at the first start (10.88.0.0/16, 172.17-31.0.0/16, ... whichever no host route overlaps)")
  String bridgeSubnet;

  @Option(
      names = "--cni-path",
      paramLabel = "DIR[:DIR...]",
      description = "Where the CNI plugins are. Default: ${DEFAULT-VALUE}")
  String cniPath = "/usr/lib/cni";

  @Option(
      names = "--enable-failpoints",
      description =
          "Serve the test-only berth.test.v1.FailpointsService (fault injection on shim calls). Never in production.")
  boolean enableFailpoints;

  public static void main(String[] args) {
    // Before LevelDB's classes load: the journal must append with write(2), never through a
    // memory map that a full disk turns into a fatal SIGBUS (bin/berthd passes it too).
    System.setProperty("leveldb.mmap", "false");
    CommandLine cl = new CommandLine(new BerthDaemon());
    cl.setParameterExceptionHandler(
        (ex, a) -> {
          System.err.println("berthd: " + ex.getMessage());
          return 1;
        });
    System.exit(cl.execute(args));
  }

  @Override
  public Integer call() throws Exception {
    if (!runtime.equals("runc") && !runtime.equals("crun")) {
      System.err.println("berthd: unsupported runtime \"" + runtime + "\": use runc or crun");
      return 1;
    }
    if (shimGroupSize < 1 || shimGroupSize > 64) {
      System.err.println("berthd: --shim-group-size must be 1..64, not " + shimGroupSize);
      return 2;
    }
    // before anything is created or locked: a bad profile leaves no trace
    SecurityDefaults security;
    try {
      security = SecurityDefaults.fromSeccompFlag(seccompProfile);
    } catch (SeccompProfile.InvalidProfileException e) {
      System.err.println("berthd: " + e.getMessage());
      return 1;
    }
    root = root.toAbsolutePath().normalize();
    state = state.toAbsolutePath().normalize();
    socket = (socket != null ? socket : state.resolve("berth.sock")).toAbsolutePath().normalize();
    Path home = Path.of(System.getProperty("berth.home", ".")).toAbsolutePath().normalize();
    BerthPaths paths = new BerthPaths(root, state, socket, home, runtime);

    // Before any file is made: everything the daemon (and every shim and runc it starts) creates
    // is private, whatever umask the caller had.
    Posix.umask(PrivateTree.UMASK);
    PrivateTree.enforce(paths);
    FileLock lock = lockRoot(paths);
    if (lock == null) return 1;
    String runtimeVersion = runtimeVersion(runtime);
    if (runtimeVersion == null) {
      System.err.println("berthd: the OCI runtime \"" + runtime + "\" was not found on PATH");
      return 1;
    }
    RegistryConfig registries;
    try {
      registries =
          RegistryConfig.fromFlags(
              defaultRegistry,
              repositoryPrefix,
              insecureRegistries,
              registryMirrors,
              Duration.ofSeconds(registryTimeoutSeconds));
    } catch (ImageException e) {
      System.err.println("berthd: " + e.getMessage());
      return 1;
    }
    long minFree;
    try {
      minFree = parseSize(minFreeSpace);
    } catch (IllegalArgumentException e) {
      System.err.println("berthd: --min-free-space: " + e.getMessage());
      return 1;
    }
    prepareDirs(paths);
    List<Path> cniDirs = new ArrayList<>();
    for (String d : cniPath.split(":")) if (!d.isBlank()) cniDirs.add(Path.of(d));
    ContainerNetworks networks =
        new ContainerNetworks(
            root, state, bridge, bridgeSubnet, new CniPlugins(cniDirs, Duration.ofSeconds(30)));
    try {
      networks.open();
    } catch (IllegalArgumentException | java.io.IOException e) {
      System.err.println("berthd: " + e.getMessage());
      return 1;
    }
    if (!claimSocket(socket)) return 1;
    // Written only by the holder of the root lock, so it never names a second, refused daemon.
    Path pidFile =
        (pidfile != null ? pidfile : state.resolve("berthd.pid")).toAbsolutePath().normalize();
    try {
      dev.berth.runtime.files.AtomicFiles.write(
          pidFile, Long.toString(ProcessHandle.current().pid()) + "\n");
    } catch (IOException e) {
      System.err.println("berthd: cannot write the pid file " + pidFile + ": " + e.getMessage());
      return 1;
    }
    DiskSpace disk = new DiskSpace(root, state, minFree);
    disk.maintain(); // gives the reserve up before the journal opens if the disk is full
    ScheduledExecutorService ticker =
        Executors.newSingleThreadScheduledExecutor(named("disk-space"));
    ticker.scheduleWithFixedDelay(disk::maintain, 2, 2, TimeUnit.SECONDS);

    JournalCheck.Outcome journalCheck = JournalCheck.checkAndSetAside(root);
    JournalHealth journal =
        journalCheck.damaged()
            ? new JournalHealth(journalCheck.reason(), journalCheck.setAside().toString())
            : JournalHealth.healthy();
    if (journalCheck.damaged()) {
      log.error(
          "the journal is damaged ({}): set aside in {}; starting on a fresh journal and rebuilding containers from disk",
          journalCheck.reason(),
          journalCheck.setAside());
    }
    ExecutorService blocking = Executors.newCachedThreadPool(named("berth-blocking"));
    Config config = JournalConfig.forRoot(root).withFallback(ConfigFactory.load());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "berthd", config);
    EventLoopGroup shimGroup = new EpollEventLoopGroup(2, named("shim-client"));
    ImageStore images = new ImageStore(paths.images());
    Puller puller =
        new Puller(images, registries, new RegistryCredentials(root.resolve("auth.json")));
    ContainerRuntime containerRuntime =
        new ContainerRuntime(
            paths,
            images,
            security,
            system,
            shimGroup,
            blocking,
            spareShims,
            networks,
            shimGroupSize);
    containerRuntime.open();
    ActorRef<ContainerSupervisor.Command> supervisor =
        system.systemActorOf(
            ContainerSupervisor.create(
                containerRuntime,
                (id, name, params) -> {
                  ContainerSpec spec = ContainerSpecs.build(id, name, params, images);
                  try {
                    // a host port that is taken is refused before the container exists
                    networks.checkPorts(id, spec.networkOrNone());
                  } catch (RuntimeException e) {
                    images.release(id);
                    throw e;
                  }
                  return spec;
                },
                blocking,
                journal),
            "containers",
            Props.empty());

    GetVersionResponse version =
        GetVersionResponse.newBuilder()
            .setVersion(VERSION)
            .setApiVersion("berth.v1")
            .setRuntime(runtime)
            .setRuntimeVersion(runtimeVersion)
            .setRoot(root.toString())
            .setState(state.toString())
            .build();
    HealthStatusManager health = new HealthStatusManager();
    EpollEventLoopGroup boss = new EpollEventLoopGroup(1, named("api-boss"));
    EpollEventLoopGroup workers = new EpollEventLoopGroup(2, named("api"));
    SourceToStream streams = new SourceToStream(system);
    EventFeed feed = new EventFeed(system);
    Containers containers = new Containers(system, supervisor, blocking);
    Events events = new Events(system, feed, containers);
    NettyServerBuilder builder =
        NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .channelType(EpollServerDomainSocketChannel.class)
            .bossEventLoopGroup(boss)
            .workerEventLoopGroup(workers)
            .executor(blocking)
            .maxInboundMessageSize(MAX_REQUEST_BYTES)
            .intercept(new DiskSpaceInterceptor(disk))
            .addService(
                RequestGuard.guard(
                    new SystemService(
                            () -> version.toBuilder().setJournal(journal.summary()).build())
                        .bindService()))
            .addService(
                RequestGuard.guard(
                    new ContainersService(containers, streams, containerRuntime::networkSettings)
                        .bindService()))
            .addService(RequestGuard.guard(new EventsService(events, streams).bindService()))
            .addService(
                RequestGuard.guard(
                    new ExecService(new Execs(system, supervisor), streams).bindService()))
            .addService(
                RequestGuard.guard(
                    new ImagesService(
                            new Images(images, puller, containers, blocking),
                            puller,
                            streams,
                            blocking)
                        .bindService()))
            .addService(health.getHealthService())
            .addService(ProtoReflectionServiceV1.newInstance())
            .addService(ProtoReflectionService.newInstance());
    if (enableFailpoints) {
      builder.addService(RequestGuard.guard(new FailpointsService(containers).bindService()));
      log.warn("failpoints enabled (--enable-failpoints): a test daemon, never a production one");
    }
    Server server = builder.build().start();
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
    log.info(
        "berthd {} serving on {} (root {}, state {}, runtime {} {}, seccomp {})",
        VERSION,
        socket,
        root,
        state,
        runtime,
        runtimeVersion,
        security.seccompSource());

    // A daemon stop is not a container stop: shims run in their own sessions and stay up.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  log.info("berthd shutting down; containers keep running");
                  health.enterTerminalState();
                  server.shutdown();
                  try {
                    server.awaitTermination(2, TimeUnit.SECONDS);
                  } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                  }
                  server.shutdownNow();
                  containerRuntime.close();
                  system.terminate();
                  try {
                    system.getWhenTerminated().toCompletableFuture().get(5, TimeUnit.SECONDS);
                  } catch (Exception ignored) {
                    // exiting anyway
                  }
                  try {
                    Files.deleteIfExists(socket);
                    Files.deleteIfExists(pidFile);
                    lock.release();
                  } catch (IOException ignored) {
                    // the lock dies with the process regardless
                  }
                  // A requested stop is a clean exit (0), not "killed by SIGTERM" (143).
                  Runtime.getRuntime().halt(0);
                },
                "berthd-shutdown"));
    server.awaitTermination();
    return 0;
  }

  /** "64m", "1g", "512k" or plain bytes (binary units). */
  static long parseSize(String s) {
    String t = s.strip().toLowerCase(java.util.Locale.ROOT);
    if (!t.matches("[0-9]{1,12}[kmg]?b?"))
      throw new IllegalArgumentException("invalid size \"" + s + "\" (e.g. 64m, 1g)");
    t = t.endsWith("b") ? t.substring(0, t.length() - 1) : t;
    char unit = t.charAt(t.length() - 1);
    long shift =
        switch (unit) {
          case 'k' -> 10;
          case 'm' -> 20;
          case 'g' -> 30;
          default -> 0;
        };
    String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
    return Long.parseLong(digits) << shift;
  }

  /** One daemon per root: a second one would corrupt the journal. */
  private static FileLock lockRoot(BerthPaths paths) throws IOException {
    FileChannel ch =
        FileChannel.open(
            paths.lockFile(),
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.READ);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      String holder =
          new String(Files.readAllBytes(paths.lockFile()), StandardCharsets.UTF_8).strip();
      System.err.println(
          "berthd: another berthd"
              + (holder.isEmpty() ? "" : " (pid " + holder + ")")
              + " is already using root "
              + paths.root());
      ch.close();
      return null;
    }
    ch.truncate(0);
    ch.write(
        java.nio.ByteBuffer.wrap(
            (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)));
    ch.force(true);
    return lock;
  }

  private static void prepareDirs(BerthPaths paths) throws IOException {
    PrivateTree.privateDir(paths.shims());
    PrivateTree.privateDir(paths.shimSocket("x").getParent());
    PrivateTree.privateDir(paths.containers());
    PrivateTree.privateDir(paths.images());
    Files.createDirectories(paths.socket().getParent());
  }

  /** Removes a stale socket file, but refuses when something still answers on it. */
  private static boolean claimSocket(Path socket) throws IOException {
    if (!Files.exists(socket)) return true;
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      System.err.println("berthd: another process is serving on " + socket);
      return false;
    } catch (IOException stale) {
      Files.deleteIfExists(socket);
      return true;
    }
  }

  private static String runtimeVersion(String runtime) {
    try {
      Process p = new ProcessBuilder(runtime, "--version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) return null;
      String first = out.lines().findFirst().orElse("");
      return first.replaceFirst("^\\S+ version ", "").strip();
    } catch (IOException | InterruptedException e) {
      return null;
    }
  }

  private static ThreadFactory named(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
