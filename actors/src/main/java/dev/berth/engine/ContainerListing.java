package dev.berth.engine;

import dev.berth.core.BerthException;
import dev.berth.core.ContainerState;
import dev.berth.core.ContainerView;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * List's rules, on the views of every container: filters, creation order, pages. A page token is
 * the sort key (created time, id) of the last item of the previous page, so pages stay in order
 * when containers are created or removed between the calls.
 */
final class ContainerListing {
  static final int DEFAULT_PAGE_SIZE = 100;
  static final int MAX_PAGE_SIZE = 1000;
  private static final String TOKEN_VERSION = "c1";

  /** Creation order: created time, then id. A view without a time (no answer) sorts first. */
  static final Comparator<ContainerView> ORDER =
      Comparator.comparing(ContainerListing::createdOf).thenComparing(ContainerView::id);

  private ContainerListing() {}

  /** The page size a request asks for, checked: 0 means {@value #DEFAULT_PAGE_SIZE}. */
  static int pageSize(int requested) {
    if (requested == 0) return DEFAULT_PAGE_SIZE;
    if (requested < 0 || requested > MAX_PAGE_SIZE) {
      throw BerthException.invalidField(
          "page_size",
          "page_size must be between 1 and "
              + MAX_PAGE_SIZE
              + " (0 for "
              + DEFAULT_PAGE_SIZE
              + ")");
    }
    return requested;
  }

  /** The sort key a page token holds; null for an empty token (the first page). */
  record Key(Instant created, String id) {}

  static String token(ContainerView v) {
    Instant t = createdOf(v);
    String raw = TOKEN_VERSION + "|" + t.getEpochSecond() + "|" + t.getNano() + "|" + v.id();
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(raw.getBytes(StandardCharsets.US_ASCII));
  }

  static Key parseToken(String token) {
    if (token == null || token.isEmpty()) return null;
    try {
      if (token.length() > 256) throw new IllegalArgumentException("too long");
      String raw = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.US_ASCII);
      String[] parts = raw.split("\\|", -1);
      if (parts.length != 4 || !parts[0].equals(TOKEN_VERSION) || parts[3].isEmpty())
        throw new IllegalArgumentException("not a page token");
      long seconds = Long.parseLong(parts[1]);
      int nanos = Integer.parseInt(parts[2]);
      if (nanos < 0 || nanos > 999_999_999) throw new IllegalArgumentException("bad nanos");
      return new Key(Instant.ofEpochSecond(seconds, nanos), parts[3]);
    } catch (RuntimeException e) {
      throw BerthException.invalidField(
          "page_token",
          "malformed page_token "
              + BerthException.quote(token)
              + ": pass the next_page_token of the previous page");
    }
  }

  /**
   * The page of {@code views} (every container, in any order) that {@code r} asks for; {@code r}'s
   * page size and token must have been checked ({@link #pageSize}, {@link #parseToken}).
   */
  static Page<ContainerView> page(
      List<ContainerView> views, Containers.ListRequest r, int size, Key after) {
    List<ContainerView> matching = new ArrayList<>();
    for (ContainerView v : views) if (matches(v, r)) matching.add(v);
    matching.sort(ORDER);
    List<ContainerView> out = new ArrayList<>();
    boolean more = false;
    for (ContainerView v : matching) {
      if (after != null && compare(v, after) <= 0) continue;
      if (out.size() == size) {
        more = true;
        break;
      }
      out.add(v);
    }
    return new Page<>(out, more ? token(out.get(out.size() - 1)) : "");
  }

  private static int compare(ContainerView v, Key k) {
    int c = createdOf(v).compareTo(k.created());
    return c != 0 ? c : v.id().compareTo(k.id());
  }

  /**
   * Without {@code all}, running containers only (docker ps), unless states are asked for (they say
   * which containers are wanted, as docker's status filter does).
   */
  static boolean matches(ContainerView v, Containers.ListRequest r) {
    if (v.state() == ContainerState.REMOVED) return false;
    List<ContainerState> states = orEmpty(r.states());
    if (!states.isEmpty()) {
      if (!states.contains(v.state())) return false;
    } else if (!r.all()
        && (v.state() == ContainerState.STOPPED || v.state() == ContainerState.CREATED)) {
      return false;
    }
    List<String> names = orEmpty(r.names());
    if (!names.isEmpty() && !names.contains(v.name())) return false;
    List<String> images = orEmpty(r.images());
    if (!images.isEmpty() && images.stream().noneMatch(i -> sameImage(v, i))) return false;
    Map<String, String> labels = r.labels() == null ? Map.of() : r.labels();
    for (Map.Entry<String, String> want : labels.entrySet()) {
      String have = v.labels().get(want.getKey());
      if (have == null) return false;
      String value = want.getValue() == null ? "" : want.getValue();
      if (!value.isEmpty() && !value.equals(have)) return false;
    }
    return true;
  }

  private static boolean sameImage(ContainerView v, String image) {
    if (image == null || image.isEmpty()) return false;
    return image.equals(v.image())
        || image.equals(v.imageId())
        || (!v.imageId().isEmpty() && ("sha256:" + image).equals(v.imageId()));
  }

  private static Instant createdOf(ContainerView v) {
    return v.createdAt() == null ? Instant.EPOCH : v.createdAt();
  }

  private static <T> List<T> orEmpty(List<T> l) {
    return l == null ? List.of() : l;
  }
}
