package dev.berth.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.berth.core.BerthException;
import dev.berth.core.ContainerSpec;
import dev.berth.images.ImageException;
import dev.berth.images.ImageStore;
import dev.berth.images.TestImages;
import dev.berth.task.ContainerSpecs.CreateParams;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A container create holds a lease on its image from the moment its spec resolved the image until
 * the container is recorded, so {@code image prune} and {@code image rm} running in between cannot
 * take the image away. Each test interleaves the steps of the daemon's create (spec built on the
 * blocking pool, container recorded by the supervisor, bundle written and lease released by the
 * runtime) with a prune or rm, step by step.
 */
class CreateLeaseTest {
  @TempDir Path tmp;
  ImageStore store;
  String imageId;

  @BeforeEach
  void importAnImage() throws Exception {
    assumeTrue(
        "root".equals(System.getProperty("user.name")),
        "the layer store needs root (chown, mknod)");
    Path layout = tmp.resolve("layout");
    TestImages.ociLayout(
        layout,
        new TestImages.Spec()
            .layer(new TestImages.Layer().dir("etc", 0755).file("etc/motd", "hi\n").tar(), true),
        "latest");
    store = new ImageStore(tmp.resolve("store"));
    imageId = store.importImage(layout, "app:1").get(0).id();
  }

  private static CreateParams params(String image, List<String> env) {
    return new CreateParams(
        image,
        "",
        List.of(),
        List.of("sh"),
        env,
        "",
        "",
        false,
        "",
        Map.of(),
        null,
        Map.of(),
        List.of(),
        null);
  }

  private ContainerSpec build(String id) {
    return ContainerSpecs.build(id, "c-" + id.substring(0, 6), params("app:1", List.of()), store);
  }

  @Test
  void prune_between_spec_resolution_and_record_keeps_the_image() throws Exception {
    String id = ContainerSpecs.newId();
    // supervisor: spec built (image resolved) ...
    ContainerSpec spec = build(id);
    assertEquals(imageId, spec.imageId());
    // ... image prune -a runs now: the supervisor's in-use check does not know the container yet
    ImageStore.Pruned pruned = store.prune(true, x -> false);
    assertEquals(List.of(), pruned.deleted(), "a create in flight holds its image");
    assertTrue(store.resolve("app:1").isPresent());
    // ... the container is recorded and its bundle written: the lease goes
    assertTrue(store.release(id));
    assertEquals(List.of(imageId), store.prune(true, x -> false).deleted(), "no lease left behind");
  }

  @Test
  void an_in_use_check_taken_before_the_record_still_protects_after_the_release() throws Exception {
    Set<String> recorded = new HashSet<>();
    // image prune: marks the lease history, then asks which images containers use ...
    long mark = store.usageMark();
    Set<String> inUseSeenByPrune = Set.copyOf(recorded);
    // ... meanwhile a create resolves, is recorded, writes its bundle and releases its lease ...
    String id = ContainerSpecs.newId();
    ContainerSpec spec = build(id);
    recorded.add(spec.imageId());
    assertTrue(store.release(id));
    // ... and only then does the prune run, with its older answer
    assertEquals(List.of(), store.prune(true, inUseSeenByPrune::contains, mark).deleted());
    assertTrue(store.resolve("app:1").isPresent());
    ImageException refused =
        assertThrows(
            ImageException.class,
            () -> store.remove("app:1", false, inUseSeenByPrune::contains, mark));
    assertTrue(refused.getMessage().contains("is used by a container"), refused.getMessage());
    // a check taken after the record sees the container itself; the lease history is not needed
    long fresh = store.usageMark();
    assertEquals(List.of(), store.prune(true, recorded::contains, fresh).deleted());
    // and nothing is protected for ever: once the container is gone the image can go
    assertEquals(List.of(imageId), store.prune(true, x -> false, store.usageMark()).deleted());
  }

  @Test
  void rm_during_aCreate_is_refused_and_force_keeps_the_data() throws Exception {
    String id = ContainerSpecs.newId();
    build(id);
    ImageException e =
        assertThrows(ImageException.class, () -> store.remove("app:1", false, x -> false));
    assertTrue(e.getMessage().contains("is used by a container"), e.getMessage());
    // forced: the name goes, the image and its layers stay for the container
    assertEquals(List.of("app:1"), store.remove("app:1", true, x -> false));
    assertTrue(store.resolve(imageId).isPresent());
    for (Path d : store.layerDirs(store.resolve(imageId).orElseThrow()))
      assertTrue(d.toFile().isDirectory(), d.toString());
    store.release(id);
  }

  @Test
  void a_failed_spec_build_releases_its_lease() throws Exception {
    String id = ContainerSpecs.newId();
    BerthException e =
        assertThrows(
            BerthException.class,
            () ->
                ContainerSpecs.build(
                    id, "bad", params("app:1", List.of("not an assignment")), store));
    assertEquals(BerthException.Code.INVALID_ARGUMENT, e.code());
    assertFalse(store.release(id), "released already");
    assertEquals(List.of(imageId), store.prune(true, x -> false).deleted());
  }

  @Test
  void a_create_of_aRemoved_image_leaves_no_lease() throws Exception {
    String id = ContainerSpecs.newId();
    store.remove("app:1", false, x -> false);
    BerthException e = assertThrows(BerthException.class, () -> build(id));
    assertEquals(BerthException.Code.NOT_FOUND, e.code());
    assertFalse(store.release(id));
  }
}
