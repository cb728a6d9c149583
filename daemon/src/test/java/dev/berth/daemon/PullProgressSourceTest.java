package dev.berth.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.api.v1.PullImageResponse;
import dev.berth.core.BerthException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PullProgressSourceTest {
  private static PullImageResponse progress(String id, String status, long current) {
    return PullImageResponse.newBuilder()
        .setId(id)
        .setStatus(status)
        .setCurrent(current)
        .setTotal(1000)
        .build();
  }

  private static List<String> drain(PullProgressSource.Backlog backlog) throws Exception {
    List<String> got = new ArrayList<>();
    while (true) {
      Optional<PullImageResponse> next =
          backlog.next().toCompletableFuture().get(1, TimeUnit.SECONDS);
      if (next.isEmpty()) return got;
      PullImageResponse p = next.get();
      got.add(p.hasImage() ? "image" : p.getId() + " " + p.getStatus() + " " + p.getCurrent());
    }
  }

  @Test
  void a_client_that_does_not_read_gets_the_latest_count_of_each_phase_in_order() throws Exception {
    PullProgressSource.Backlog backlog = new PullProgressSource.Backlog();
    backlog.add(progress("", "latest: Pulling from library/x", 0));
    backlog.add(progress("a", "Pulling fs layer", 0));
    backlog.add(progress("b", "Pulling fs layer", 0));
    for (int n = 1; n <= 1000; n++) {
      backlog.add(progress("a", "Downloading", n));
      backlog.add(progress("b", "Downloading", n / 2));
    }
    backlog.add(progress("a", "Download complete", 1000));
    backlog.add(progress("a", "Downloading", 7)); // a retry of the layer: a new phase again
    backlog.add(
        PullImageResponse.newBuilder()
            .setImage(dev.berth.api.v1.Image.newBuilder().setId("sha256:1"))
            .build());
    backlog.end(null);

    assertEquals(
        List.of(
            " latest: Pulling from library/x 0",
            "a Pulling fs layer 0",
            "b Pulling fs layer 0",
            "a Downloading 1000",
            "b Downloading 500",
            "a Download complete 1000",
            "a Downloading 7",
            "image"),
        drain(backlog));
  }

  @Test
  void a_waiting_take_gets_the_next_message_and_the_failure_ends_the_stream() throws Exception {
    PullProgressSource.Backlog backlog = new PullProgressSource.Backlog();
    CompletableFuture<Optional<PullImageResponse>> waiting = backlog.next().toCompletableFuture();
    assertFalse(waiting.isDone());
    backlog.add(progress("a", "Pulling fs layer", 0));
    assertEquals("a", waiting.get(1, TimeUnit.SECONDS).orElseThrow().getId());

    CompletableFuture<Optional<PullImageResponse>> failing = backlog.next().toCompletableFuture();
    backlog.end(BerthException.unavailable("registry down"));
    ExecutionException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            ExecutionException.class, () -> failing.get(1, TimeUnit.SECONDS));
    assertEquals("registry down", e.getCause().getMessage());
  }

  @Test
  void after_a_cancel_progress_is_dropped() throws Exception {
    PullProgressSource.Backlog backlog = new PullProgressSource.Backlog();
    CompletableFuture<Optional<PullImageResponse>> waiting = backlog.next().toCompletableFuture();
    backlog.close();
    assertTrue(waiting.get(1, TimeUnit.SECONDS).isEmpty());
    backlog.add(progress("a", "Downloading", 1)); // the pull goes on; nobody listens
    backlog.end(null);
    assertEquals(List.of(), drain(backlog));
  }
}
