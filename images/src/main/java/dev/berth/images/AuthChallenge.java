package dev.berth.images;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One challenge of a {@code WWW-Authenticate} header (RFC 7235): a scheme and its parameters, e.g.
 * {@code Bearer
 * realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"}.
 */
record AuthChallenge(String scheme, Map<String, String> params) {
  String param(String name) {
    return params.get(name);
  }

  /** The first Bearer challenge, else the first Basic one, among all the headers. */
  static Optional<AuthChallenge> pick(List<String> headers) {
    AuthChallenge basic = null;
    for (String h : headers) {
      for (AuthChallenge c : parse(h)) {
        if (c.scheme.equals("bearer")) return Optional.of(c);
        if (c.scheme.equals("basic") && basic == null) basic = c;
      }
    }
    return Optional.ofNullable(basic);
  }

  /** Parses a header value; malformed parts are skipped rather than trusted. */
  static List<AuthChallenge> parse(String header) {
    java.util.ArrayList<AuthChallenge> out = new java.util.ArrayList<>();
    if (header == null) return out;
    int i = 0;
    int n = header.length();
    String scheme = null;
    Map<String, String> params = new LinkedHashMap<>();
    while (i < n) {
      while (i < n && (header.charAt(i) == ' ' || header.charAt(i) == ',')) i++;
      int start = i;
      while (i < n && isToken(header.charAt(i))) i++;
      if (i == start) {
        i++; // not a token: skip the character
        continue;
      }
      String word = header.substring(start, i);
      int j = i;
      while (j < n && header.charAt(j) == ' ') j++;
      if (j < n && header.charAt(j) == '=' && scheme != null) {
        i = j + 1;
        while (i < n && header.charAt(i) == ' ') i++;
        StringBuilder v = new StringBuilder();
        if (i < n && header.charAt(i) == '"') {
          i++;
          while (i < n && header.charAt(i) != '"') {
            if (header.charAt(i) == '\\' && i + 1 < n) i++;
            v.append(header.charAt(i++));
          }
          i++; // closing quote
        } else {
          while (i < n && header.charAt(i) != ',' && header.charAt(i) != ' ')
            v.append(header.charAt(i++));
        }
        params.put(word.toLowerCase(Locale.ROOT), v.toString());
      } else {
        if (scheme != null) out.add(new AuthChallenge(scheme, Map.copyOf(params)));
        scheme = word.toLowerCase(Locale.ROOT);
        params = new LinkedHashMap<>();
      }
    }
    if (scheme != null) out.add(new AuthChallenge(scheme, Map.copyOf(params)));
    return out;
  }

  private static boolean isToken(char c) {
    return Character.isLetterOrDigit(c) || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
  }
}
