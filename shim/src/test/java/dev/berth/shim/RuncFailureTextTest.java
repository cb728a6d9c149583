package dev.berth.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class RuncFailureTextTest {
  @Test
  void runcs_own_prefix_is_not_said_twice() {
    assertEquals(
        "runc create failed: unable to start container process: exec: \"nope\": not found",
        RuncDriver.failure(
            "runc create",
            "runc create failed: unable to start container process: exec: \"nope\": not found"));
    assertEquals(
        "runc kill failed: exit status 1", RuncDriver.failure("runc kill", "exit status 1"));
  }
}
