package dev.berth.daemon;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.berth.actors.EventFeed;
import dev.berth.api.v1.Container;
import dev.berth.api.v1.Event;
import dev.berth.api.v1.ExecOutput;
import dev.berth.api.v1.Image;
import dev.berth.api.v1.LogEntry;
import dev.berth.core.ContainerView;
import dev.berth.images.ImageRecord;
import dev.berth.task.ExecChunk;
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
        .setState(v.state().label())
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

  /** The chunk's bytes are not copied: nothing writes to them after the shim's reply. */
  static ExecOutput execOutput(ExecChunk c) {
    if (c instanceof ExecChunk.Stdout out)
      return ExecOutput.newBuilder().setStdout(UnsafeByteOperations.unsafeWrap(out.data())).build();
    if (c instanceof ExecChunk.Stderr err)
      return ExecOutput.newBuilder().setStderr(UnsafeByteOperations.unsafeWrap(err.data())).build();
    return ExecOutput.newBuilder().setExitCode(((ExecChunk.Exited) c).exitCode()).build();
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
