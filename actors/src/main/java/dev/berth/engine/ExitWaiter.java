package dev.berth.engine;

import dev.berth.actors.ContainerActor;
import dev.berth.actors.ContainerSupervisor;
import dev.berth.core.BerthException;
import dev.berth.core.ExitInfo;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;

/**
 * One wait for a container's exit, as a small actor: it sends the wait (itself as the reply-to),
 * completes the caller's future with the answer and stops. Cancelling the future stops it too, and
 * the container actor, which watches every waiter, drops the wait: nothing is left behind, and no
 * timer runs for a wait (an ask would need one, and a wait can last as long as the container).
 */
final class ExitWaiter {
  /** The caller gave up (the future was completed from outside: cancelled, timed out). */
  private enum GiveUp {
    INSTANCE
  }

  private ExitWaiter() {}

  static CompletionStage<ExitInfo> start(
      ActorSystem<?> system, ActorRef<ContainerSupervisor.Command> supervisor, String ref) {
    CompletableFuture<ExitInfo> result = new CompletableFuture<>();
    AtomicBoolean answered = new AtomicBoolean();
    ActorRef<Object> waiter =
        system.systemActorOf(
            behavior(supervisor, ref, result, answered),
            "wait-" + UUID.randomUUID(),
            Props.empty());
    result.whenComplete(
        (v, e) -> {
          if (!answered.get()) waiter.tell(GiveUp.INSTANCE);
        });
    return result;
  }

  private static Behavior<Object> behavior(
      ActorRef<ContainerSupervisor.Command> supervisor,
      String ref,
      CompletableFuture<ExitInfo> result,
      AtomicBoolean answered) {
    return Behaviors.setup(
        ctx -> {
          if (result.isDone()) return Behaviors.stopped(); // given up before it began
          ActorRef<StatusReply<ExitInfo>> self = ctx.getSelf().narrow();
          supervisor.tell(new ContainerSupervisor.Forward(ref, new ContainerActor.WaitExit(self)));
          return Behaviors.receive(Object.class)
              .onMessage(
                  StatusReply.class,
                  reply -> {
                    answered.set(true);
                    if (reply.isSuccess()) result.complete((ExitInfo) reply.getValue());
                    else result.completeExceptionally(BerthException.from(reply.getError()));
                    return Behaviors.stopped();
                  })
              .onMessageEquals(GiveUp.INSTANCE, Behaviors::stopped)
              .build();
        });
  }
}
