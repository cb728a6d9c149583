package dev.berth.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Leases on their own: references, release, expiry and marks (a fake clock, no files). */
class LeasesTest {
  static final String IMG = "sha256:" + "a".repeat(64);
  static final String IMG2 = "sha256:" + "b".repeat(64);
  static final String BLOB = "sha256:" + "c".repeat(64);
  static final String LAYER = "sha256:" + "d".repeat(64);

  final AtomicLong now = new AtomicLong(1_000);
  final List<Set<String>> collected = new ArrayList<>();
  final Leases leases = new Leases(new Object(), now::get);

  {
    leases.collectWith((b, l) -> collected.add(Set.copyOf(b)));
  }

  private Set<String> referencedBlobs() {
    Set<String> b = new HashSet<>();
    leases.addReferences(b, new HashSet<>());
    return b;
  }

  @Test
  void a_pull_lease_references_what_it_protects_until_closed_then_offers_it_to_the_collector() {
    Lease l = leases.open();
    l.protectBlob(BLOB);
    l.protectLayer(LAYER);
    Set<String> layers = new HashSet<>();
    leases.addReferences(new HashSet<>(), layers);
    assertEquals(Set.of(BLOB), referencedBlobs());
    assertEquals(Set.of(LAYER), layers);
    l.close();
    l.close(); // idempotent
    assertEquals(Set.of(), referencedBlobs());
    assertEquals(List.of(Set.of(BLOB)), collected);
    assertThrows(IllegalStateException.class, () -> l.protectBlob(BLOB));
  }

  @Test
  void an_image_lease_protects_its_image_until_released_and_aMark_remembers_the_release()
      throws Exception {
    long before = leases.mark();
    leases.openForImage("c1", IMG, List.of(BLOB), List.of(LAYER), Duration.ofMinutes(5));
    assertTrue(leases.isActive("c1"));
    assertEquals(Set.of(IMG), leases.protectedImages(leases.mark()));
    assertTrue(leases.release("c1"));
    assertFalse(leases.release("c1"));
    assertEquals(Set.of(IMG), leases.protectedImages(before), "released after the mark");
    assertEquals(Set.of(), leases.protectedImages(leases.mark()), "a mark after the release");
  }

  @Test
  void a_second_lease_with_the_same_id_replaces_the_first() throws Exception {
    leases.openForImage("c1", IMG, List.of(), List.of(), Duration.ofMinutes(5));
    leases.openForImage("c1", IMG2, List.of(), List.of(), Duration.ofMinutes(5));
    assertEquals(Set.of(IMG2), leases.protectedImages(leases.mark()));
  }

  @Test
  void an_image_lease_nobody_releases_expires() throws Exception {
    long mark = leases.mark();
    leases.openForImage("c1", IMG, List.of(BLOB), List.of(), Duration.ofMinutes(5));
    now.addAndGet(Duration.ofMinutes(5).toNanos() - 1);
    leases.expire();
    assertTrue(leases.isActive("c1"));
    now.addAndGet(1);
    leases.expire();
    assertFalse(leases.isActive("c1"));
    assertEquals(Set.of(), referencedBlobs());
    assertEquals(Set.of(), leases.protectedImages(mark), "an expiry is not a release");
  }

  @Test
  void a_mark_older_than_what_is_remembered_is_refused() throws Exception {
    long mark = leases.mark();
    leases.openForImage("c1", IMG, List.of(), List.of(), Duration.ofMinutes(5));
    leases.release("c1");
    now.addAndGet(Leases.MEMORY.toNanos() + 1);
    ImageException e = assertThrows(ImageException.class, () -> leases.protectedImages(mark));
    assertTrue(e.getMessage().contains("try again"), e.getMessage());
    assertEquals(Set.of(), leases.protectedImages(leases.mark()));
  }
}
