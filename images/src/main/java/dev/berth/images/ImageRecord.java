package dev.berth.images;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One image in the store.
 *
 * @param id "sha256:" + hex digest of the config JSON (docker's image id)
 * @param names familiar references ("busybox:latest", "registry:5000/team/app:1.2"); empty when
 *     dangling
 * @param size sum of the uncompressed layer tar sizes in bytes (what docker calls the image size)
 * @param createdAt the config's "created" time, or the import time when the config has none
 * @param manifestDigest digest of the OCI manifest stored with the image (synthesized for docker
 *     archives)
 * @param diffIds the config's rootfs.diff_ids, lowest layer first
 * @param repoDigests "repository@sha256:..." of what a pull fetched (the index or manifest digest),
 *     docker's RepoDigests
 */
public record ImageRecord(
    String id,
    List<String> names,
    long size,
    Instant createdAt,
    String manifestDigest,
    List<String> diffIds,
    List<String> repoDigests) {
  public ImageRecord {
    Objects.requireNonNull(id, "id");
    names = List.copyOf(names);
    diffIds = List.copyOf(diffIds);
    repoDigests = List.copyOf(repoDigests);
  }

  public ImageRecord(
      String id,
      List<String> names,
      long size,
      Instant createdAt,
      String manifestDigest,
      List<String> diffIds) {
    this(id, names, size, createdAt, manifestDigest, diffIds, List.of());
  }

  /** Neither a name nor a repo digest refers to it (what {@code image prune} removes). */
  public boolean dangling() {
    return names.isEmpty() && repoDigests.isEmpty();
  }
}
