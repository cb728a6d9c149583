package dev.berth.cli;

import dev.berth.api.v1.Image;
import dev.berth.api.v1.LoginRequest;
import dev.berth.api.v1.LoginResponse;
import dev.berth.api.v1.LogoutRequest;
import dev.berth.api.v1.LogoutResponse;
import dev.berth.api.v1.PruneImagesRequest;
import dev.berth.api.v1.PruneImagesResponse;
import dev.berth.api.v1.PullImageRequest;
import dev.berth.api.v1.PullImageResponse;
import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Registry commands: pull, login, logout, and image prune. */
final class RegistryCommands {
  private RegistryCommands() {}

  /**
   * Pulls {@code ref} through the daemon, rendering its progress on {@code out}; returns the image.
   */
  static Image pull(
      BaseCommand cmd,
      String ref,
      String platform,
      PrintStream out,
      PullProgressPrinter.Mode mode) {
    PullImageRequest.Builder req = PullImageRequest.newBuilder().setRef(ref);
    if (platform != null) req.setPlatform(platform);
    PullProgressPrinter printer = new PullProgressPrinter(out, mode);
    Image image = null;
    try {
      Iterator<PullImageResponse> it =
          cmd.daemon().images(Daemon.IMPORT_DEADLINE_SECONDS).pullImage(req.build());
      while (it.hasNext()) {
        PullImageResponse p = it.next();
        if (p.hasImage()) image = p.getImage();
        printer.accept(p);
      }
    } finally {
      printer.finish();
    }
    if (image == null) throw new CliException("the pull of " + ref + " ended without an image");
    return image;
  }

  @Command(name = "pull", description = "Pull an image from a registry.")
  static final class Pull extends BaseCommand {
    @Option(
        names = {"-q", "--quiet"},
        description = "Print only the image reference.")
    boolean quiet;

    @Option(
        names = "--platform",
        paramLabel = "OS/ARCH[/VARIANT]",
        description = "Platform to pull from a multi-platform image (default: the daemon's).")
    String platform;

    @Parameters(index = "0", paramLabel = "NAME[:TAG|@DIGEST]")
    String ref;

    @Override
    public Integer call() {
      pull(this, ref, platform, out(), PullProgressPrinter.modeFor(quiet, root().env()));
      if (quiet) out().println(ref);
      return 0;
    }
  }

  @Command(
      name = "login",
      description =
          "Log in to a registry (the daemon checks the credentials and keeps them, mode 0600).")
  static final class Login extends BaseCommand {
    @Option(
        names = {"-u", "--username"},
        paramLabel = "USER")
    String username;

    @Option(
        names = {"-p", "--password"},
        paramLabel = "PASSWORD",
        description = "Password (prefer --password-stdin).")
    String password;

    @Option(names = "--password-stdin", description = "Read the password from stdin.")
    boolean passwordStdin;

    @Parameters(
        index = "0",
        arity = "0..1",
        paramLabel = "SERVER",
        description = "Registry host[:port] (default: the daemon's default registry).")
    String server = "";

    @Override
    public Integer call() throws IOException {
      if (password != null && passwordStdin)
        throw new CliException("--password and --password-stdin are mutually exclusive");
      Console console = System.console();
      if (passwordStdin) {
        if (username == null)
          throw new CliException("must provide --username with --password-stdin");
        BufferedReader r =
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line = r.readLine();
        password = line == null ? "" : line.replaceAll("[\\r\\n]+$", "");
      }
      if (username == null || password == null) {
        if (console == null)
          throw new CliException("cannot perform an interactive login from a non TTY device");
        if (username == null) username = console.readLine("Username: ");
        if (password == null) {
          char[] pw = console.readPassword("Password: ");
          password = pw == null ? "" : new String(pw);
        }
      }
      if (username == null || username.isBlank()) throw new CliException("a username is required");
      if (password.isEmpty()) throw new CliException("a password is required");
      LoginResponse reply =
          daemon()
              .images()
              .login(
                  LoginRequest.newBuilder()
                      .setServer(server)
                      .setUsername(username.strip())
                      .setPassword(password)
                      .build());
      out().println("Login Succeeded (" + reply.getRegistry() + ")");
      return 0;
    }
  }

  @Command(
      name = "logout",
      description = "Log out from a registry (the daemon forgets the credentials).")
  static final class Logout extends BaseCommand {
    @Parameters(index = "0", arity = "0..1", paramLabel = "SERVER")
    String server = "";

    @Override
    public Integer call() {
      LogoutResponse reply =
          daemon().images().logout(LogoutRequest.newBuilder().setServer(server).build());
      String shown = server.isBlank() ? "the default registry" : server.strip();
      out()
          .println(
              reply.getRemoved()
                  ? "Removing login credentials for " + shown
                  : "Not logged in to " + shown);
      return 0;
    }
  }

  @Command(
      name = "prune",
      description =
          "Remove unused images: dangling ones, or with -a every image no container uses.")
  static final class Prune extends BaseCommand {
    @Option(
        names = {"-a", "--all"},
        description = "Remove all images no container uses, not just dangling ones.")
    boolean all;

    @Option(
        names = {"-f", "--force"},
        description = "Do not prompt for confirmation.")
    boolean force;

    @Override
    public Integer call() throws IOException {
      if (!force) {
        out()
            .print(
                all
                    ? "WARNING! This will remove all images without at least one container associated to them.\n"
                    : "WARNING! This will remove all dangling images.\n");
        out().print("Are you sure you want to continue? [y/N] ");
        out().flush();
        String answer =
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        if (answer == null || !answer.strip().equalsIgnoreCase("y")) {
          out().println();
          return 0;
        }
      }
      PruneImagesResponse r =
          daemon().images().pruneImages(PruneImagesRequest.newBuilder().setAll(all).build());
      if (r.getUntaggedCount() + r.getDeletedCount() > 0) {
        out().println("Deleted Images:");
        r.getUntaggedList().forEach(u -> out().println("untagged: " + u));
        r.getDeletedList().forEach(d -> out().println("deleted: " + d));
        out().println();
      }
      out().println("Total reclaimed space: " + Format.humanSize(r.getReclaimedBytes()));
      return 0;
    }
  }
}
