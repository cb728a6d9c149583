package dev.berth.engine;

import dev.berth.actors.EventFeed;
import dev.berth.actors.EventFeed.LifecycleEvent;
import dev.berth.actors.EventFilter;
import dev.berth.core.BerthException;
import dev.berth.core.ContainerView;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The domain's front door for lifecycle events: a subscription (history after a sequence number,
 * then live) and bounded pages of the history. Filters name containers by reference (resolved to
 * ids once, when the call starts) and types by the domain's words ("exit", "shim-lost").
 */
public final class Events {
  public static final int DEFAULT_PAGE = 100;
  public static final int MAX_PAGE = 1000;

  /** Containers (any; refs) and types (any; words); empty lists select everything. */
  public record Filter(List<String> containers, List<String> types) {
    public static final Filter ALL = new Filter(List.of(), List.of());
  }

  /** A page of history; {@code nextSince} continues it, {@code more} says whether there is more. */
  public record EventPage(List<LifecycleEvent> events, long nextSince, boolean more) {}

  private final ActorSystem<?> system;
  private final EventFeed feed;
  private final Containers containers;

  public Events(ActorSystem<?> system, EventFeed feed, Containers containers) {
    this.system = system;
    this.feed = feed;
    this.containers = containers;
  }

  /** The events after {@code since}, then the live ones (forever, unless {@code historyOnly}). */
  public Source<LifecycleEvent, NotUsed> subscribe(long since, Filter f, boolean historyOnly) {
    if (since < 0) return Source.failed(BerthException.invalidField("since_seq", "since_seq < 0"));
    EventFilter filter;
    try {
      filter = parse(f);
    } catch (RuntimeException e) {
      return Source.failed(e);
    }
    return Source.completionStageSource(
            resolveContainers(filter.containerRefs())
                .thenApply(
                    ids -> {
                      EventFilter resolved = filter.withContainerIds(ids);
                      return feed.events(since, !historyOnly).filter(resolved::matches);
                    }))
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  /** At most {@code pageSize} events of the history after {@code since} (0: the default). */
  public CompletionStage<EventPage> list(long since, Filter f, int pageSize) {
    if (pageSize < 0 || pageSize > MAX_PAGE) {
      return CompletableFuture.failedFuture(
          BerthException.invalidField(
              "page_size",
              "page_size must be between 1 and " + MAX_PAGE + " (0: " + DEFAULT_PAGE + ")"));
    }
    int size = pageSize == 0 ? DEFAULT_PAGE : pageSize;
    return subscribe(since, f, true)
        .take(size + 1L)
        .runWith(Sink.seq(), system)
        .thenApply(
            all -> {
              boolean more = all.size() > size;
              List<LifecycleEvent> page = new ArrayList<>(more ? all.subList(0, size) : all);
              long next = page.isEmpty() ? since : page.get(page.size() - 1).seq();
              return new EventPage(List.copyOf(page), next, more);
            });
  }

  private static EventFilter parse(Filter f) {
    List<String> words = new ArrayList<>();
    f.types().forEach(t -> words.add("type=" + t));
    f.containers().forEach(c -> words.add("container=" + c));
    return EventFilter.parse(words);
  }

  /**
   * Container references to ids, once; one that does not resolve (removed already) stays a prefix.
   */
  private CompletionStage<Set<String>> resolveContainers(List<String> refs) {
    CompletableFuture<Set<String>> all = CompletableFuture.completedFuture(new HashSet<>());
    for (String ref : refs) {
      CompletionStage<ContainerView> one = containers.inspect(ref);
      all =
          all.thenCombine(
              one.handle((v, e) -> v),
              (ids, v) -> {
                if (v != null) ids.add(v.id());
                return ids;
              });
    }
    return all.thenApply(Set::copyOf);
  }
}
