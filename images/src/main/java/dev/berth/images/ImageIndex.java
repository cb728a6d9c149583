package dev.berth.images;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Image metadata: the images, their names and what they reference ({@code root/index.json}), and
 * the lookup of a reference (name, id, id prefix, repo digest) to one of them.
 *
 * <p>Readers work on an immutable list published through a volatile field and never block; {@link
 * #publish} (the only mutation) writes the file first — temp file, fsync, atomic rename — and only
 * then makes the new list visible. The caller serializes publishes (the store lock).
 */
final class ImageIndex {
  private static final Pattern FULL_ID = Pattern.compile("sha256:[0-9a-f]{64}");
  private static final Pattern ID_PREFIX = Pattern.compile("(?:sha256:)?([0-9a-f]{4,64})");
  private static final int VERSION = 1;

  /**
   * An image plus what the garbage collector needs to know about it.
   *
   * @param otherBlobs further documents kept with the image (the image index a pull chose the
   *     manifest from)
   */
  record Entry(
      ImageRecord record, List<String> layerBlobs, List<Long> layerSizes, List<String> otherBlobs) {
    Entry(ImageRecord record, List<String> layerBlobs, List<Long> layerSizes) {
      this(record, layerBlobs, layerSizes, List.of());
    }

    /** Every blob the image references: config, manifest, layers, other documents. */
    Set<String> blobs() {
      Set<String> s = new LinkedHashSet<>();
      s.add(record.id());
      if (record.manifestDigest() != null) s.add(record.manifestDigest());
      s.addAll(layerBlobs);
      s.addAll(otherBlobs);
      return s;
    }
  }

  /**
   * A reference resolved: the entry and, when it was found by one of its names, that name.
   *
   * @param name the name the reference matched, or null (by id, id prefix or digest)
   */
  record Match(Entry entry, String name) {}

  private final Path root;
  private final Path file;
  private volatile List<Entry> entries;

  private ImageIndex(Path root, List<Entry> entries) {
    this.root = root;
    this.file = root.resolve("index.json");
    this.entries = entries;
  }

  /** Reads {@code root/index.json} (an empty index when there is none). */
  static ImageIndex open(Path root) throws IOException {
    return new ImageIndex(root, load(root.resolve("index.json")));
  }

  List<Entry> entries() {
    return entries;
  }

  /** Writes {@code next} to disk and makes it the current index. Caller holds the store lock. */
  void publish(List<Entry> next) throws IOException {
    write(next);
    entries = List.copyOf(next);
  }

  Optional<Match> find(String ref) {
    return find(entries, ref);
  }

  Optional<Entry> byId(String id) {
    return entries.stream().filter(e -> e.record().id().equals(id)).findFirst();
  }

  /** Uncompressed size of every layer the index knows, by diff id. */
  Map<String, Long> layerSizes() {
    Map<String, Long> m = new HashMap<>();
    for (Entry e : entries) {
      for (int i = 0; i < e.record().diffIds().size(); i++)
        m.put(e.record().diffIds().get(i), e.layerSizes().get(i));
    }
    return m;
  }

  /** The recorded size of layer {@code diffId}, or null when no image has it. */
  Long layerSize(String diffId) {
    for (Entry e : entries) {
      int i = e.record().diffIds().indexOf(diffId);
      if (i >= 0) return e.layerSizes().get(i);
    }
    return null;
  }

  /** Name first (docker's order), then full id, then a unique id prefix. */
  static Optional<Match> find(List<Entry> entries, String ref) {
    if (ref == null || ref.isBlank()) return Optional.empty();
    String r = ref.strip();
    if (FULL_ID.matcher(r).matches()) {
      return entries.stream()
          .filter(e -> e.record().id().equals(r))
          .findFirst()
          .map(e -> new Match(e, null));
    }
    References.Ref parsed = References.parse(r);
    if (parsed != null) {
      if (parsed.digest() != null) {
        String repoDigest = parsed.repository() + "@" + parsed.digest();
        for (Entry e : entries) {
          if (e.record().repoDigests().contains(repoDigest)) return Optional.of(new Match(e, null));
        }
        for (Entry e : entries) {
          if (parsed.digest().equals(e.record().manifestDigest())
              && e.record().names().stream()
                  .anyMatch(n -> n.startsWith(parsed.repository() + ":"))) {
            return Optional.of(new Match(e, null));
          }
        }
      } else {
        for (Entry e : entries) {
          if (e.record().names().contains(parsed.name()))
            return Optional.of(new Match(e, parsed.name()));
        }
      }
    }
    var m = ID_PREFIX.matcher(r);
    if (m.matches()) {
      String prefix = "sha256:" + m.group(1);
      List<Entry> hits = entries.stream().filter(e -> e.record().id().startsWith(prefix)).toList();
      if (hits.size() == 1) return Optional.of(new Match(hits.get(0), null));
    }
    return Optional.empty();
  }

  /**
   * Adds or updates {@code e} in {@code list}; its names move to it from any other image (docker
   * load semantics).
   */
  static void merge(List<Entry> list, Entry e) {
    Set<String> names = new LinkedHashSet<>();
    Set<String> repoDigests = new LinkedHashSet<>();
    for (Entry o : list) {
      if (o.record().id().equals(e.record().id())) {
        names.addAll(o.record().names());
        repoDigests.addAll(o.record().repoDigests());
      }
    }
    names.addAll(e.record().names());
    repoDigests.addAll(e.record().repoDigests());
    Set<String> otherBlobs = new LinkedHashSet<>(e.otherBlobs());
    Set<String> moving = new HashSet<>(e.record().names());
    for (int i = 0; i < list.size(); i++) {
      Entry o = list.get(i);
      if (o.record().id().equals(e.record().id())) {
        otherBlobs.addAll(o.otherBlobs());
        Entry merged = withNames(o, List.copyOf(names));
        list.set(
            i,
            new Entry(
                withRepoDigests(merged.record(), repoDigests),
                merged.layerBlobs(),
                merged.layerSizes(),
                List.copyOf(otherBlobs)));
        continue;
      }
      List<String> keep = o.record().names().stream().filter(n -> !moving.contains(n)).toList();
      if (keep.size() != o.record().names().size()) list.set(i, withNames(o, keep));
    }
    if (list.stream().noneMatch(o -> o.record().id().equals(e.record().id())))
      list.add(withNames(e, List.copyOf(names)));
  }

  static Entry withNames(Entry e, List<String> names) {
    ImageRecord r = e.record();
    return new Entry(
        new ImageRecord(
            r.id(),
            names,
            r.size(),
            r.createdAt(),
            r.manifestDigest(),
            r.diffIds(),
            r.repoDigests()),
        e.layerBlobs(),
        e.layerSizes(),
        e.otherBlobs());
  }

  private static ImageRecord withRepoDigests(ImageRecord r, Set<String> repoDigests) {
    return new ImageRecord(
        r.id(),
        r.names(),
        r.size(),
        r.createdAt(),
        r.manifestDigest(),
        r.diffIds(),
        List.copyOf(repoDigests));
  }

  static List<String> strings(JsonNode n) {
    List<String> out = new ArrayList<>();
    if (n.isArray()) n.forEach(x -> out.add(x.asText()));
    else if (n.isTextual()) out.add(n.asText()); // tolerate a bare string, as docker does for Cmd
    return out;
  }

  // ------------------------------------------------------------------------------------ the file

  private static List<Entry> load(Path file) throws IOException {
    if (!Files.exists(file)) return List.of();
    JsonNode doc;
    try {
      doc = ImageSources.JSON.readTree(Files.readAllBytes(file));
    } catch (IOException e) {
      throw new IOException("image index " + file + " is corrupt: " + e.getMessage(), e);
    }
    if (doc == null || doc.path("version").asInt(-1) != VERSION) {
      throw new IOException(
          "image index "
              + file
              + " has an unknown format (version "
              + (doc == null ? "?" : doc.path("version"))
              + ")");
    }
    List<Entry> out = new ArrayList<>();
    for (JsonNode n : doc.path("images")) {
      try {
        ImageRecord r =
            new ImageRecord(
                n.path("id").asText(),
                strings(n.path("names")),
                n.path("size").asLong(),
                Instant.parse(n.path("createdAt").asText()),
                n.path("manifestDigest").asText(null),
                strings(n.path("diffIds")),
                strings(n.path("repoDigests")));
        List<Long> sizes = new ArrayList<>();
        n.path("layerSizes").forEach(x -> sizes.add(x.asLong()));
        Entry e =
            new Entry(
                r,
                strings(n.path("layerBlobs")),
                List.copyOf(sizes),
                strings(n.path("otherBlobs")));
        for (String d : e.blobs()) Digests.require(d, "image index");
        for (String d : r.diffIds()) Digests.require(d, "image index");
        if (sizes.size() != r.diffIds().size())
          throw new ImageException("layer sizes do not match the layers");
        out.add(e);
      } catch (ImageException | DateTimeParseException e) {
        throw new IOException("image index " + file + " is corrupt: " + e.getMessage(), e);
      }
    }
    return List.copyOf(out);
  }

  private void write(List<Entry> list) throws IOException {
    ObjectNode doc = ImageSources.JSON.createObjectNode();
    doc.put("version", VERSION);
    ArrayNode arr = doc.putArray("images");
    for (Entry e : list) {
      ObjectNode n = arr.addObject();
      ImageRecord r = e.record();
      n.put("id", r.id());
      r.names().forEach(n.putArray("names")::add);
      n.put("size", r.size());
      n.put("createdAt", r.createdAt().toString());
      n.put("manifestDigest", r.manifestDigest());
      r.diffIds().forEach(n.putArray("diffIds")::add);
      e.layerBlobs().forEach(n.putArray("layerBlobs")::add);
      e.layerSizes().forEach(n.putArray("layerSizes")::add);
      if (!r.repoDigests().isEmpty()) r.repoDigests().forEach(n.putArray("repoDigests")::add);
      if (!e.otherBlobs().isEmpty()) e.otherBlobs().forEach(n.putArray("otherBlobs")::add);
    }
    Path temp = root.resolve("index.json.tmp");
    try (FileChannel ch =
            FileChannel.open(
                temp,
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE);
        OutputStream out = java.nio.channels.Channels.newOutputStream(ch)) {
      ImageSources.JSON.writerWithDefaultPrettyPrinter().writeValue(nonClosing(out), doc);
      out.flush();
      ch.force(true); // the rename below must never publish an index whose bytes are not on disk
    }
    try {
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static OutputStream nonClosing(OutputStream out) {
    return new java.io.FilterOutputStream(out) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
      }

      @Override
      public void close() throws IOException {
        out.flush();
      }
    };
  }
}
