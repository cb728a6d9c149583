package dev.berth.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.berth.api.shim.v1.CreateExecRequest;
import dev.berth.api.shim.v1.ExecInfo;
import dev.berth.api.shim.v1.ExecStatus;
import io.grpc.Status;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The shim's exec records: their bounds and their states (no process, no root). */
class ExecTableTest {
  private static CreateExecRequest exec(String id) {
    return CreateExecRequest.newBuilder().setExecId(id).addArgs("true").build();
  }

  private static Status.Code code(TaskException e) {
    return e.toStatus().getCode();
  }

  @Test
  void at_most_64_live_execs_and_the_64_newest_exited_ones_are_kept() throws Exception {
    ExecTable t = new ExecTable();
    for (int i = 0; i < 64; i++) t.create("c", exec("e" + i));
    TaskException full = assertThrows(TaskException.class, () -> t.create("c", exec("more")));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, code(full));

    // all 64 run and exit, then 64 more do: only the newest 64 exited records stay
    for (int i = 0; i < 64; i++) {
      ExecTable.Entry e = t.beginStart("e" + i);
      t.running(e, 1000 + i, Instant.now());
      t.exited(e, i, Instant.now());
    }
    assertEquals(0, t.liveCount());
    for (int i = 64; i < 128; i++) {
      t.create("c", exec("e" + i));
      ExecTable.Entry e = t.beginStart("e" + i);
      t.exited(e, 0, Instant.now());
    }
    assertEquals(64, t.list().size());
    assertEquals(
        Status.Code.NOT_FOUND, code(assertThrows(TaskException.class, () -> t.inspect("e0"))));
    assertEquals(ExecStatus.EXEC_STATUS_EXITED, t.inspect("e127").getStatus());
  }

  @Test
  void an_exec_starts_once_and_is_signalled_only_while_running() throws Exception {
    ExecTable t = new ExecTable();
    ExecInfo created = t.create("c", exec("x"));
    assertEquals(ExecStatus.EXEC_STATUS_CREATED, created.getStatus());
    assertEquals("c", created.getContainerId());
    assertEquals(
        Status.Code.FAILED_PRECONDITION,
        code(assertThrows(TaskException.class, () -> t.runningPid("x"))));
    ExecTable.Entry e = t.beginStart("x");
    assertEquals(
        Status.Code.FAILED_PRECONDITION,
        code(assertThrows(TaskException.class, () -> t.beginStart("x"))));
    t.running(e, 4242, Instant.now());
    assertEquals(4242, t.runningPid("x"));
    t.exited(e, 137, Instant.now());
    ExecInfo done = t.inspect("x");
    assertEquals(ExecStatus.EXEC_STATUS_EXITED, done.getStatus());
    assertEquals(137, done.getExitCode());
    assertEquals(0, done.getPid());
    assertTrue(!done.getFinishedAt().isEmpty());
    assertEquals(
        Status.Code.ALREADY_EXISTS,
        code(assertThrows(TaskException.class, () -> t.create("c", exec("x")))));
    assertEquals(
        Status.Code.INVALID_ARGUMENT,
        code(assertThrows(TaskException.class, () -> t.create("c", exec("../x")))));
  }
}
