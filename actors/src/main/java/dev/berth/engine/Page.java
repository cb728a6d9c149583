package dev.berth.engine;

import java.util.List;

/** One page of a listing; {@code nextPageToken} is empty (or null) on the last page. */
public record Page<T>(List<T> items, String nextPageToken) {}
