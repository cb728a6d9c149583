package dev.berth.images;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.images.ImageIndex.Entry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pieces behind {@link ImageStore}: content store, image index, garbage collector and leases
 * together (no unpacking, so no root needed).
 */
class StorePartsTest {
  @TempDir Path tmp;

  static String digest(String s) {
    return Digests.of(s.getBytes(StandardCharsets.UTF_8));
  }

  private Path file(String content) throws Exception {
    Path f = Files.createTempFile(tmp, "f", "");
    Files.writeString(f, content);
    return f;
  }

  private static Entry entry(String id, List<String> names, String layerBlob, String diffId) {
    return new Entry(
        new ImageRecord(
            id, names, 5, Instant.parse("2024-01-01T00:00:00Z"), id, List.of(diffId), List.of()),
        List.of(layerBlob),
        List.of(5L));
  }

  @Test
  void content_store_puts_once_reads_and_deletes() throws Exception {
    ContentStore c = new ContentStore(tmp.resolve("blobs/sha256"), tmp);
    String d = digest("hello");
    assertFalse(c.has(d));
    c.put(d, file("hello"));
    assertTrue(c.has(d));
    Path second = file("hello");
    c.put(d, second); // there already: the duplicate is dropped
    assertFalse(Files.exists(second));
    assertArrayEquals("hello".getBytes(StandardCharsets.UTF_8), c.read(d, 100));
    assertEquals(Set.of(d), c.digests());
    assertEquals(5, c.delete(d));
    assertEquals(0, c.delete(d));
    assertTrue(c.digests().isEmpty());
  }

  @Test
  void index_persists_and_looks_up_by_name_id_prefix_and_moves_names() throws Exception {
    String a = digest("a");
    String b = digest("b");
    ImageIndex index = ImageIndex.open(tmp);
    List<Entry> next = new ArrayList<>();
    ImageIndex.merge(next, entry(a, List.of("app:1", "app:latest"), digest("la"), digest("da")));
    ImageIndex.merge(next, entry(b, List.of("app:latest"), digest("lb"), digest("db")));
    index.publish(next);
    ImageIndex again = ImageIndex.open(tmp);
    assertEquals(index.entries(), again.entries());
    assertEquals(List.of("app:1"), again.byId(a).orElseThrow().record().names(), "name moved");
    assertEquals(b, again.find("app:latest").orElseThrow().entry().record().id());
    assertEquals("app:latest", again.find("app").orElseThrow().name());
    assertEquals(a, again.find(a).orElseThrow().entry().record().id());
    assertEquals(
        a, again.find(Digests.hex(a).substring(0, 12)).orElseThrow().entry().record().id());
    assertEquals(Long.valueOf(5), again.layerSize(digest("da")));
    assertEquals(Map.of(digest("da"), 5L, digest("db"), 5L), again.layerSizes());
    assertFalse(Files.exists(tmp.resolve("index.json.tmp")));
  }

  @Test
  void collector_keeps_what_images_and_leases_reference_and_deletes_the_rest() throws Exception {
    Object lock = new Object();
    ContentStore content = new ContentStore(tmp.resolve("blobs/sha256"), tmp);
    LayerStore layers = new LayerStore(tmp.resolve("layers"), tmp);
    ImageIndex index = ImageIndex.open(tmp);
    Leases leases = new Leases(lock, new AtomicLong()::get);
    GarbageCollector gc = new GarbageCollector(content, layers, index, leases);
    String id = digest("config");
    String layerBlob = digest("layer");
    String kept = digest("kept by a lease");
    String orphan = digest("orphan");
    for (String s : List.of("config", "layer", "kept by a lease", "orphan"))
      content.put(digest(s), file(s));
    String diffId = digest("diff");
    String orphanLayer = digest("orphan diff");
    Files.createDirectories(layers.dir(diffId));
    Files.createDirectories(layers.dir(orphanLayer));
    // the manifest digest is the config's here: one blob fewer
    index.publish(List.of(entry(id, List.of("x:1"), layerBlob, diffId)));
    Lease lease = leases.open();
    lease.protectBlob(kept);
    synchronized (lock) {
      assertEquals("orphan".length(), gc.collectAll(Map.of()));
    }
    assertEquals(Set.of(id, layerBlob, kept), content.digests());
    assertEquals(Set.of(diffId), layers.diffIds());
    assertFalse(content.has(orphan));
    leases.collectWith((b, l) -> gc.collect(b, l, Map.of()));
    lease.close(); // what it protected and nothing else references goes with it
    assertEquals(Set.of(id, layerBlob), content.digests());
  }

  @Test
  void an_image_lease_expires_when_its_create_never_finishes() throws Exception {
    AtomicLong now = new AtomicLong();
    Path root = tmp.resolve("store");
    ImageStore store = new ImageStore(root, now::get);
    String id = digest("config");
    ContentStore content = new ContentStore(root.resolve("blobs/sha256"), root.resolve("tmp"));
    content.put(id, file("config"));
    content.put(digest("layer"), file("layer"));
    Files.createDirectories(root.resolve("layers").resolve(Digests.hex(digest("diff"))));
    ImageIndex.open(root).publish(List.of(entry(id, List.of(), digest("layer"), digest("diff"))));
    store = new ImageStore(root, now::get); // reads the index written above
    store.leaseImage("c1", id);
    assertEquals(List.of(), store.prune(false, x -> false).deleted(), "dangling but leased");
    now.addAndGet(ImageStore.CREATE_LEASE_TTL.toNanos());
    assertEquals(List.of(id), store.prune(false, x -> false).deleted(), "the lease expired");
    assertFalse(store.release("c1"));
    assertTrue(content.digests().isEmpty());
  }
}
