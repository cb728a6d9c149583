package dev.berth.shim;

import dev.berth.api.transport.UnixSockets;
import dev.berth.runtime.files.AtomicFiles;
import dev.berth.runtime.nativ.Posix;
import dev.berth.runtime.nativ.Reaper;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import sun.misc.Signal;

/**
 * berth-shim: one small JVM per container. Start-up contract (DEVELOPERS.md, "Shim contract"):
 * setsid, become child subreaper, create the dirs (0700), bind the gRPC server on the unix socket
 * (0600), then write {@code shim.pid} and last {@code address} atomically into the state dir. The
 * daemon treats {@code address} as "serving".
 */
public final class ShimMain {
  private static final AtomicBoolean EXITING = new AtomicBoolean();

  private ShimMain() {}

  public static void main(String[] args) {
    ShimOptions options;
    try {
      options = ShimOptions.parse(args);
    } catch (ShimOptions.UsageException e) {
      System.err.println("berth-shim: " + e.getMessage());
      System.err.println(ShimOptions.USAGE);
      System.exit(2);
      return;
    }
    ShimLog.setId(options.id());
    try {
      run(options);
    } catch (Exception e) {
      ShimLog.info("FATAL " + e);
      if (System.getenv("BERTH_SHIM_DEBUG") != null) {
        e.printStackTrace();
      }
      System.exit(1);
    }
  }

  private static void run(ShimOptions options) throws Exception {
    // A new session: the daemon's process group or terminal going away must not take us along.
    // EPERM means we already lead a process group (started with setsid), which is as good.
    Posix.setsid();
    Posix.setChildSubreaper();

    createPrivateDir(options.stateDir());
    createPrivateDir(options.runtimeRoot());
    createPrivateDir(options.socket().getParent());
    removeStaleSocket(options.socket());

    Reaper reaper = new Reaper().start();
    ExecutorService io = Executors.newCachedThreadPool(daemonThreads("berth-io"));
    ExecutorService exitHandling = Executors.newSingleThreadExecutor(daemonThreads("berth-exit"));
    RuncDriver runc =
        new RuncDriver(
            options.runtime(),
            options.runtimeTimeout(),
            options.runtimeRoot(),
            options.stateDir().resolve("runc.log"),
            reaper,
            io);

    Server[] server = new Server[1];
    TaskService service =
        new TaskService(options, runc, reaper, io, exitHandling, () -> exit(server[0], 0));
    // grpc's OkHttp server on a JDK unix-domain socket (UnixSockets): no netty, so no native
    // library, event loops or buffer pools to start and keep per container. Its transport
    // threads (an accept loop, one reader per connection; one client, the daemon) come from
    // the shim's cached pool, as do the calls.
    server[0] =
        UnixSockets.server(options.socket())
            .transportExecutor(io)
            .executor(io)
            .addService(ServerInterceptors.intercept(service, new FailpointInterceptor()))
            .build()
            .start();
    // Until this chmod the umask's 0755 already refuses connect() (it needs write permission).
    Files.setPosixFilePermissions(options.socket(), PosixFilePermissions.fromString("rw-------"));

    Signal.handle(new Signal("TERM"), sig -> exit(server[0], 0));
    Signal.handle(new Signal("INT"), sig -> exit(server[0], 0));

    if (options.spare()) {
      warmUp(runc);
    }
    AtomicFiles.write(options.stateDir().resolve("shim.pid"), Integer.toString(Posix.getpid()));
    AtomicFiles.write(options.stateDir().resolve("address"), options.socket().toString());
    ShimLog.info(
        "serving on "
            + options.socket()
            + " (pid "
            + Posix.getpid()
            + ", runtime "
            + options.runtime()
            + ")");

    if (options.spare()) {
      watchParent(options, service, server);
    }

    server[0].awaitTermination();
    // Reached only if the server stops on its own; exit() normally calls System.exit first.
    exit(server[0], 0);
    Thread.sleep(Long.MAX_VALUE);
  }

  /**
   * Ends the shim shortly after the current reply is out: a graceful server shutdown lets the
   * in-flight response reach the client; after at most 2s the JVM exits anyway. The container, if
   * still running, is not touched.
   */
  static void exit(Server server, int status) {
    if (!EXITING.compareAndSet(false, true)) {
      return;
    }
    Thread t =
        new Thread(
            () -> {
              try {
                if (server != null) {
                  server.shutdown();
                  server.awaitTermination(2, TimeUnit.SECONDS);
                }
              } catch (InterruptedException ignored) {
                // exiting anyway
              }
              ShimLog.info("exit " + status);
              System.exit(status);
            },
            "berth-exit-shim");
    t.start();
  }

  /**
   * A spare nobody adopted must not outlive the daemon that started it: once its parent is gone, it
   * removes its state dir and socket and exits. An adopted shim is a container's shim and stays,
   * whatever happens to the daemon.
   *
   * <p>"Gone" is judged against the daemon's pid from {@code --parent-pid}: when the daemon dies
   * the shim is reparented (to init or a subreaper), so {@code getppid()} no longer returns it.
   * That also covers a daemon killed while this JVM was still starting: reading getppid() only now
   * would already see the new parent and take it for the daemon. Without the flag (an older daemon)
   * the parent seen now is the best guess. The first check runs at once.
   */
  private static void watchParent(ShimOptions options, TaskService service, Server[] server) {
    int parent = options.parentPid() > 0 ? options.parentPid() : Posix.getppid();
    Thread t =
        new Thread(
            () -> {
              while (!service.adopted()) {
                int now = Posix.getppid();
                if (now != parent && service.abandon()) {
                  ShimLog.info(
                      "spare's daemon (pid "
                          + parent
                          + ") is gone (parent now "
                          + now
                          + "); exiting");
                  service.removeStateDirAndSocket();
                  exit(server[0], 0);
                  return;
                }
                try {
                  Thread.sleep(500);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "berth-spare-watch");
    t.setDaemon(true);
    t.start();
  }

  /**
   * A spare's work ahead of need, before it reports itself ready: one run of the runtime ({@code
   * runc --version}: it checks the binary and logs its version) and a mount(2) call that mounts
   * nothing take the first-call costs of spawning, reaping, pipes and mounting (jnr binds each libc
   * function on first use) off the start of the container that adopts it: its Create took ~45 ms
   * instead of ~85, measured.
   */
  private static void warmUp(RuncDriver runc) {
    try {
      ShimLog.info("runtime: " + runc.version());
    } catch (RuncDriver.RuncException | RuntimeException e) {
      ShimLog.info("runtime check failed: " + e.getMessage());
    }
    Posix.bindMount();
  }

  private static void createPrivateDir(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    }
  }

  /**
   * A socket file left by a dead shim would make bind fail with EADDRINUSE. If something still
   * answers on it, it is a live shim and we must not steal its address.
   */
  private static void removeStaleSocket(Path socket) throws IOException {
    if (!Files.exists(socket)) {
      return;
    }
    try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      probe.connect(UnixDomainSocketAddress.of(socket));
      throw new IOException("socket " + socket + " is in use by a live process");
    } catch (IOException refused) {
      if (refused.getMessage() != null
          && refused.getMessage().endsWith("in use by a live process")) {
        throw refused;
      }
    }
    Files.delete(socket);
  }

  private static ThreadFactory daemonThreads(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
