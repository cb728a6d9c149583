package dev.berth.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.api.failpoint.Failpoints;
import dev.berth.api.shim.v1.CreateTaskRequest;
import dev.berth.api.shim.v1.Mount;
import dev.berth.api.shim.v1.TaskStateReply;
import dev.berth.core.BerthException;
import dev.berth.core.ContainerSpec;
import dev.berth.core.ExitInfo;
import dev.berth.core.NetworkSettings;
import dev.berth.core.NetworkSpec;
import dev.berth.host.BerthPaths;
import dev.berth.host.PrivateTree;
import dev.berth.images.ImageRecord;
import dev.berth.images.ImageStore;
import dev.berth.images.rootfs.MountSpec;
import dev.berth.images.rootfs.Rootfs;
import dev.berth.network.ContainerNetworks;
import dev.berth.network.EtcFiles;
import dev.berth.oci.ProcessConfig;
import dev.berth.oci.RuntimeSpec;
import dev.berth.oci.SeccompProfile;
import dev.berth.oci.SecurityDefaults;
import dev.berth.runtime.files.AtomicFiles;
import dev.berth.runtime.files.FileTrees;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The blocking side of a container's lifecycle (files, mounts, shim processes), run on a dedicated
 * executor so actors only ever see CompletionStages.
 */
public final class ContainerRuntime implements TaskRuntime {
  private static final Logger log = LoggerFactory.getLogger(ContainerRuntime.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration RPC_TIMEOUT = Duration.ofSeconds(30);

  private final BerthPaths paths;
  private final ImageStore images;
  private final ActorSystem<?> system;
  private final EventLoopGroup group;
  private final Executor blocking;
  private final ShimLauncher launcher;
  private final ShimPool spares;
  private final ShimGroups groups;
  private final SecurityDefaults security;

  /** Null when the daemon runs without networks (tests): every container gets loopback only. */
  private final ContainerNetworks networks;

  /** One shim per container (the form before shim groups): {@code --shim-group-size 1}. */
  public ContainerRuntime(
      BerthPaths paths,
      ImageStore images,
      SecurityDefaults security,
      ActorSystem<?> system,
      EventLoopGroup group,
      Executor blocking,
      int spareShims) {
    this(paths, images, security, system, group, blocking, spareShims, null, 1);
  }

  /**
   * @param networks null when the daemon runs without networks (tests): loopback only
   * @param shimGroupSize how many containers one group shim serves (1..64); 1 keeps one shim per
   *     container for containers without a named group
   */
  public ContainerRuntime(
      BerthPaths paths,
      ImageStore images,
      SecurityDefaults security,
      ActorSystem<?> system,
      EventLoopGroup group,
      Executor blocking,
      int spareShims,
      ContainerNetworks networks,
      int shimGroupSize) {
    this.networks = networks;
    this.paths = paths;
    this.security = security;
    this.images = images;
    this.system = system;
    this.group = group;
    this.blocking = blocking;
    this.launcher = new ShimLauncher(paths);
    this.spares =
        new ShimPool(
            launcher,
            paths,
            blocking,
            spareShims,
            shim -> ShimClient.connect(system, shim.socket(), group));
    this.groups = new ShimGroups(new GroupBackend(), blocking, shimGroupSize);
  }

  /** At daemon start: clear spares of an earlier daemon, find the live group shims, start ours. */
  public void open() {
    if (networks != null) {
      try {
        networks.reconcile(new java.util.HashSet<>(bundlesOnDisk().toCompletableFuture().join()));
      } catch (RuntimeException e) {
        log.warn("network reconcile failed: {}", BerthException.from(e).getMessage());
      }
    }
    spares.removeLeftovers();
    discoverGroups();
    spares.replenish();
  }

  /** Starts and ends the group shims for {@link ShimGroups}. */
  private final class GroupBackend implements ShimGroups.Backend {
    @Override
    public ShimGroups.Shim takeSpare() {
      ShimPool.Spare spare = spares.take();
      if (spare == null) return null;
      return new ShimGroups.Shim(
          spare.shim().pid(), spare.shim().socket(), spare.shim().dir(), spare.client());
    }

    @Override
    public ShimGroups.Shim launch(String name) throws Exception {
      ShimLauncher.Launched shim = launcher.launchGroup(name);
      return new ShimGroups.Shim(
          shim.pid(), shim.socket(), shim.dir(), ShimClient.connect(system, shim.socket(), group));
    }

    @Override
    public void shutdown(String name, ShimGroups.Shim shim) {
      try {
        shim.client().shutdown(false).toCompletableFuture().get(10, TimeUnit.SECONDS);
        if (!ShimPool.awaitGone(shim.pid(), 5_000))
          log.warn("shim {} of group {} did not end after Shutdown", shim.pid(), name);
      } catch (Exception e) {
        log.warn(
            "shutdown of group {}'s shim {} failed ({}); ending it from outside",
            name,
            shim.pid(),
            BerthException.from(e).getMessage());
        if (isBerthShim(shim.pid())) {
          ProcessHandle.of(shim.pid()).ifPresent(ProcessHandle::destroyForcibly);
          ShimPool.awaitGone(shim.pid(), 5_000);
        }
      }
      try {
        removeGroupState(paths.groups().resolve(name), shim.socket());
      } catch (IOException e) {
        log.warn("cannot remove group {}'s state: {}", name, e.getMessage());
      }
    }

    @Override
    public void replenishSpare() {
      spares.replenish();
    }
  }

  /**
   * Removes a group's dir and its socket (the one its {@code address} names: an adopted spare keeps
   * its spare-named socket), once its shim is gone.
   */
  private static void removeGroupState(Path dir, Path knownSocket) throws IOException {
    try {
      Files.deleteIfExists(
          Path.of(Files.readString(dir.resolve("address"), StandardCharsets.UTF_8).strip()));
    } catch (NoSuchFileException ignored) {
      // no address: the shim removed it (and its socket) itself
    }
    if (knownSocket != null) Files.deleteIfExists(knownSocket);
    FileTrees.deleteRecursively(dir);
  }

  /**
   * At daemon start: every group dir with a live shim joins {@link ShimGroups} with the containers
   * whose task.json names it; a dead group shim's dir goes once none of its containers is left.
   */
  private void discoverGroups() {
    java.util.Map<String, List<String>> members = new java.util.HashMap<>();
    try (var dirs = Files.newDirectoryStream(paths.shims())) {
      for (Path d : dirs) {
        String g = taskGroup(d.getFileName().toString());
        if (g != null)
          members
              .computeIfAbsent(g, k -> new java.util.ArrayList<>())
              .add(d.getFileName().toString());
      }
    } catch (NoSuchFileException none) {
      // no container ever ran
    } catch (IOException e) {
      log.warn("cannot list {}: {}", paths.shims(), e.getMessage());
    }
    try (var dirs =
        Files.newDirectoryStream(
            paths.groups(), d -> !d.getFileName().toString().startsWith(".spare-"))) {
      for (Path d : dirs) {
        String name = d.getFileName().toString();
        long pid = readPid(d.resolve("shim.pid"));
        List<String> of = members.getOrDefault(name, List.of());
        if (pid > 0 && isBerthShim(pid) && Files.exists(d.resolve("address"))) {
          Path socket =
              Path.of(Files.readString(d.resolve("address"), StandardCharsets.UTF_8).strip());
          groups.found(
              name,
              new ShimGroups.Shim(pid, socket, d, ShimClient.connect(system, socket, group)),
              of);
          log.info("shim group {}: shim {} serves {} containers", name, pid, of.size());
        } else if (of.isEmpty()) {
          removeGroupState(d, null);
        }
      }
    } catch (NoSuchFileException none) {
      // no group ever ran
    } catch (IOException e) {
      log.warn("cannot list {}: {}", paths.groups(), e.getMessage());
    }
  }

  /** The group a container's task dir names (task.json), or null (a shim of its own, or none). */
  private String taskGroup(String id) {
    Path f = paths.shimDir(id).resolve("task.json");
    try {
      String g = JSON.readTree(Files.readAllBytes(f)).path("group").asText("");
      return g.isEmpty() ? null : g;
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      log.warn("unreadable {}: {}", f, e.getMessage());
      return null;
    }
  }

  /** At daemon stop: containers' shims stay; the spare goes. */
  public void close() {
    spares.close();
  }

  /** The containers' networks; null when the daemon has none. */
  public ContainerNetworks networks() {
    return networks;
  }

  /** The network a container has now (inspect), if it has one set up. */
  public Optional<NetworkSettings> networkSettings(String id) {
    return networks == null ? Optional.empty() : networks.settings(id);
  }

  @Override
  public BerthPaths paths() {
    return paths;
  }

  /**
   * Writes the OCI bundle (config.json) and the overlay dirs; no process, no mount yet. The
   * container is recorded by now (its image is in the supervisor's in-use set): the lease its
   * create took on the image ({@link ContainerSpecs#build}) is released once the bundle is written
   * or has failed.
   */
  @Override
  public CompletionStage<Void> prepareBundle(ContainerSpec spec) {
    return run(
        () -> {
          try {
            return writeBundle(spec);
          } finally {
            images.release(spec.id());
          }
        });
  }

  private Void writeBundle(ContainerSpec spec) throws Exception {
    Path bundle = paths.bundle(spec.id());
    try {
      PrivateTree.privateDir(bundle);
      Files.createDirectories(paths.rootfs(spec.id()));
      Files.createDirectories(paths.work(spec.id()));
      // The upper dir becomes the container's "/": it needs the modes a root dir has, while
      // the
      // 0700 bundle above it keeps host users out.
      Files.createDirectories(paths.upper(spec.id()));
      Files.setPosixFilePermissions(paths.upper(spec.id()), PrivateTree.CONTAINER_ROOT);
      byte[] config =
          RuntimeSpec.generate(
              spec.id(),
              new ProcessConfig(
                  spec.args(),
                  spec.env(),
                  spec.cwd(),
                  spec.uid(),
                  spec.gid(),
                  spec.additionalGids()),
              spec.hostname(),
              Path.of(BerthPaths.ROOTFS),
              etcMounts(spec),
              seccomp(spec),
              networkNamespace(spec));
      AtomicFiles.write(bundle.resolve("config.json"), config);
      AtomicFiles.write(bundle.resolve(BundleRecord.FILE_NAME), BundleRecord.serialize(spec));
      // The shim reads its failpoints from the bundle when it takes the container on
      // (Create).
      Path failpoints = bundle.resolve(Failpoints.FILE_NAME);
      if (spec.failpointsOrEmpty().isEmpty()) Files.deleteIfExists(failpoints);
      else Failpoints.write(failpoints, spec.failpointsOrEmpty());
      // The log exists from creation on, so a follower can hold it open from the start and
      // still read it to the end after a --rm removal unlinks it.
      if (!Files.exists(paths.log(spec.id()))) Files.createFile(paths.log(spec.id()));
      return null;
    } catch (Exception e) {
      FileTrees.deleteRecursively(bundle);
      throw e;
    }
  }

  /**
   * null: a namespace of the container's own (loopback only: none, and specs from before networks);
   * "": the host's; else the pinned namespace CNI sets up.
   */
  private String networkNamespace(ContainerSpec spec) {
    NetworkSpec n = spec.network();
    if (n == null || n.mode().equals(NetworkSpec.NONE)) return null;
    if (n.host()) return "";
    if (networks == null) throw BerthException.unavailable("this daemon has no networks");
    return networks.netnsPath(spec.id()).toString();
  }

  /** /etc/hosts, /etc/hostname and /etc/resolv.conf from the bundle (written at each start). */
  private List<java.util.Map<String, Object>> etcMounts(ContainerSpec spec) {
    if (spec.network() == null) return List.of();
    List<java.util.Map<String, Object>> mounts = new java.util.ArrayList<>();
    for (String f : List.of(EtcFiles.HOSTS, EtcFiles.HOSTNAME, EtcFiles.RESOLV_CONF)) {
      mounts.add(
          java.util.Map.of(
              "destination",
              "/etc/" + f,
              "type",
              "bind",
              "source",
              paths.bundle(spec.id()).resolve(f).toString(),
              "options",
              List.of("rbind", "rprivate")));
    }
    return mounts;
  }

  /**
   * Sets up the container's network (bridge: CNI ADD, kept once made) and writes its /etc files.
   */
  private void prepareNetwork(ContainerSpec spec) throws IOException {
    NetworkSpec n = spec.network();
    if (n == null) return;
    String ip = "";
    if (n.bridged()) {
      if (networks == null) throw BerthException.unavailable("this daemon has no networks");
      ip = networks.setUp(spec.id(), n).ipAddress();
    }
    String hostname =
        spec.hostname() == null || spec.hostname().isBlank()
            ? spec.id().substring(0, 12)
            : spec.hostname();
    EtcFiles.write(
        paths.bundle(spec.id()), hostname, spec.name(), ip, n, EtcFiles.hostResolvConf());
  }

  private void tearDownNetwork(String id) {
    if (networks == null) return;
    try {
      networks.tearDown(id);
    } catch (RuntimeException e) {
      // the cache stays: reconcile at the next daemon start tries again
      log.warn("network of {} not fully removed: {}", id, BerthException.from(e).getMessage());
    }
  }

  private JsonNode seccomp(ContainerSpec spec) {
    try {
      return security.seccompFor(spec.seccompProfile());
    } catch (SeccompProfile.InvalidProfileException e) {
      // checked at create; only a journal from a daemon with other rules could get here
      throw BerthException.invalid(e.getMessage());
    }
  }

  /**
   * Bundles written before the root path became relative name the rootfs by its absolute path,
   * which is wrong once --root has moved (an operator moving /var/lib/berth to another disk): such
   * a path is rewritten to the bundle-relative one before the bundle runs again.
   */
  private void rebaseRoot(String id) throws IOException {
    Path config = paths.bundle(id).resolve("config.json");
    ObjectNode tree = (ObjectNode) CONFIG_JSON.readTree(config.toFile());
    JsonNode path = tree.path("root").path("path");
    if (!path.isTextual() || !path.asText().startsWith("/")) return;
    if (Path.of(path.asText()).equals(paths.rootfs(id))) return;
    ((ObjectNode) tree.get("root")).put("path", BerthPaths.ROOTFS);
    AtomicFiles.write(config, CONFIG_JSON.writeValueAsBytes(tree));
    log.info(
        "container {}: rootfs path {} (an older bundle location) now bundle-relative", id, path);
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper CONFIG_JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /**
   * Launches a shim and runs create + start in it. On failure nothing is left running or mounted.
   */
  @Override
  public CompletionStage<RunningTask> start(ContainerSpec spec) {
    return run(
        () -> {
          String id = spec.id();
          ImageRecord image =
              images
                  .resolve(spec.imageId())
                  .orElseThrow(
                      () ->
                          BerthException.precondition(
                              "image "
                                  + spec.imageId()
                                  + " of container "
                                  + spec.name()
                                  + " no longer exists"));
          MountSpec rootfs =
              Rootfs.overlay(images.layerDirs(image), paths.upper(id), paths.work(id));
          long t0 = System.nanoTime();
          forceCleanup(id); // a previous run's shim must not linger
          rebaseRoot(id);
          try {
            prepareNetwork(spec);
          } catch (Exception e) {
            tearDownNetwork(id); // nothing of this start is left
            throw e;
          }
          // A default container with failpoints gets a shim of its own: a crash failpoint kills
          // its shim, which must not take an auto group's other containers along.
          if (spec.shimGroupOrNull() != null
              || (groups.size() > 1 && spec.failpointsOrEmpty().isEmpty())) {
            return startGrouped(spec, rootfs, t0);
          }
          ShimPool.Spare spare;
          ShimLauncher.Launched shim;
          ShimClient client;
          try {
            spare = spares.take();
            shim = spare != null ? spare.shim() : launcher.launch(id);
            client =
                spare != null ? spare.client() : ShimClient.connect(system, shim.socket(), group);
          } catch (Exception e) {
            tearDownNetwork(id); // nothing of this start is left
            throw e;
          }
          long t1 = System.nanoTime();
          try {
            int pid =
                client
                    .create(
                        CreateTaskRequest.newBuilder()
                            .setId(id)
                            .setBundle(paths.bundle(id).toString())
                            .addRootfs(
                                Mount.newBuilder()
                                    .setType(rootfs.type())
                                    .setSource(rootfs.source())
                                    .addAllOptions(rootfs.options()))
                            .setLogPath(paths.log(id).toString())
                            .build())
                    .toCompletableFuture()
                    .get(RPC_TIMEOUT.toSeconds(), TimeUnit.SECONDS)
                    .getPid();
            long t2 = System.nanoTime();
            client.start().toCompletableFuture().get(RPC_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            long t3 = System.nanoTime();
            log.debug(
                "started {}: shim {} ms ({}), create {} ms, start {} ms",
                id,
                (t1 - t0) / 1_000_000,
                spare != null ? "spare" : "launched",
                (t2 - t1) / 1_000_000,
                (t3 - t2) / 1_000_000);
            spares.replenish();
            return new RunningTask(
                pid, shim.pid(), shim.socket().toString(), Instant.now(), client);
          } catch (Exception e) {
            spares.replenish();
            BerthException failure = BerthException.from(e);
            log.warn("start of {} failed: {}", id, failure.getMessage());
            try {
              client.delete().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (Exception ignored) {
              // the shim could not clean up after itself; forceCleanup below does it from outside
            }
            client.close();
            // A shim that could not even take the container on (e.g. a spare that failed adoption)
            // is not found by forceCleanup under the container's dir: end it here.
            if (shim.process().isAlive()) {
              shim.process().destroyForcibly();
              shim.process().waitFor(5, TimeUnit.SECONDS);
            }
            FileTrees.deleteRecursively(shim.dir());
            Files.deleteIfExists(shim.socket());
            forceCleanup(id);
            tearDownNetwork(id);
            throw failure;
          }
        });
  }

  /**
   * Runs create + start in a group shim: a slot is reserved first (the group's shim is started if
   * it has none), then the container joins. On failure the slot is released and nothing of this
   * container is left; the group shim and its other containers are never touched.
   */
  private RunningTask startGrouped(ContainerSpec spec, MountSpec rootfs, long t0) throws Exception {
    String id = spec.id();
    ShimGroups.Slot slot = groups.reserve(spec.shimGroupOrNull());
    ShimClient handle = null;
    try {
      ShimGroups.Shim shim = slot.await(Duration.ofSeconds(60));
      handle = groups.handle(slot.group(), id);
      if (handle == null) {
        throw BerthException.internal("shim group " + slot.group() + " ended meanwhile");
      }
      long t1 = System.nanoTime();
      int pid =
          handle
              .create(
                  CreateTaskRequest.newBuilder()
                      .setId(id)
                      .setBundle(paths.bundle(id).toString())
                      .addRootfs(
                          Mount.newBuilder()
                              .setType(rootfs.type())
                              .setSource(rootfs.source())
                              .addAllOptions(rootfs.options()))
                      .setLogPath(paths.log(id).toString())
                      .setGroup(slot.group())
                      .setMaxContainers(groups.size())
                      .build())
              .toCompletableFuture()
              .get(RPC_TIMEOUT.toSeconds(), TimeUnit.SECONDS)
              .getPid();
      slot.joined(id);
      long t2 = System.nanoTime();
      handle.start().toCompletableFuture().get(RPC_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      long t3 = System.nanoTime();
      log.debug(
          "started {}: shim {} ms (group {}, shim {}), create {} ms, start {} ms",
          id,
          (t1 - t0) / 1_000_000,
          slot.group(),
          shim.pid(),
          (t2 - t1) / 1_000_000,
          (t3 - t2) / 1_000_000);
      groups.replenishIfNeeded();
      return new RunningTask(
          pid, shim.pid(), shim.socket().toString(), Instant.now(), handle, slot.group());
    } catch (Exception e) {
      BerthException failure = BerthException.from(e);
      log.warn("start of {} failed: {}", id, failure.getMessage());
      if (handle != null) {
        try {
          handle.delete().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception ignored) {
          // not created, or the shim could not: forceCleanup below does it from outside
        }
        handle.close();
      }
      forceCleanup(id); // never the group shim: only this container's runc state, mount, dir
      tearDownNetwork(id);
      slot.release();
      groups.left(id);
      groups.replenishIfNeeded();
      throw failure;
    }
  }

  /** Reconnects to the shim of a container the journal says is running (daemon restart). */
  @Override
  public CompletionStage<Observed> observe(String id) {
    return run(
        () -> {
          String taskGroup = taskGroup(id);
          if (taskGroup != null) return observeGrouped(id, taskGroup);
          Path dir = paths.shimDir(id);
          Optional<ExitInfo> exitFile = readExitFile(id);
          Path address = dir.resolve("address");
          if (!Files.exists(address)) {
            return exitFile
                .<Observed>map(x -> new Observed.Exited(x.exitCode(), x.finishedAt(), null))
                .orElseGet(() -> new Observed.Lost("shim state is gone"));
          }
          Path socket = Path.of(Files.readString(address, StandardCharsets.UTF_8).strip());
          long shimPid = readPid(dir.resolve("shim.pid"));
          if (shimPid <= 0 || !isBerthShim(shimPid)) {
            // Fail fast on a stale socket whose shim is gone, instead of waiting for a timeout.
            return exitFile
                .<Observed>map(x -> new Observed.Exited(x.exitCode(), x.finishedAt(), null))
                .orElseGet(() -> new Observed.Lost("shim " + shimPid + " is gone"));
          }
          ShimClient client = ShimClient.connect(system, socket, group);
          try {
            TaskStateReply st =
                client.state(Duration.ofSeconds(5)).toCompletableFuture().get(6, TimeUnit.SECONDS);
            if ("running".equals(st.getStatus()) || "created".equals(st.getStatus())) {
              return new Observed.Running(st.getPid(), shimPid, socket.toString(), client);
            }
            // A time the shim left out: when its exit file was written, else now.
            Instant best = exitFile.map(ExitInfo::finishedAt).orElseGet(Instant::now);
            return new Observed.Exited(
                st.getExitCode(),
                ExitTimes.parse(
                    st.getExitedAt(),
                    "State reply of " + id + "'s shim",
                    best,
                    exitFile.isPresent() ? "the exit file's time" : "the time of the reply"),
                client);
          } catch (Exception e) {
            client.close();
            if (exitFile.isPresent())
              return new Observed.Exited(
                  exitFile.get().exitCode(), exitFile.get().finishedAt(), null);
            // It may have died while we asked: only a gone process is a lost shim.
            if (!isBerthShim(shimPid)) return new Observed.Lost("shim " + shimPid + " is gone");
            return new Observed.Unresponsive(
                "shim " + shimPid + " does not answer: " + BerthException.from(e).getMessage());
          }
        });
  }

  /**
   * A grouped container's shim is its group's: found through {@link ShimGroups} (which found the
   * live ones at daemon start); asked about this one container.
   */
  private Observed observeGrouped(String id, String taskGroup) throws Exception {
    Optional<ExitInfo> exitFile = readExitFile(id);
    ShimGroups.Shim shim = groups.live(taskGroup);
    if (shim == null || !isBerthShim(shim.pid())) {
      return exitFile
          .<Observed>map(x -> new Observed.Exited(x.exitCode(), x.finishedAt(), null))
          .orElseGet(() -> new Observed.Lost("shim of group " + taskGroup + " is gone"));
    }
    ShimClient client = groups.handle(taskGroup, id);
    if (client == null) {
      return new Observed.Lost("shim of group " + taskGroup + " is gone");
    }
    try {
      TaskStateReply st =
          client.state(Duration.ofSeconds(5)).toCompletableFuture().get(6, TimeUnit.SECONDS);
      if ("running".equals(st.getStatus()) || "created".equals(st.getStatus())) {
        return new Observed.Running(
            st.getPid(), shim.pid(), shim.socket().toString(), client, taskGroup);
      }
      Instant best = exitFile.map(ExitInfo::finishedAt).orElseGet(Instant::now);
      return new Observed.Exited(
          st.getExitCode(),
          ExitTimes.parse(
              st.getExitedAt(),
              "State reply of " + id + "'s group shim",
              best,
              exitFile.isPresent() ? "the exit file's time" : "the time of the reply"),
          client);
    } catch (Exception e) {
      client.close();
      if (exitFile.isPresent())
        return new Observed.Exited(exitFile.get().exitCode(), exitFile.get().finishedAt(), null);
      if (!isBerthShim(shim.pid())) return new Observed.Lost("shim " + shim.pid() + " is gone");
      BerthException failure = BerthException.from(e);
      if (failure.code() == BerthException.Code.NOT_FOUND) {
        // a later shim of the group (the one it ran in died): it never knew this container
        return new Observed.Lost("shim of group " + taskGroup + " does not serve it any more");
      }
      return new Observed.Unresponsive(
          "shim " + shim.pid() + " does not answer: " + failure.getMessage());
    }
  }

  /**
   * After an exit: let the shim delete the task (runc delete, unmount) and end; clean up from
   * outside if it can't.
   */
  @Override
  public CompletionStage<Void> deleteTask(String id, TaskHandle clientOrNull) {
    return run(
        () -> {
          if (clientOrNull != null) {
            try {
              clientOrNull
                  .delete()
                  .toCompletableFuture()
                  .get(RPC_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            } catch (Exception e) {
              log.warn(
                  "shim delete of {} failed, cleaning up from outside: {}",
                  id,
                  BerthException.from(e).getMessage());
            } finally {
              clientOrNull.close();
            }
          }
          forceCleanup(id);
          groups.left(id);
          return null;
        });
  }

  /** Removes everything the container owns on disk. */
  @Override
  public CompletionStage<Void> removeBundle(String id) {
    return run(
        () -> {
          forceCleanup(id);
          tearDownNetwork(id);
          FileTrees.deleteRecursively(paths.bundle(id));
          return null;
        });
  }

  /**
   * Ids of the container bundles under {@code --root} (the journal's view is checked against it).
   */
  @Override
  public CompletionStage<List<String>> bundlesOnDisk() {
    return run(
        () -> {
          List<String> ids = new java.util.ArrayList<>();
          try (var dirs = Files.newDirectoryStream(paths.containers())) {
            for (Path d : dirs) {
              String name = d.getFileName().toString();
              if (name.matches("[0-9a-f]{64}")
                  && Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)) ids.add(name);
            }
          } catch (NoSuchFileException none) {
            // no container was ever made
          }
          return ids;
        });
  }

  @Override
  public CompletionStage<Optional<ContainerSpec>> readBundleRecord(String id) {
    return run(() -> BundleRecord.read(id, paths.bundle(id)));
  }

  /** When the shim started the container's process: runc writes init.pid as it creates it. */
  @Override
  public Optional<Instant> startedAt(String id) {
    try {
      return Optional.of(
          Files.getLastModifiedTime(paths.shimDir(id).resolve("init.pid")).toInstant());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  public Optional<ExitInfo> readExitFile(String id) {
    return readExitFile(id, paths.shimDir(id).resolve("exit.json"));
  }

  /** The shim's {@code exit.json}: {"exitCode":N,"exitedAt":"RFC3339","pid":P}. */
  static Optional<ExitInfo> readExitFile(String id, Path f) {
    try {
      JsonNode n = JSON.readTree(Files.readAllBytes(f));
      // The shim writes the file when init exits: its modification time is the best time known
      // if the file lacks one.
      Instant written = Files.getLastModifiedTime(f).toInstant();
      return Optional.of(
          new ExitInfo(
              id,
              n.path("exitCode").asInt(-1),
              ExitTimes.parse(
                  n.path("exitedAt").asText(""),
                  "exit file " + f,
                  written,
                  "the time the file was written")));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      log.warn("unreadable exit file {}: {}", f, e.getMessage());
      return Optional.empty();
    }
  }

  /**
   * Makes sure nothing of a task is left: the shim process, the runc container, the rootfs mount,
   * the shim's state dir and socket. Idempotent; used when the shim could not do it itself.
   */
  void forceCleanup(String id) throws IOException, InterruptedException {
    Path dir = paths.shimDir(id);
    // A grouped container's task dir has no shim.pid or address (they are the group's): its shim
    // is never killed here, only ShimGroups ends it, once the group is empty.
    String taskGroup = taskGroup(id);
    long shimPid = readPid(dir.resolve("shim.pid"));
    if (shimPid > 0 && isBerthShim(shimPid)) {
      // Only ever kill a berth shim (a recycled pid could be anything).
      ProcessHandle.of(shimPid)
          .ifPresent(
              ph -> {
                ph.destroyForcibly();
                try {
                  ph.onExit().get(5, TimeUnit.SECONDS);
                } catch (Exception ignored) {
                  // still going: runc delete --force below kills the container regardless
                }
              });
    }
    // A command that hangs is killed and reported, after the rest of the cleanup was done.
    IOException hung = null;
    if (Files.exists(paths.runtimeRoot().resolve(id))) {
      try {
        exec(
            List.of(
                paths.runtime(),
                "--root",
                paths.runtimeRoot().toString(),
                "delete",
                "--force",
                id));
      } catch (IOException e) {
        hung = e;
      }
    }
    Path rootfs = paths.rootfs(id);
    if (isMounted(rootfs)) {
      try {
        exec(List.of("umount", "-l", rootfs.toString()));
      } catch (IOException e) {
        if (hung == null) hung = e;
        else hung.addSuppressed(e);
      }
    }
    // An adopted spare keeps its own socket path: the address file says which it is.
    try {
      Files.deleteIfExists(
          Path.of(Files.readString(dir.resolve("address"), StandardCharsets.UTF_8).strip()));
    } catch (NoSuchFileException ignored) {
      // no address written: the socket below is the only candidate
    }
    FileTrees.deleteRecursively(dir);
    Files.deleteIfExists(paths.shimSocket(id));
    if (taskGroup != null) removeDeadGroup(taskGroup);
    if (hung != null) throw hung;
  }

  /**
   * A group whose shim died leaves its dir (address, shim.pid) and socket behind: they go with the
   * last of its containers' task dirs.
   */
  private void removeDeadGroup(String name) throws IOException {
    Path dir = paths.groups().resolve(name);
    if (!Files.isDirectory(dir)) return;
    long pid = readPid(dir.resolve("shim.pid"));
    if (pid > 0 && isBerthShim(pid)) return; // alive: ShimGroups ends it when it is empty
    try (var dirs = Files.newDirectoryStream(paths.shims())) {
      for (Path d : dirs) {
        if (name.equals(taskGroup(d.getFileName().toString()))) return; // a member is left
      }
    } catch (NoSuchFileException none) {
      // no task dirs at all
    }
    log.info("shim group {}: its shim is gone and so are its containers; removing its state", name);
    removeGroupState(dir, null);
  }

  static boolean isMounted(Path p) throws IOException {
    return FileTrees.mountPoints().contains(p.toAbsolutePath().normalize().toString());
  }

  /** How long a host command (runc delete, umount) may take before it is killed. */
  static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);

  private static void exec(List<String> cmd) throws IOException, InterruptedException {
    exec(cmd, COMMAND_TIMEOUT);
  }

  /**
   * Runs a host command to its end, for at most {@code timeout}: one that hangs is killed (with
   * whatever it started) and reported as an IOException. Its output is read on a thread of its own,
   * so a process that never closes its output cannot hold the caller past the timeout. A non-zero
   * exit is logged with the output.
   */
  static void exec(List<String> cmd, Duration timeout) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    CompletableFuture<String> output = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try (var in = p.getInputStream()) {
                output.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
              } catch (IOException e) {
                output.complete("(output unreadable: " + e.getMessage() + ")");
              }
            },
            "berth-exec-output");
    reader.setDaemon(true);
    reader.start();
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      boolean ended = p.waitFor(5, TimeUnit.SECONDS);
      String what =
          cmd + " did not finish within " + timeout.toMillis() + " ms" + (ended ? "; killed" : "");
      log.warn("{}", what);
      throw new IOException(what);
    }
    String out;
    try {
      // The output ends with the process, unless something it started still holds it open.
      out = output.get(1, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      out = "(output still open)";
    }
    if (p.exitValue() != 0)
      log.warn(
          "{} exited {}: {}",
          cmd,
          p.exitValue(),
          BerthException.oneLine(out.isBlank() ? "-" : out));
  }

  /** Alive and a berth shim: a recycled pid is some other process, and the shim counts as gone. */
  static boolean isBerthShim(long pid) {
    return ProcessHandle.of(pid)
        .filter(ProcessHandle::isAlive)
        .flatMap(ph -> ph.info().commandLine())
        .map(c -> c.contains("dev.berth.shim.ShimMain"))
        .orElse(false);
  }

  private static long readPid(Path f) {
    try {
      return Long.parseLong(Files.readString(f).strip());
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  @FunctionalInterface
  private interface Blocking<T> {
    T call() throws Exception;
  }

  private <T> CompletionStage<T> run(Blocking<T> body) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return body.call();
          } catch (BerthException e) {
            throw e;
          } catch (Exception e) {
            throw BerthException.from(e);
          }
        },
        blocking);
  }
}
