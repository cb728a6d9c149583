package dev.berth.images;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One image in the store.
 *
 * @param id             "sha256:" + hex digest of the config JSON (docker's image id)
 * @param names          familiar references ("busybox:latest", "registry:5000/team/app:1.2"); empty when dangling
 * @param size           sum of the uncompressed layer tar sizes in bytes (what docker calls the image size)
 * @param createdAt      the config's "created" time, or the import time when the config has none
 * @param manifestDigest digest of the OCI manifest stored with the image (synthesized for docker archives)
 * @param diffIds        the config's rootfs.diff_ids, lowest layer first
 */
public record ImageRecord(String id, List<String> names, long size, Instant createdAt, String manifestDigest,
                          List<String> diffIds) {
  public ImageRecord {
    Objects.requireNonNull(id, "id");
    names = List.copyOf(names);
    diffIds = List.copyOf(diffIds);
  }
}
