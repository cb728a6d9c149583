package dev.berth.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The short soak of the test suite (100 faults, fixed seed); ops/chaos/soak.sh runs the same with
 * -Dsoak.faults=N -Dsoak.seed=S. Fails on any invariant violation, printing the report.
 */
@Timeout(1800)
class ChaosSoakIT {
  @Test
  void soak_with_random_faults_keeps_every_invariant() throws Exception {
    int faults = Integer.getInteger("soak.faults", 100);
    long seed = Long.getLong("soak.seed", 20261124L);
    ChaosSoak soak = new ChaosSoak(faults, seed);
    String report = soak.run();
    ChaosSoak.writeReport(
        Path.of(System.getProperty("soak.report", "target/soak-report.txt")), report);
    assertEquals(0, soak.violations(), report);
  }
}
