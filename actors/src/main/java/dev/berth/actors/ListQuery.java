package dev.berth.actors;

import dev.berth.core.ContainerState;
import dev.berth.core.ContainerView;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * One list request: asks every container for its view and answers once all replied or the timeout
 * passed (a container that did not answer is listed as "unknown", never left out).
 */
final class ListQuery {
  sealed interface Msg {}

  private record Got(String id, ContainerView view) implements Msg {}

  private record Timeout() implements Msg {}

  static Behavior<Msg> create(
      Map<String, ActorRef<ContainerActor.Command>> targets,
      Map<String, String> names,
      boolean all,
      ActorRef<List<ContainerView>> replyTo,
      Duration timeout) {
    return Behaviors.setup(
        ctx ->
            Behaviors.withTimers(
                timers -> {
                  Map<String, ContainerView> got = new HashMap<>();
                  if (targets.isEmpty()) {
                    replyTo.tell(List.of());
                    return Behaviors.stopped();
                  }
                  // One adapter for all replies (an actor has one adapter per message class); views
                  // carry their id.
                  ActorRef<ContainerView> adapter =
                      ctx.messageAdapter(ContainerView.class, v -> new Got(v.id(), v));
                  targets.values().forEach(ref -> ref.tell(new ContainerActor.GetView(adapter)));
                  timers.startSingleTimer(new Timeout(), timeout);
                  return Behaviors.receive(Msg.class)
                      .onMessage(
                          Got.class,
                          g -> {
                            got.put(g.id(), g.view());
                            return got.size() == targets.size()
                                ? finish(targets, names, got, all, replyTo)
                                : Behaviors.same();
                          })
                      .onMessage(Timeout.class, t -> finish(targets, names, got, all, replyTo))
                      .build();
                }));
  }

  private static Behavior<Msg> finish(
      Map<String, ActorRef<ContainerActor.Command>> targets,
      Map<String, String> names,
      Map<String, ContainerView> got,
      boolean all,
      ActorRef<List<ContainerView>> replyTo) {
    List<ContainerView> out = new ArrayList<>();
    for (String id : targets.keySet()) {
      ContainerView v = got.get(id);
      if (v == null) {
        v =
            ContainerView.builder(id)
                .name(names.get(id))
                .state(ContainerState.UNKNOWN)
                .exit(-1, null)
                .error("did not answer")
                .build();
      }
      if (v.state() == ContainerState.REMOVED) continue;
      if (all || !(v.state() == ContainerState.STOPPED || v.state() == ContainerState.CREATED))
        out.add(v);
    }
    out.sort(
        Comparator.comparing(
                (ContainerView v) -> v.createdAt() == null ? Instant.EPOCH : v.createdAt())
            .reversed());
    replyTo.tell(out);
    return Behaviors.stopped();
  }
}
