package dev.berth.engine;

import dev.berth.core.BerthException;
import dev.berth.images.ImageException;
import dev.berth.images.ImageRecord;
import dev.berth.images.ImageStore;
import dev.berth.images.Puller;
import dev.berth.images.RegistryCredentials;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * The domain's front door for images (beside {@link Containers}): the image store and the registry
 * logins, with their failures as {@link BerthException}s (a failed stage, never thrown) and their
 * blocking work on the blocking pool. Image removal and pruning keep what containers use. Pulls are
 * served by the daemon's {@code PullProgressSource} over {@link Puller}.
 */
public final class Images {
  private final ImageStore store;
  private final Puller puller;
  private final Containers containers;
  private final Executor blocking;

  public Images(ImageStore store, Puller puller, Containers containers, Executor blocking) {
    this.store = store;
    this.puller = puller;
    this.containers = containers;
    this.blocking = blocking;
  }

  /** The status a failed image operation maps to. */
  public static BerthException error(ImageException e) {
    return switch (e.reason()) {
      case INVALID -> BerthException.invalid(e.getMessage());
      case NOT_FOUND ->
          BerthException.notFound(BerthException.Reason.IMAGE_NOT_FOUND, e.getMessage());
      case UNAUTHORIZED -> BerthException.denied(e.getMessage());
      case UNAVAILABLE -> BerthException.unavailable(e.getMessage());
      case REFUSED -> BerthException.precondition(e.getMessage());
    };
  }

  @FunctionalInterface
  private interface ImageWork<T> {
    T run() throws ImageException;
  }

  private <T> CompletionStage<T> blocking(ImageWork<T> work) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return work.run();
          } catch (ImageException e) {
            throw error(e);
          }
        },
        blocking);
  }

  /** Checks the credentials with the registry and stores them; answers the registry's name. */
  public CompletionStage<String> login(String server, String username, String password) {
    return blocking(
        () -> puller.login(server, new RegistryCredentials.Credentials(username, password)));
  }

  /** Whether there were credentials to remove. */
  public CompletionStage<Boolean> logout(String server) {
    return blocking(() -> puller.logout(server));
  }

  /** Untagged images (all unused ones with {@code all}) and what only they used. */
  public CompletionStage<ImageStore.Pruned> prune(boolean all) {
    // Taken before the in-use check: a container recorded after the check is still seen (its
    // create's lease on the image was held until it was recorded; ImageStore#usageMark).
    long mark = store.usageMark();
    return containers
        .imagesInUse()
        .thenCompose(inUse -> blocking(() -> store.prune(all, inUse::contains, mark)));
  }

  /** An OCI layout or docker archive on the daemon's file system. */
  public CompletionStage<List<ImageRecord>> importImage(String path, String nameOrBlank) {
    return CompletableFuture.supplyAsync(
        () -> {
          if (path.isBlank() || !Path.of(path).isAbsolute())
            throw BerthException.invalidField(
                "path",
                "an absolute path (on the daemon's side) to an OCI layout or docker archive is"
                    + " required");
          try {
            return store.importImage(Path.of(path), nameOrBlank.isBlank() ? null : nameOrBlank);
          } catch (ImageException e) {
            throw BerthException.invalid(e.getMessage());
          }
        },
        blocking);
  }

  /** Writes the image as an OCI layout archive to {@code path} (absolute, on the daemon's side). */
  public CompletionStage<ImageRecord> save(String ref, String path) {
    return CompletableFuture.supplyAsync(
        () -> {
          if (path.isBlank() || !Path.of(path).isAbsolute())
            throw BerthException.invalidField(
                "path", "an absolute path (on the daemon's side) to write to is required");
          try {
            return store.save(ref, Path.of(path));
          } catch (ImageException e) {
            throw error(e);
          }
        },
        blocking);
  }

  /**
   * {@code references}: NAME:TAG, or NAME for any tag (any of them; empty: all); {@code dangling}:
   * only images without a name (true), only named ones (false), or both (null). Images in id order;
   * the page token is the last id of the previous page.
   */
  public record ListRequest(
      List<String> references, Boolean dangling, int pageSize, String pageToken) {}

  public static final int DEFAULT_PAGE = 100;
  public static final int MAX_PAGE = 1000;

  public Page<ImageRecord> list(ListRequest r) {
    if (r.pageSize() < 0 || r.pageSize() > MAX_PAGE) {
      throw BerthException.invalidField(
          "page_size",
          "page_size must be between 1 and " + MAX_PAGE + " (0: " + DEFAULT_PAGE + ")");
    }
    int size = r.pageSize() == 0 ? DEFAULT_PAGE : r.pageSize();
    String after = r.pageToken() == null ? "" : r.pageToken();
    List<ImageRecord> matching =
        store.list().stream()
            .filter(i -> r.dangling() == null || r.dangling() == i.names().isEmpty())
            .filter(i -> r.references().isEmpty() || namedAny(i, r.references()))
            .filter(i -> after.isEmpty() || i.id().compareTo(after) > 0)
            .sorted(java.util.Comparator.comparing(ImageRecord::id))
            .toList();
    if (matching.size() <= size) return new Page<>(matching, "");
    List<ImageRecord> page = matching.subList(0, size);
    return new Page<>(List.copyOf(page), page.get(size - 1).id());
  }

  private static boolean namedAny(ImageRecord i, List<String> refs) {
    for (String name : i.names()) {
      int colon = name.lastIndexOf(':');
      String repo = colon > name.lastIndexOf('/') ? name.substring(0, colon) : name;
      for (String ref : refs) if (ref.equals(name) || ref.equals(repo)) return true;
    }
    return false;
  }

  /** The names untagged and ids deleted; an image a container uses is refused unless forced. */
  public CompletionStage<List<String>> remove(String ref, boolean force) {
    long mark = store.usageMark(); // before the in-use check, as for prune
    return containers
        .imagesInUse()
        .thenApplyAsync(
            inUse -> {
              try {
                return store.remove(ref, force, inUse::contains, mark);
              } catch (ImageException e) {
                throw store.resolve(ref).isEmpty()
                    ? BerthException.notFound(BerthException.Reason.IMAGE_NOT_FOUND, e.getMessage())
                    : BerthException.precondition(e.getMessage())
                        .withReason(BerthException.Reason.IMAGE_IN_USE);
              }
            },
            blocking);
  }
}
