package dev.berth.daemon;

import com.google.protobuf.Timestamp;
import com.google.protobuf.UnsafeByteOperations;
import dev.berth.api.v1.CreateExecRequest;
import dev.berth.api.v1.CreateExecResponse;
import dev.berth.api.v1.Exec;
import dev.berth.api.v1.ExecExited;
import dev.berth.api.v1.ExecStarted;
import dev.berth.api.v1.ExecState;
import dev.berth.api.v1.InspectExecResponse;
import dev.berth.api.v1.KillExecResponse;
import dev.berth.api.v1.ListExecsResponse;
import dev.berth.api.v1.StartExecResponse;
import dev.berth.engine.Execs;
import dev.berth.task.ExecChunk;
import dev.berth.task.ExecInfo;
import java.time.Instant;
import java.util.List;

/** berth.v1 exec messages to the {@link Execs} facade's requests, and its answers back. */
final class ExecProtos {
  private ExecProtos() {}

  static Execs.Create create(CreateExecRequest r) {
    return new Execs.Create(
        r.getContainer(),
        r.getArgsList(),
        r.getEnvList(),
        r.getWorkingDir(),
        r.getUser(),
        r.getTty(),
        r.getAttachStdin());
  }

  static CreateExecResponse created(ExecInfo i) {
    return CreateExecResponse.newBuilder().setExec(exec(i)).build();
  }

  static KillExecResponse killed(ExecInfo i) {
    return KillExecResponse.newBuilder().setExec(exec(i)).build();
  }

  static InspectExecResponse inspected(ExecInfo i) {
    return InspectExecResponse.newBuilder().setExec(exec(i)).build();
  }

  static ListExecsResponse listed(List<ExecInfo> all) {
    ListExecsResponse.Builder b = ListExecsResponse.newBuilder();
    for (ExecInfo i : all) b.addExecs(exec(i));
    return b.build();
  }

  static Exec exec(ExecInfo i) {
    Exec.Builder b =
        Exec.newBuilder()
            .setId(i.id())
            .setContainerId(i.containerId())
            .setState(
                switch (i.state()) {
                  case CREATED -> ExecState.EXEC_STATE_CREATED;
                  case RUNNING -> ExecState.EXEC_STATE_RUNNING;
                  case EXITED -> ExecState.EXEC_STATE_EXITED;
                })
            .setPid(i.pid())
            .addAllArgs(i.args())
            .setTty(false)
            .setAttachStdin(i.attachStdin());
    if (i.exitCode() != null) b.setExitCode(i.exitCode());
    if (i.startedAt() != null) b.setStartedAt(timestamp(i.startedAt()));
    if (i.finishedAt() != null) b.setFinishedAt(timestamp(i.finishedAt()));
    return b.build();
  }

  static StartExecResponse response(ExecChunk c) {
    StartExecResponse.Builder b = StartExecResponse.newBuilder();
    if (c instanceof ExecChunk.Stdout o) {
      return b.setStdout(UnsafeByteOperations.unsafeWrap(o.data())).build();
    }
    if (c instanceof ExecChunk.Stderr e) {
      return b.setStderr(UnsafeByteOperations.unsafeWrap(e.data())).build();
    }
    if (c instanceof ExecChunk.Started s) {
      return b.setStarted(ExecStarted.newBuilder().setPid(s.pid())).build();
    }
    ExecChunk.Exited x = (ExecChunk.Exited) c;
    return b.setExited(
            ExecExited.newBuilder()
                .setExitCode(x.exitCode())
                .setFinishedAt(timestamp(x.finishedAt())))
        .build();
  }

  static Timestamp timestamp(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }
}
