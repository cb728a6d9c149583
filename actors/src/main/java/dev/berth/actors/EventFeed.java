package dev.berth.actors;

import dev.berth.actors.ContainerActor.ContainerCreated;
import dev.berth.actors.ContainerActor.ContainerExited;
import dev.berth.actors.ContainerActor.ContainerRemoved;
import dev.berth.actors.ContainerActor.ContainerStarted;
import dev.berth.actors.ContainerActor.Reconciled;
import dev.berth.actors.ContainerActor.RestartScheduled;
import dev.berth.actors.ContainerActor.ShimLost;
import dev.berth.actors.ContainerActor.StartFailed;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.persistence.query.journal.leveldb.javadsl.LeveldbReadJournal;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The lifecycle events users subscribe to, read back from the journal: container actors tag their
 * public events ({@link ContainerActor#EVENTS_TAG}) and the LevelDB journal numbers tagged events
 * gap-free in the same atomic write, so the sequence number is the event's durable identity —
 * history after a restart and live events come from one source, exactly once, in order.
 */
public final class EventFeed {
  /** Every type a subscriber can see (and filter on). */
  public static final List<String> TYPES =
      List.of(
          "create",
          "start",
          "start-failed",
          "exit",
          "shim-lost",
          "restart",
          "reconciled",
          "delete",
          "journal-damaged");

  /** One event as the API shows it; {@code exitCode} only on exit, {@code pid} only on start. */
  public record LifecycleEvent(
      long seq,
      Instant time,
      String type,
      String containerId,
      Integer exitCode,
      int pid,
      String detail) {}

  private final LeveldbReadJournal journal;

  public EventFeed(ActorSystem<?> system) {
    this.journal =
        PersistenceQuery.get(Adapter.toClassic(system))
            .getReadJournalFor(LeveldbReadJournal.class, LeveldbReadJournal.Identifier());
  }

  /**
   * Events with a sequence number above {@code since}; with {@code follow}, then live ones forever.
   */
  public Source<LifecycleEvent, NotUsed> events(long since, boolean follow) {
    Offset from = Offset.sequence(Math.max(0, since));
    Source<EventEnvelope, NotUsed> envelopes =
        follow
            ? journal.eventsByTag(ContainerActor.EVENTS_TAG, from)
            : journal.currentEventsByTag(ContainerActor.EVENTS_TAG, from);
    return envelopes.map(EventFeed::translate).filter(Optional::isPresent).map(Optional::get);
  }

  static Optional<LifecycleEvent> translate(EventEnvelope env) {
    long seq = ((Sequence) env.offset()).value();
    String pid = env.persistenceId();
    String id = pid.substring(pid.indexOf('|') + 1);
    Object e = env.event();
    LifecycleEvent out;
    if (e instanceof ContainerCreated c) {
      out = new LifecycleEvent(seq, c.spec().createdAt(), "create", id, null, 0, c.spec().name());
    } else if (e instanceof ContainerStarted s) {
      out = new LifecycleEvent(seq, s.at(), "start", id, null, s.pid(), "");
    } else if (e instanceof StartFailed f) {
      out = new LifecycleEvent(seq, f.at(), "start-failed", id, null, 0, f.error());
    } else if (e instanceof ContainerExited x) {
      out =
          new LifecycleEvent(
              seq, x.at(), "exit", id, x.exitCode(), 0, x.error() == null ? "" : x.error());
    } else if (e instanceof ShimLost l) {
      out = new LifecycleEvent(seq, l.at(), "shim-lost", id, null, 0, l.why());
    } else if (e instanceof RestartScheduled r) {
      out =
          new LifecycleEvent(
              seq,
              r.at(),
              "restart",
              id,
              null,
              0,
              "restart " + r.attempt() + " in " + r.delayMillis() + " ms");
    } else if (e instanceof Reconciled r) {
      out = new LifecycleEvent(seq, r.at(), "reconciled", id, null, 0, r.state());
    } else if (e instanceof ContainerRemoved r) {
      out = new LifecycleEvent(seq, r.at(), "delete", id, null, 0, "");
    } else if (e instanceof ContainerActor.ContainerAdopted a) {
      out =
          new LifecycleEvent(
              seq, a.at(), "reconciled", id, null, 0, a.state() + " (rebuilt from disk)");
    } else if (e instanceof ContainerSupervisor.JournalDamaged d) {
      // Where the feed was cut: what came before it may be missing (or is in the set-aside
      // journal).
      out = new LifecycleEvent(seq, d.at(), "journal-damaged", "", null, 0, d.what());
    } else {
      return Optional
          .empty(); // untagged intents never reach here; a future type is skipped, not fatal
    }
    return Optional.of(out);
  }
}
