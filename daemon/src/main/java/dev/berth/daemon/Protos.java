package dev.berth.daemon;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.berth.actors.EventFeed;
import dev.berth.api.v1.Container;
import dev.berth.api.v1.ContainerReply;
import dev.berth.api.v1.CreateReply;
import dev.berth.api.v1.CreateRequest;
import dev.berth.api.v1.DeleteReply;
import dev.berth.api.v1.Event;
import dev.berth.api.v1.ExecOutput;
import dev.berth.api.v1.ExecRequest;
import dev.berth.api.v1.Image;
import dev.berth.api.v1.ImportReply;
import dev.berth.api.v1.KillRequest;
import dev.berth.api.v1.ListImagesReply;
import dev.berth.api.v1.ListReply;
import dev.berth.api.v1.LogEntry;
import dev.berth.api.v1.LogsRequest;
import dev.berth.api.v1.PruneImagesReply;
import dev.berth.api.v1.StopRequest;
import dev.berth.api.v1.SubscribeRequest;
import dev.berth.api.v1.WaitReply;
import dev.berth.core.ContainerView;
import dev.berth.core.ExitInfo;
import dev.berth.engine.Containers;
import dev.berth.images.ImageRecord;
import dev.berth.images.ImageStore;
import dev.berth.task.LogFollower;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** API requests → the facade's requests, and domain records → API messages. */
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

  static ExecOutput execOutput(dev.berth.engine.ExecOutput o) {
    if (o instanceof dev.berth.engine.ExecOutput.Stdout out) {
      return ExecOutput.newBuilder().setStdout(UnsafeByteOperations.unsafeWrap(out.data())).build();
    }
    if (o instanceof dev.berth.engine.ExecOutput.Stderr err) {
      return ExecOutput.newBuilder().setStderr(UnsafeByteOperations.unsafeWrap(err.data())).build();
    }
    return ExecOutput.newBuilder()
        .setExitCode(((dev.berth.engine.ExecOutput.Exited) o).exitCode())
        .build();
  }

  // ---------------------------------------------------------------- requests

  static Containers.Create create(CreateRequest r) {
    var p = r.getProcess();
    return new Containers.Create(
        r.getImage(),
        r.getName(),
        p.getEntrypointList(),
        p.getCmdList(),
        p.getEnvList(),
        p.getWorkingDir(),
        p.getUser(),
        r.getAutoRemove(),
        r.getHostname(),
        r.getLabelsMap(),
        r.getRestart().getName(),
        r.getRestart().getMaxRetries(),
        r.getFailpointsMap(),
        r.getSecurityOptsList());
  }

  static Containers.Kill kill(KillRequest r) {
    return new Containers.Kill(r.getRef(), r.getSignal());
  }

  /** A negative timeout asks for the default. */
  static Containers.Stop stop(StopRequest r) {
    return new Containers.Stop(
        r.getRef(),
        r.getSignal(),
        r.getTimeoutSeconds() < 0 ? null : Duration.ofSeconds(r.getTimeoutSeconds()));
  }

  static Containers.Exec exec(ExecRequest r) {
    return new Containers.Exec(
        r.getRef(), r.getArgsList(), r.getEnvList(), r.getWorkingDir(), r.getUser());
  }

  static Containers.Logs logs(LogsRequest r) {
    return new Containers.Logs(r.getRef(), r.getFollow());
  }

  static Containers.Subscribe subscribe(SubscribeRequest r) {
    return new Containers.Subscribe(r.getFiltersList(), r.getSince(), r.getHistoryOnly());
  }

  // ---------------------------------------------------------------- replies

  static ContainerReply containerReply(ContainerView v) {
    return ContainerReply.newBuilder().setContainer(container(v)).build();
  }

  static CreateReply createReply(ContainerView v) {
    return CreateReply.newBuilder().setContainer(container(v)).build();
  }

  static DeleteReply deleteReply(ContainerView v) {
    return DeleteReply.newBuilder().setId(v.id()).build();
  }

  static ListReply listReply(List<ContainerView> views) {
    ListReply.Builder b = ListReply.newBuilder();
    views.forEach(v -> b.addContainers(container(v)));
    return b.build();
  }

  static WaitReply waitReply(ExitInfo x) {
    return WaitReply.newBuilder()
        .setId(x.id())
        .setExitCode(x.exitCode())
        .setFinishedAt(time(x.finishedAt()))
        .build();
  }

  static PruneImagesReply pruneReply(ImageStore.Pruned p) {
    return PruneImagesReply.newBuilder()
        .addAllUntagged(p.untagged())
        .addAllDeleted(p.deleted())
        .setReclaimedBytes(p.reclaimedBytes())
        .build();
  }

  static ImportReply importReply(List<ImageRecord> images) {
    ImportReply.Builder b = ImportReply.newBuilder();
    images.forEach(i -> b.addImages(image(i)));
    return b.build();
  }

  static ListImagesReply listImagesReply(List<ImageRecord> images) {
    ListImagesReply.Builder b = ListImagesReply.newBuilder();
    images.forEach(i -> b.addImages(image(i)));
    return b.build();
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
