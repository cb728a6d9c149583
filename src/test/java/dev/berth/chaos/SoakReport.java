package dev.berth.chaos;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Counts of faults and checks, and every violation with its detail; printed at the end. */
final class SoakReport {
  record Violation(String kind, String detail) {}

  final Map<String, Integer> faults = new TreeMap<>();
  final Map<String, Integer> actions = new TreeMap<>();
  final List<Violation> violations = new ArrayList<>();

  /**
   * Every fault and action in order: its digest shows two runs of one seed followed the same plan.
   */
  private final java.security.MessageDigest plan = sha256();

  int checks;

  private static java.security.MessageDigest sha256() {
    try {
      return java.security.MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  void fault(String kind) {
    faults.merge(kind, 1, Integer::sum);
    plan.update(("F " + kind + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  void action(String kind) {
    actions.merge(kind, 1, Integer::sum);
    plan.update(("A " + kind + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  String planDigest() {
    try {
      return java.util.HexFormat.of()
          .formatHex(((java.security.MessageDigest) plan.clone()).digest())
          .substring(0, 16);
    } catch (CloneNotSupportedException e) {
      throw new IllegalStateException(e);
    }
  }

  void violation(String kind, String detail) {
    violations.add(new Violation(kind, detail));
    System.out.println("VIOLATION " + kind + ": " + detail);
  }

  int faultCount() {
    return faults.values().stream().mapToInt(Integer::intValue).sum();
  }

  String render(long seed, Duration took, int containers) {
    StringBuilder b = new StringBuilder();
    b.append("== berth chaos soak: seed ")
        .append(seed)
        .append(", ")
        .append(faultCount())
        .append(" faults, ")
        .append(checks)
        .append(" invariant checks, ")
        .append(containers)
        .append(" containers, ")
        .append(took.toSeconds())
        .append(" s, plan ")
        .append(planDigest())
        .append('\n');
    b.append("faults injected:\n");
    faults.forEach((k, v) -> b.append(String.format("  %-28s %5d%n", k, v)));
    b.append("workload actions:\n");
    actions.forEach((k, v) -> b.append(String.format("  %-28s %5d%n", k, v)));
    Map<String, Integer> byKind = new TreeMap<>();
    violations.forEach(v -> byKind.merge(v.kind(), 1, Integer::sum));
    b.append("violations: ").append(violations.size()).append('\n');
    byKind.forEach((k, v) -> b.append(String.format("  %-28s %5d%n", k, v)));
    for (Violation v : violations)
      b.append("  - ").append(v.kind()).append(": ").append(v.detail()).append('\n');
    return b.toString();
  }
}
