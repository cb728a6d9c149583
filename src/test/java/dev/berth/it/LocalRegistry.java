package dev.berth.it;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's docker-registry (distribution 2.8) on a free 127.0.0.1 port, with its own storage and,
 * optionally, htpasswd (bcrypt) basic auth; images are pushed into it with skopeo.
 */
public final class LocalRegistry implements AutoCloseable {
  public static final String BINARY = "/usr/bin/docker-registry";

  private final Path dir;
  private final int port;
  private final Path log;
  private final Process process;
  private final String creds;

  private LocalRegistry(Path dir, int port, Path log, Process process, String creds) {
    this.dir = dir;
    this.port = port;
    this.log = log;
    this.process = process;
    this.creds = creds;
  }

  public static boolean available() {
    return Files.isExecutable(Path.of(BINARY)) && Files.isExecutable(Path.of("/usr/bin/skopeo"));
  }

  /**
   * Starts a registry; with a user, it wants basic auth (htpasswd, bcrypt like docker's docs say).
   */
  public static LocalRegistry start(Path dir, String user, String password)
      throws IOException, InterruptedException {
    Files.createDirectories(dir);
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    StringBuilder yaml = new StringBuilder();
    yaml.append("version: 0.1\n")
        .append("log:\n  level: info\n  accesslog:\n    disabled: false\n")
        .append("storage:\n  filesystem:\n    rootdirectory: ")
        .append(dir.resolve("data"))
        .append('\n')
        .append("  delete:\n    enabled: true\n")
        .append("http:\n  addr: 127.0.0.1:")
        .append(port)
        .append('\n');
    if (user != null) {
      BerthHarness.Result h =
          BerthHarness.exec(Duration.ofSeconds(30), List.of("htpasswd", "-Bbn", user, password));
      if (h.exitCode() != 0) fail("htpasswd failed:\n" + h);
      Files.writeString(dir.resolve("htpasswd"), h.stdout());
      yaml.append("auth:\n  htpasswd:\n    realm: berth-test\n    path: ")
          .append(dir.resolve("htpasswd"))
          .append('\n');
    }
    Path config = dir.resolve("config.yml");
    Files.writeString(config, yaml);
    Path log = dir.resolve("registry.log");
    Process p =
        new ProcessBuilder(BINARY, "serve", config.toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    LocalRegistry r =
        new LocalRegistry(dir, port, log, p, user == null ? null : user + ":" + password);
    HttpClient http = HttpClient.newHttpClient();
    Instant deadline = Instant.now().plusSeconds(30);
    while (true) {
      if (!p.isAlive()) fail("docker-registry exited:\n" + Files.readString(log));
      try {
        int status =
            http.send(
                    HttpRequest.newBuilder(URI.create("http://" + r.host() + "/v2/")).build(),
                    HttpResponse.BodyHandlers.discarding())
                .statusCode();
        if (status == 200 || status == 401) return r;
      } catch (IOException notYet) {
        // still starting
      }
      if (Instant.now().isAfter(deadline)) {
        r.close();
        fail("docker-registry does not answer on " + r.host() + ":\n" + Files.readString(log));
      }
      Thread.sleep(100);
    }
  }

  public String host() {
    return "127.0.0.1:" + port;
  }

  /**
   * skopeo copy of an OCI layout (its image named {@code layoutRef}, or its only one) to REPO:TAG
   * here.
   *
   * @param format "oci" or "v2s2" (docker schema 2)
   * @param all copy every platform of an index (otherwise skopeo picks the host's)
   */
  public void push(Path layout, String layoutRef, String repoTag, String format, boolean all) {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "skopeo",
                "--insecure-policy",
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
                "--format",
                format));
    if (creds != null) cmd.addAll(List.of("--dest-creds", creds));
    if (all) cmd.add("--all");
    cmd.add("oci:" + layout + (layoutRef == null ? "" : ":" + layoutRef));
    cmd.add("docker://" + host() + "/" + repoTag);
    BerthHarness.Result r = BerthHarness.exec(Duration.ofSeconds(120), cmd);
    if (r.exitCode() != 0) fail("skopeo push failed:\n" + r);
  }

  /** How many GETs of blob {@code digest} the registry served (its access log). */
  public long blobGets(String digest) throws IOException {
    return Files.readAllLines(log).stream()
        .filter(l -> l.contains("\"GET ") && l.contains("/blobs/" + digest + " "))
        .count();
  }

  /** Blob GETs the registry served, by digest (its access log). */
  public java.util.Map<String, Long> blobGetCounts() throws IOException {
    java.util.regex.Pattern p =
        java.util.regex.Pattern.compile("\"GET /v2/[^ ]*/blobs/(sha256:[0-9a-f]{64}) ");
    java.util.Map<String, Long> out = new java.util.TreeMap<>();
    for (String l : Files.readAllLines(log)) {
      java.util.regex.Matcher m = p.matcher(l);
      if (m.find()) out.merge(m.group(1), 1L, Long::sum);
    }
    return out;
  }

  public String logText() throws IOException {
    return Files.readString(log);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
    BerthHarness.deleteTreeQuietly(dir);
  }
}
