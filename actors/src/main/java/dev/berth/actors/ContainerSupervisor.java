package dev.berth.actors;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.berth.core.BerthException;
import dev.berth.core.ContainerSpec;
import dev.berth.core.ContainerView;
import dev.berth.core.ExitInfo;
import dev.berth.persistence.CborSerializable;
import dev.berth.task.ContainerSpecs;
import dev.berth.task.ContainerSpecs.CreateParams;
import dev.berth.task.TaskRuntime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The guardian of all containers: an event-sourced registry (id → name, image) that spawns one
 * {@link ContainerActor} per container, resolves references (id, unique id prefix, name), and
 * forwards requests. After a daemon restart it respawns every registered container, each of which
 * then reconciles itself with its shim.
 */
public final class ContainerSupervisor
    extends EventSourcedBehavior<
        ContainerSupervisor.Command, ContainerSupervisor.Event, ContainerSupervisor.Registry> {

  public static final String PERSISTENCE_ID = "berth-containers";
  private static final int TOMBSTONES = 256;

  /** How long a create waits for its container actor to make the bundle. */
  static final Duration INIT_TIMEOUT = Duration.ofSeconds(60);

  // ---------------------------------------------------------------- protocol

  public sealed interface Command {}

  public record Create(CreateParams params, ActorRef<StatusReply<ContainerView>> replyTo)
      implements Command {}

  /** Resolves {@code ref} and hands the request to that container (or rejects it). */
  public record Forward(String ref, ContainerActor.Request request) implements Command {}

  public record ListContainers(boolean all, ActorRef<List<ContainerView>> replyTo)
      implements Command {}

  public record ImagesInUse(ActorRef<Set<String>> replyTo) implements Command {}

  /** From a container actor that has removed itself (exit is null if it never ran). */
  public record ChildRemoved(String id, ExitInfo exit) implements Command {}

  private record SpecBuilt(
      String name,
      String requestId,
      ContainerSpec spec,
      Throwable error,
      ActorRef<StatusReply<ContainerView>> replyTo)
      implements Command {}

  /** {@code timedOut}: the container actor did not answer within {@link #INIT_TIMEOUT}. */
  private record InitDone(
      String id,
      String requestId,
      StatusReply<ContainerView> result,
      boolean timedOut,
      ActorRef<StatusReply<ContainerView>> replyTo)
      implements Command {}

  private record ChildStopped(String id) implements Command {}

  /** The bundles on disk the journal did not know, read back (specs) or not (ids). */
  private record OrphansRead(List<ContainerSpec> specs, List<String> unreadable, Throwable error)
      implements Command {}

  // ---------------------------------------------------------------- events and state

  @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
  @JsonSubTypes({
    @JsonSubTypes.Type(value = ContainerAdded.class, name = "added"),
    @JsonSubTypes.Type(value = ContainerDropped.class, name = "dropped"),
    @JsonSubTypes.Type(value = JournalDamaged.class, name = "journal-damaged")
  })
  public sealed interface Event extends CborSerializable {}

  /**
   * {@code requestId}: the create's idempotency key, null for none (also in journals written before
   * request ids).
   */
  public record ContainerAdded(String id, String name, String imageId, String requestId)
      implements Event {}

  public record ContainerDropped(String id) implements Event {}

  /**
   * Public (tagged): the journal was found damaged at start-up; {@code what} says what was lost and
   * rebuilt.
   */
  public record JournalDamaged(String what, Instant at) implements Event {}

  /** {@code requestId}: as in {@link ContainerAdded}, null for none. */
  public record Entry(String name, String imageId, String requestId) implements CborSerializable {}

  /** Immutable; small enough (one entry per container) to copy on change. */
  public record Registry(Map<String, Entry> containers) implements CborSerializable {
    Registry with(String id, Entry e) {
      Map<String, Entry> m = new TreeMap<>(containers);
      m.put(id, e);
      return new Registry(m);
    }

    Registry without(String id) {
      Map<String, Entry> m = new TreeMap<>(containers);
      m.remove(id);
      return new Registry(m);
    }
  }

  // ---------------------------------------------------------------- setup

  /** Builds a container's spec from a create request (reads the image: blocking). */
  @FunctionalInterface
  public interface SpecFactory {
    ContainerSpec build(String id, String name, CreateParams params);
  }

  public static Behavior<Command> create(
      TaskRuntime runtime, SpecFactory specs, Executor blocking) {
    return create(runtime, specs, blocking, JournalHealth.healthy());
  }

  public static Behavior<Command> create(
      TaskRuntime runtime, SpecFactory specs, Executor blocking, JournalHealth health) {
    return Behaviors.setup(ctx -> new ContainerSupervisor(ctx, runtime, specs, blocking, health));
  }

  private final ActorContext<Command> ctx;
  private final TaskRuntime runtime;
  private final SpecFactory specs;
  private final Executor blocking;
  private final Map<String, ActorRef<ContainerActor.Command>> children = new HashMap<>();

  /** Names of creates in flight, so two concurrent creates cannot take the same name. */
  private final Set<String> reservedNames = new HashSet<>();

  /**
   * Request ids of creates in flight, with the callers of later creates with the same id: they get
   * the first create's answer (one container for any number of concurrent retries).
   */
  private final Map<String, List<ActorRef<StatusReply<ContainerView>>>> pendingRequests =
      new HashMap<>();

  /**
   * Creates whose caller was told they failed (the container actor did not answer in time) while
   * the actor may still be making the bundle. The registry keeps them (and their names) until the
   * actor has removed what it made or has stopped.
   */
  private final Set<String> abandoned = new HashSet<>();

  /** A removed container's name and exit, kept for a `wait` that arrives after a --rm removal. */
  private record Tombstone(String name, ExitInfo exit) {}

  /** The last {@value #TOMBSTONES} removals, oldest evicted first. */
  private final Map<String, Tombstone> tombstones =
      new LinkedHashMap<>(64, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Tombstone> e) {
          return size() > TOMBSTONES;
        }
      };

  private final JournalHealth health;

  /** From recovery until the bundles on disk were checked against the journal: requests wait. */
  private boolean scanning;

  private ContainerSupervisor(
      ActorContext<Command> ctx,
      TaskRuntime runtime,
      SpecFactory specs,
      Executor blocking,
      JournalHealth health) {
    super(
        PersistenceId.ofUniqueId(PERSISTENCE_ID),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.ctx = ctx;
    this.runtime = runtime;
    this.specs = specs;
    this.blocking = blocking;
    this.health = health;
  }

  @Override
  public Registry emptyState() {
    return new Registry(Map.of());
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  @Override
  public SignalHandler<Registry> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(
            RecoveryCompleted.instance(),
            reg -> {
              // After a failed journal write the behaviour restarts with this same object (its
              // children were stopped): what was transient starts again from the journal too.
              children.clear();
              reservedNames.clear();
              pendingRequests.clear();
              abandoned.clear();
              reg.containers().keySet().forEach(id -> spawn(id, false));
              ctx.getLog().info("recovered {} container(s)", reg.containers().size());
              scanForOrphans(reg);
            })
        .build();
  }

  @Override
  public java.util.Set<String> tagsFor(Event event) {
    return event instanceof JournalDamaged
        ? java.util.Set.of(ContainerActor.EVENTS_TAG)
        : java.util.Set.of();
  }

  @Override
  public CommandHandler<Command, Event, Registry> commandHandler() {
    var b = newCommandHandlerBuilder();
    b.forState(reg -> scanning)
        .onCommand(OrphansRead.class, this::onOrphansRead)
        .onCommand(ChildRemoved.class, this::onChildRemoved)
        .onCommand(ChildStopped.class, this::onChildStopped)
        .onAnyCommand((reg, c) -> Effect().stash());
    b.forAnyState()
        .onCommand(Create.class, this::onCreate)
        .onCommand(SpecBuilt.class, this::onSpecBuilt)
        .onCommand(InitDone.class, this::onInitDone)
        .onCommand(Forward.class, this::onForward)
        .onCommand(ListContainers.class, this::onList)
        .onCommand(
            ImagesInUse.class,
            (reg, c) -> {
              Set<String> ids = new HashSet<>();
              reg.containers().values().forEach(e -> ids.add(e.imageId()));
              c.replyTo().tell(ids);
              return Effect().none();
            })
        .onCommand(ChildRemoved.class, this::onChildRemoved)
        .onCommand(ChildStopped.class, this::onChildStopped)
        .onCommand(OrphansRead.class, (reg, r) -> Effect().none());
    return b.build();
  }

  @Override
  public EventHandler<Registry, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(
            ContainerAdded.class,
            (reg, e) -> reg.with(e.id(), new Entry(e.name(), e.imageId(), e.requestId())))
        .onEvent(ContainerDropped.class, (reg, e) -> reg.without(e.id()))
        .onEvent(JournalDamaged.class, (reg, e) -> reg)
        .build();
  }

  // ---------------------------------------------------------------- journal damage

  /**
   * The journal is the record of intent, but the bundles under --root are what exists: a bundle the
   * journal does not know means the journal lost it (damaged, truncated, or set aside at start-up).
   * Each such container is rebuilt from the spec recorded beside its bundle and what its shim says,
   * and the loss is reported (log, `berth info`, a journal-damaged event).
   */
  private void scanForOrphans(Registry reg) {
    scanning = true;
    Set<String> known = new HashSet<>(reg.containers().keySet());
    CompletionStage<OrphansRead> read =
        runtime
            .bundlesOnDisk()
            .thenCompose(
                ids -> {
                  List<String> orphans =
                      ids.stream().filter(id -> !known.contains(id)).sorted().toList();
                  List<ContainerSpec> specs = new ArrayList<>();
                  List<String> unreadable = new ArrayList<>();
                  CompletionStage<Void> all = CompletableFuture.completedFuture(null);
                  for (String id : orphans) {
                    all =
                        all.thenCompose(v -> runtime.readBundleRecord(id))
                            .thenAccept(
                                spec -> {
                                  if (spec.isPresent()) specs.add(spec.get());
                                  else unreadable.add(id);
                                });
                  }
                  return all.thenApply(v -> new OrphansRead(specs, unreadable, null));
                });
    ctx.pipeToSelf(read, (r, err) -> err != null ? new OrphansRead(List.of(), List.of(), err) : r);
  }

  private Effect<Event, Registry> onOrphansRead(Registry reg, OrphansRead r) {
    if (r.error() != null) {
      ctx.getLog()
          .warn(
              "could not check the container bundles on disk against the journal: {}",
              BerthException.from(r.error()).getMessage());
    }
    if (!r.unreadable().isEmpty()) {
      health.note(
          r.unreadable().size()
              + " container bundle(s) on disk could not be read back and were left in place");
      ctx.getLog()
          .warn(
              "container bundles not in the journal and unreadable (left in place): {}",
              r.unreadable());
    }
    if (r.specs().isEmpty() && !health.wasSetAside()) {
      scanning = false;
      return Effect().unstashAll();
    }
    List<Event> events = new ArrayList<>();
    List<ContainerSpec> adopted = new ArrayList<>();
    Set<String> names = new HashSet<>();
    reg.containers().values().forEach(e -> names.add(e.name()));
    for (ContainerSpec spec : r.specs()) {
      ContainerSpec s = spec;
      if (names.contains(s.name())) s = renamed(s, s.name() + "-" + s.id().substring(0, 12));
      names.add(s.name());
      adopted.add(s);
      events.add(new ContainerAdded(s.id(), s.name(), s.imageId(), s.requestId()));
    }
    if (!adopted.isEmpty()) {
      health.note(adopted.size() + " container(s) missing from the journal were rebuilt from disk");
    }
    String what = health.summary();
    events.add(0, new JournalDamaged(what, java.time.Instant.now()));
    ctx.getLog().warn("journal: {}", what);
    return Effect()
        .persist(events)
        .thenRun(
            after -> {
              scanning = false;
              for (ContainerSpec s : adopted) spawn(s.id(), true).tell(new ContainerActor.Adopt(s));
            })
        .thenUnstashAll();
  }

  private static ContainerSpec renamed(ContainerSpec s, String name) {
    return new ContainerSpec(
        s.id(),
        name,
        s.image(),
        s.imageId(),
        s.args(),
        s.env(),
        s.cwd(),
        s.uid(),
        s.gid(),
        s.additionalGids(),
        s.hostname(),
        s.autoRemove(),
        s.labels(),
        s.createdAt(),
        s.restart(),
        s.failpoints(),
        s.seccompProfile(),
        s.requestId(),
        s.network(),
        s.shimGroup());
  }

  // ---------------------------------------------------------------- create

  private Effect<Event, Registry> onCreate(Registry reg, Create c) {
    String requestId = c.params().requestId() == null ? "" : c.params().requestId();
    if (!requestId.isEmpty()) {
      String bad = ContainerSpecs.checkRequestId(requestId);
      if (bad != null) return reply(c.replyTo(), BerthException.invalidField("request_id", bad));
      // A retry: the container the first request made (its current view), or, while that create
      // is still under way, the answer it gets.
      List<ActorRef<StatusReply<ContainerView>>> joined = pendingRequests.get(requestId);
      if (joined != null) {
        joined.add(c.replyTo());
        return Effect().none();
      }
      for (Map.Entry<String, Entry> e : reg.containers().entrySet()) {
        if (requestId.equals(e.getValue().requestId()) && !abandoned.contains(e.getKey())) {
          ActorRef<ContainerActor.Command> child = children.get(e.getKey());
          if (child == null) child = spawn(e.getKey(), false);
          child.tell(new ContainerActor.Inspect(c.replyTo()));
          return Effect().none();
        }
      }
    }
    String name = c.params().name() == null ? "" : c.params().name().strip();
    if (name.isEmpty()) {
      do name = ContainerSpecs.generatedName();
      while (nameTaken(reg, name));
    } else {
      if (ContainerSpecs.looksLikeId(name)) {
        return reply(
            c.replyTo(),
            nameInUse(
                "the container name "
                    + BerthException.quote(name)
                    + " would be mistaken for a container id"));
      }
      String bad = ContainerSpecs.checkName(name);
      if (bad != null) return reply(c.replyTo(), BerthException.invalidField("name", bad));
      if (nameTaken(reg, name)) {
        return reply(
            c.replyTo(),
            nameInUse("the container name " + BerthException.quote(name) + " is already in use"));
      }
      String shadowed = idPrefixedBy(reg, name);
      if (shadowed != null) {
        return reply(
            c.replyTo(),
            nameInUse(
                "the container name "
                    + BerthException.quote(name)
                    + " is the short id of container "
                    + shadowed.substring(0, 12)));
      }
    }
    reservedNames.add(name);
    if (!requestId.isEmpty()) pendingRequests.put(requestId, new ArrayList<>());
    String id = ContainerSpecs.newId();
    String finalName = name;
    // Image lookups read files: keep them off the actor's thread.
    ctx.pipeToSelf(
        CompletableFuture.supplyAsync(() -> specs.build(id, finalName, c.params()), blocking),
        (spec, err) -> new SpecBuilt(finalName, requestId, spec, err, c.replyTo()));
    return Effect().none();
  }

  private static BerthException nameInUse(String m) {
    return new BerthException(
        BerthException.Code.ALREADY_EXISTS, BerthException.Reason.NAME_IN_USE, "name", m);
  }

  private boolean nameTaken(Registry reg, String name) {
    return reservedNames.contains(name)
        || reg.containers().values().stream().anyMatch(e -> e.name().equals(name));
  }

  /**
   * The id of a container that {@code name} (12 hex characters or more) is a prefix of, else null:
   * such a name would take that container's short id.
   */
  private static String idPrefixedBy(Registry reg, String name) {
    if (name.length() < 12 || !ContainerSpecs.isHex(name)) return null;
    for (String id : reg.containers().keySet()) if (id.startsWith(name)) return id;
    return null;
  }

  /** The callers that joined create {@code requestId} get {@code answer} too. */
  private void answerJoined(String requestId, StatusReply<ContainerView> answer) {
    if (requestId == null || requestId.isEmpty()) return;
    List<ActorRef<StatusReply<ContainerView>>> joined = pendingRequests.remove(requestId);
    if (joined != null) joined.forEach(to -> to.tell(answer));
  }

  private Effect<Event, Registry> onSpecBuilt(Registry reg, SpecBuilt b) {
    if (b.error() != null) {
      // Nothing was recorded yet: releasing the name is all it takes to leave no trace.
      reservedNames.remove(b.name());
      StatusReply<ContainerView> failed = StatusReply.error(BerthException.from(b.error()));
      b.replyTo().tell(failed);
      answerJoined(b.requestId(), failed);
      return Effect().none();
    }
    ContainerSpec spec = b.spec();
    String requestId = b.requestId().isEmpty() ? null : b.requestId();
    return Effect()
        .persist(new ContainerAdded(spec.id(), spec.name(), spec.imageId(), requestId))
        .thenRun(
            r -> {
              reservedNames.remove(spec.name());
              ActorRef<ContainerActor.Command> child = spawn(spec.id(), true);
              ctx.ask(
                  viewReplyClass(),
                  child,
                  INIT_TIMEOUT,
                  (ActorRef<StatusReply<ContainerView>> ref) -> new ContainerActor.Init(spec, ref),
                  (res, err) ->
                      new InitDone(
                          spec.id(),
                          b.requestId(),
                          err != null ? StatusReply.error(BerthException.from(err)) : res,
                          err instanceof java.util.concurrent.TimeoutException,
                          b.replyTo()));
            });
  }

  private Effect<Event, Registry> onInitDone(Registry reg, InitDone d) {
    d.replyTo().tell(d.result());
    answerJoined(d.requestId(), d.result());
    if (d.result().isSuccess()) return Effect().none();
    ActorRef<ContainerActor.Command> child = children.get(d.id());
    if (d.timedOut() && child != null) {
      // The actor may still be making the bundle and then journal ContainerCreated: dropping the
      // entry now would leave a container nobody knows and its bundle on disk. The caller was told
      // the create failed, so the actor removes whatever it made (it takes the Delete once it is
      // done with the Init); its ChildRemoved, or its stop if the bundle failed, drops the entry.
      abandoned.add(d.id());
      child.tell(new ContainerActor.Delete(true, ctx.getSystem().ignoreRef()));
      return Effect().none();
    }
    // The bundle could not be made (the actor has stopped): forget the container entirely.
    return Effect().persist(new ContainerDropped(d.id()));
  }

  // ---------------------------------------------------------------- forward, list

  private Effect<Event, Registry> onForward(Registry reg, Forward f) {
    String ref = f.ref() == null ? "" : f.ref().strip();
    String id;
    try {
      id = resolve(reg, ref);
    } catch (BerthException e) {
      if (f.request() instanceof ContainerActor.WaitExit w) {
        ExitInfo gone = tombstoneFor(ref);
        if (gone != null) {
          w.replyTo().tell(StatusReply.success(gone));
          return Effect().none();
        }
      }
      ContainerActor.rejectRequest(f.request(), e);
      return Effect().none();
    }
    ActorRef<ContainerActor.Command> child = children.get(id);
    if (child == null) child = spawn(id, false);
    child.tell(f.request());
    return Effect().none();
  }

  private ExitInfo tombstoneFor(String ref) {
    Tombstone byId = tombstones.get(ref);
    if (byId != null) return byId.exit();
    // The newest removal of that name: a name is free again after a removal and can be reused.
    ExitInfo newest = null;
    for (Tombstone t : tombstones.values()) if (t.name().equals(ref)) newest = t.exit();
    return newest;
  }

  /**
   * Full id, then exact name, then unique id prefix — docker's order (an ambiguous prefix fails
   * with {@link BerthException.Reason#AMBIGUOUS_REFERENCE}).
   */
  static String resolve(Registry reg, String ref) {
    if (ref.isEmpty()) throw BerthException.invalid("a container id or name is required");
    if (ref.contains("/") || ref.contains("..") || ref.length() > 128) {
      throw BerthException.containerNotFound(ref);
    }
    if (reg.containers().containsKey(ref)) return ref;
    for (Map.Entry<String, Entry> e : reg.containers().entrySet()) {
      if (e.getValue().name().equals(ref)) return e.getKey();
    }
    List<String> matches = new ArrayList<>();
    for (String id : reg.containers().keySet()) if (id.startsWith(ref)) matches.add(id);
    if (matches.size() == 1) return matches.get(0);
    if (matches.size() > 1)
      throw new BerthException(
          BerthException.Code.INVALID_ARGUMENT,
          BerthException.Reason.AMBIGUOUS_REFERENCE,
          "ref",
          "multiple containers match the prefix "
              + BerthException.quote(ref)
              + ": use more characters");
    throw BerthException.containerNotFound(ref);
  }

  private Effect<Event, Registry> onList(Registry reg, ListContainers l) {
    Map<String, ActorRef<ContainerActor.Command>> targets = new LinkedHashMap<>();
    Map<String, String> names = new HashMap<>();
    for (Map.Entry<String, Entry> e : reg.containers().entrySet()) {
      ActorRef<ContainerActor.Command> child = children.get(e.getKey());
      if (child == null) child = spawn(e.getKey(), false);
      targets.put(e.getKey(), child);
      names.put(e.getKey(), e.getValue().name());
    }
    ctx.spawnAnonymous(
        ListQuery.create(targets, names, l.all(), l.replyTo(), Duration.ofSeconds(3)));
    return Effect().none();
  }

  // ---------------------------------------------------------------- child lifecycle

  private ActorRef<ContainerActor.Command> spawn(String id, boolean fresh) {
    ActorRef<ContainerActor.Command> child =
        ctx.spawn(ContainerActor.create(id, fresh, runtime, ctx.getSelf()), "container-" + id);
    ctx.watchWith(child, new ChildStopped(id));
    children.put(id, child);
    return child;
  }

  private Effect<Event, Registry> onChildRemoved(Registry reg, ChildRemoved r) {
    abandoned.remove(r.id());
    Entry entry = reg.containers().get(r.id());
    if (entry == null) return Effect().none();
    if (r.exit() != null) tombstones.put(r.id(), new Tombstone(entry.name(), r.exit()));
    ActorRef<ContainerActor.Command> child = children.remove(r.id());
    return Effect()
        .persist(new ContainerDropped(r.id()))
        .thenRun(
            x -> {
              if (child != null) ctx.stop(child);
            });
  }

  private Effect<Event, Registry> onChildStopped(Registry reg, ChildStopped s) {
    children.remove(s.id());
    if (abandoned.remove(s.id()) && reg.containers().containsKey(s.id())) {
      // An abandoned create whose actor stopped without a removal: its bundle failed.
      return Effect().persist(new ContainerDropped(s.id()));
    }
    return Effect().none();
  }

  @SuppressWarnings("unchecked")
  private static Class<StatusReply<ContainerView>> viewReplyClass() {
    return (Class<StatusReply<ContainerView>>) (Class<?>) StatusReply.class;
  }

  private Effect<Event, Registry> reply(ActorRef<StatusReply<ContainerView>> to, BerthException e) {
    to.tell(StatusReply.error(e));
    return Effect().none();
  }
}
