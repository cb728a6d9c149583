package dev.berth.engine;

import java.util.List;

/** One page of a listing; {@code nextPageToken} is "" on the last page. */
public record Page<T>(List<T> items, String nextPageToken) {
  public Page {
    items = List.copyOf(items);
    nextPageToken = nextPageToken == null ? "" : nextPageToken;
  }
}
