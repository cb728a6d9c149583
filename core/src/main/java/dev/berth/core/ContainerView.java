package dev.berth.core;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A read-only snapshot of one container, as list/inspect show it. Built with {@link #builder}:
 * {@link Builder#spec} fills what the container was created with, the rest describes its current or
 * last run.
 */
public final class ContainerView {
  private final String id;
  private final String name;
  private final String image;
  private final String imageId;
  private final ContainerState state;
  private final int pid;
  private final int exitCode;
  private final Instant createdAt;
  private final Instant startedAt;
  private final Instant finishedAt;
  private final List<String> command;
  private final boolean autoRemove;
  private final String shimAddress;
  private final int shimPid;
  private final String shimGroup;
  private final String bundle;
  private final Map<String, String> labels;
  private final String error;
  private final int restartCount;
  private final String restartPolicy;
  private final String seccomp;
  private final String hostname;
  private final String requestId;
  private final NetworkSpec network;

  private ContainerView(Builder b) {
    this.id = b.id;
    this.name = b.name;
    this.image = b.image;
    this.imageId = b.imageId;
    this.state = b.state;
    this.pid = b.pid;
    this.exitCode = b.exitCode;
    this.createdAt = b.createdAt;
    this.startedAt = b.startedAt;
    this.finishedAt = b.finishedAt;
    this.command = b.command == null ? List.of() : b.command;
    this.autoRemove = b.autoRemove;
    this.shimAddress = b.shimAddress;
    this.shimPid = b.shimPid;
    this.shimGroup = b.shimGroup;
    this.bundle = b.bundle;
    this.labels = b.labels == null ? Map.of() : b.labels;
    this.error = b.error;
    this.restartCount = b.restartCount;
    this.restartPolicy = b.restartPolicy;
    this.seccomp = b.seccomp;
    this.hostname = b.hostname;
    this.requestId = b.requestId;
    this.network = b.network;
  }

  /** The network the container was created with ({@link NetworkSpec#none()} when unknown). */
  public NetworkSpec network() {
    return network;
  }

  /** A view of container {@code id} in state {@link ContainerState#UNKNOWN}, nothing else known. */
  public static Builder builder(String id) {
    return new Builder(id);
  }

  public String id() {
    return id;
  }

  public String name() {
    return name;
  }

  public String image() {
    return image;
  }

  public String imageId() {
    return imageId;
  }

  public ContainerState state() {
    return state;
  }

  /** The container process's pid while it runs, else 0. */
  public int pid() {
    return pid;
  }

  public int exitCode() {
    return exitCode;
  }

  public Instant createdAt() {
    return createdAt;
  }

  public Instant startedAt() {
    return startedAt;
  }

  public Instant finishedAt() {
    return finishedAt;
  }

  public List<String> command() {
    return command;
  }

  public boolean autoRemove() {
    return autoRemove;
  }

  public String shimAddress() {
    return shimAddress;
  }

  public int shimPid() {
    return shimPid;
  }

  /** The group shim it runs in; null when its shim is its own (or it never ran). */
  public String shimGroup() {
    return shimGroup;
  }

  public String bundle() {
    return bundle;
  }

  public Map<String, String> labels() {
    return labels;
  }

  /** "" when there is none. */
  public String error() {
    return error;
  }

  public int restartCount() {
    return restartCount;
  }

  public String restartPolicy() {
    return restartPolicy;
  }

  /** "default", "unconfined" or "custom" (ContainerSpec#seccompMode); "" when unknown. */
  public String seccomp() {
    return seccomp;
  }

  /** The container's hostname as created ("" when unknown). */
  public String hostname() {
    return hostname;
  }

  /** The idempotency key of the create that made it, "" for none. */
  public String requestId() {
    return requestId;
  }

  public boolean running() {
    return state == ContainerState.RUNNING;
  }

  @Override
  public String toString() {
    return "ContainerView["
        + id
        + " "
        + name
        + " "
        + state.label()
        + " pid "
        + pid
        + " exit "
        + exitCode
        + (error.isEmpty() ? "" : " error " + error)
        + "]";
  }

  public static final class Builder {
    private final String id;
    private String name = "";
    private String image = "";
    private String imageId = "";
    private ContainerState state = ContainerState.UNKNOWN;
    private int pid;
    private int exitCode;
    private Instant createdAt;
    private Instant startedAt;
    private Instant finishedAt;
    private List<String> command = List.of();
    private boolean autoRemove;
    private String shimAddress = "";
    private int shimPid;
    private String shimGroup;
    private String bundle = "";
    private Map<String, String> labels = Map.of();
    private String error = "";
    private int restartCount;
    private String restartPolicy = "";
    private String seccomp = "";
    private String hostname = "";
    private String requestId = "";
    private NetworkSpec network = NetworkSpec.none();

    private Builder(String id) {
      this.id = id;
    }

    /**
     * What the container was created with: name, image, command, labels, policy, seccomp, hostname,
     * request id.
     */
    public Builder spec(ContainerSpec spec) {
      this.name = spec.name();
      this.image = spec.image();
      this.imageId = spec.imageId();
      this.createdAt = spec.createdAt();
      this.command = spec.args();
      this.autoRemove = spec.autoRemove();
      this.labels = spec.labels();
      this.restartPolicy = spec.restartPolicy().toString();
      this.seccomp = spec.seccompMode();
      this.hostname = orEmpty(spec.hostname());
      this.requestId = spec.requestIdOrEmpty();
      this.network = spec.networkOrNone();
      return this;
    }

    public Builder name(String name) {
      this.name = orEmpty(name);
      return this;
    }

    public Builder state(ContainerState state) {
      this.state = state;
      return this;
    }

    public Builder pid(int pid) {
      this.pid = pid;
      return this;
    }

    /** The shim a run had (its socket and pid), and when the run started. */
    public Builder shimGroup(String group) {
      this.shimGroup = group;
      return this;
    }

    public Builder shim(String address, int pid, Instant startedAt) {
      this.shimAddress = orEmpty(address);
      this.shimPid = pid;
      this.startedAt = startedAt;
      return this;
    }

    /** How the last run ended; a null time for none yet. */
    public Builder exit(int exitCode, Instant finishedAt) {
      this.exitCode = exitCode;
      this.finishedAt = finishedAt;
      return this;
    }

    public Builder bundle(String bundle) {
      this.bundle = orEmpty(bundle);
      return this;
    }

    public Builder error(String error) {
      this.error = orEmpty(error);
      return this;
    }

    public Builder restartCount(int restartCount) {
      this.restartCount = restartCount;
      return this;
    }

    public Builder restartPolicy(String restartPolicy) {
      this.restartPolicy = orEmpty(restartPolicy);
      return this;
    }

    public ContainerView build() {
      return new ContainerView(this);
    }

    private static String orEmpty(String s) {
      return s == null ? "" : s;
    }
  }
}
