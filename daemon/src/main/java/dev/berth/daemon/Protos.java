package dev.berth.daemon;

import com.google.protobuf.ByteString;
import dev.berth.actors.EventFeed;
import dev.berth.api.shim.v1.ExecChunk;
import dev.berth.api.v1.Container;
import dev.berth.api.v1.Event;
import dev.berth.api.v1.ExecOutput;
import dev.berth.api.v1.Image;
import dev.berth.api.v1.LogEntry;
import dev.berth.core.ContainerView;
import dev.berth.images.ImageRecord;
import dev.berth.task.LogFollower;
import java.time.Instant;

/** Domain records and shim messages → API messages. */
final class Protos {
  private Protos() {}

  static String time(Instant t) {
    return t == null ? "" : t.toString();
  }

  static Container container(ContainerView v) {
    return Container.newBuilder()
        .setId(v.id())
        .setName(v.name())
        .setImage(v.image())
        .setImageId(v.imageId())
        .setState(v.state())
        .setPid(v.pid())
        .setExitCode(v.exitCode())
        .setCreatedAt(time(v.createdAt()))
        .setStartedAt(time(v.startedAt()))
        .setFinishedAt(time(v.finishedAt()))
        .addAllCommand(v.command())
        .setAutoRemove(v.autoRemove())
        .setShimAddress(v.shimAddress() == null ? "" : v.shimAddress())
        .setShimPid(v.shimPid())
        .setBundle(v.bundle() == null ? "" : v.bundle())
        .putAllLabels(v.labels())
        .setError(v.error() == null ? "" : v.error())
        .setRestartCount(v.restartCount())
        .setRestartPolicy(v.restartPolicy() == null ? "" : v.restartPolicy())
        .setSeccomp(v.seccomp() == null ? "" : v.seccomp())
        .build();
  }

  static Event event(EventFeed.LifecycleEvent e) {
    Event.Builder b =
        Event.newBuilder()
            .setSeq(e.seq())
            .setTime(time(e.time()))
            .setType(e.type())
            .setContainer(e.containerId())
            .setPid(e.pid())
            .setDetail(e.detail() == null ? "" : e.detail());
    if (e.exitCode() != null) b.setExitCode(e.exitCode());
    return b.build();
  }

  static LogEntry logEntry(LogFollower.LogLine line) {
    return LogEntry.newBuilder()
        .setStream(line.stream())
        .setTime(line.time())
        .setData(ByteString.copyFrom(line.data()))
        .build();
  }

  static ExecOutput execOutput(ExecChunk c) {
    return switch (c.getPayloadCase()) {
      case STDOUT -> ExecOutput.newBuilder().setStdout(c.getStdout()).build();
      case STDERR -> ExecOutput.newBuilder().setStderr(c.getStderr()).build();
      default -> ExecOutput.newBuilder().setExitCode(c.getExitCode()).build();
    };
  }

  static Image image(ImageRecord r) {
    return Image.newBuilder()
        .setId(r.id())
        .addAllNames(r.names())
        .setSize(r.size())
        .setCreatedAt(time(r.createdAt()))
        .setManifestDigest(r.manifestDigest() == null ? "" : r.manifestDigest())
        .addAllRepoDigests(r.repoDigests())
        .build();
  }
}
