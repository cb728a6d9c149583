package dev.berth.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.berth.core.ContainerSpec;
import dev.berth.core.ContainerState;
import dev.berth.core.ContainerView;
import dev.berth.core.RestartPolicy;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** List's filters and order, on views alone. */
class ContainerListingTest {
  private static ContainerView view(
      String id, String name, ContainerState state, Map<String, String> labels, long created) {
    ContainerSpec spec =
        new ContainerSpec(
            id,
            name,
            "busybox:1",
            "sha256:" + name,
            List.of("true"),
            List.of(),
            "/",
            0,
            0,
            List.of(),
            "h-" + name,
            false,
            labels,
            Instant.ofEpochSecond(created),
            RestartPolicy.NO,
            Map.of(),
            null,
            "req-" + name);
    return ContainerView.builder(id).spec(spec).state(state).build();
  }

  private static final List<ContainerView> VIEWS =
      List.of(
          view("c3", "web", ContainerState.RUNNING, Map.of("app", "shop", "tier", "front"), 30),
          view("c1", "db", ContainerState.STOPPED, Map.of("app", "shop"), 10),
          view("c2", "job", ContainerState.CREATED, Map.of(), 10),
          view("c4", "gone", ContainerState.REMOVED, Map.of(), 5));

  private static List<String> names(Containers.ListRequest r) {
    return ContainerListing.page(VIEWS, r, 100, null).items().stream()
        .map(ContainerView::name)
        .toList();
  }

  private static Containers.ListRequest filter(
      boolean all,
      List<String> names,
      List<ContainerState> states,
      Map<String, String> labels,
      List<String> images) {
    return new Containers.ListRequest(all, names, states, labels, images, 0, "");
  }

  @Test
  void order_is_creation_time_then_id_and_all_shows_stopped_and_created_ones() {
    assertEquals(List.of("db", "job", "web"), names(filter(true, null, null, null, null)));
    assertEquals(List.of("web"), names(filter(false, null, null, null, null)));
  }

  @Test
  void filters_names_states_labels_and_images() {
    assertEquals(
        List.of("db", "web"), names(filter(true, List.of("web", "db", "x"), null, null, null)));
    assertEquals(
        List.of("db"), names(filter(false, null, List.of(ContainerState.STOPPED), null, null)));
    assertEquals(
        List.of("db", "web"), names(filter(true, null, null, Map.of("app", "shop"), null)));
    assertEquals(
        List.of("web"), names(filter(true, null, null, Map.of("app", "shop", "tier", ""), null)));
    assertEquals(List.of(), names(filter(true, null, null, Map.of("app", "other"), null)));
    assertEquals(
        List.of("db", "job", "web"), names(filter(true, null, null, null, List.of("busybox:1"))));
    assertEquals(
        List.of("job"), names(filter(true, null, null, null, List.of("sha256:job", "nope"))));
    assertEquals(List.of("job"), names(filter(true, null, null, null, List.of("job"))));
  }

  @Test
  void a_page_token_holds_the_last_items_position() {
    var r = filter(true, null, null, null, null);
    Page<ContainerView> first = ContainerListing.page(VIEWS, r, 1, null);
    assertEquals("db", first.items().get(0).name());
    assertEquals(Containers.pageTokenAfter(first.items().get(0)), first.nextPageToken());
    Page<ContainerView> next =
        ContainerListing.page(VIEWS, r, 5, ContainerListing.parseToken(first.nextPageToken()));
    assertEquals(List.of("job", "web"), next.items().stream().map(ContainerView::name).toList());
    assertEquals("", next.nextPageToken());
  }

  @Test
  void views_show_hostname_and_request_id() {
    ContainerView v = VIEWS.get(0);
    assertEquals("h-web", v.hostname());
    assertEquals("req-web", v.requestId());
  }
}
