package dev.berth.cli;

import dev.berth.api.v1.Image;
import dev.berth.api.v1.ImportImageRequest;
import dev.berth.api.v1.ImportImageResponse;
import dev.berth.api.v1.ListImagesRequest;
import dev.berth.api.v1.ListImagesResponse;
import dev.berth.api.v1.RemoveImageRequest;
import dev.berth.api.v1.RemoveImageResponse;
import dev.berth.api.v1.SaveImageRequest;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Image commands: `image import|ls|rm`, and the docker shorthands `images` and `rmi`. */
final class ImageCommands {
  private ImageCommands() {}

  @Command(
      name = "image",
      description = "Manage images.",
      synopsisSubcommandLabel = "COMMAND",
      subcommands = {
        Import.class,
        Save.class,
        ImageLs.class,
        ImageRm.class,
        RegistryCommands.Pull.class,
        RegistryCommands.Prune.class
      })
  static final class ImageGroup extends BaseCommand {
    /** `berth image` alone lists its subcommands, like docker. */
    @Override
    public Integer call() {
      spec.commandLine().usage(out());
      return 0;
    }
  }

  @Command(
      name = "import",
      description = "Import an OCI image layout directory or a docker-archive tar (docker save).")
  static final class Import extends BaseCommand {
    @Option(
        names = "--name",
        paramLabel = "NAME:TAG",
        description = "Name to record (default: the archive's own name, else the file name).")
    String name;

    @Parameters(
        index = "0",
        paramLabel = "PATH",
        description = "Archive or directory; read by berthd.")
    String path;

    @Override
    public Integer call() {
      // berthd reads the path itself, does not share our working directory and refuses a
      // relative path.
      ImportImageRequest.Builder req = ImportImageRequest.newBuilder().setPath(absolute(path));
      if (name != null) req.setName(name);
      ImportImageResponse reply =
          daemon().images(Daemon.IMPORT_DEADLINE_SECONDS).importImage(req.build());
      for (Image image : reply.getImagesList()) {
        if (image.getNamesCount() == 0) out().println("<none> (" + image.getId() + ")");
        for (String n : image.getNamesList()) out().println(n + " (" + image.getId() + ")");
      }
      return 0;
    }
  }

  @Command(
      name = "save",
      description = "Write an image to a tar: an OCI image layout that is also a docker-archive.")
  static final class Save extends BaseCommand {
    @Option(
        names = {"-o", "--output"},
        required = true,
        paramLabel = "FILE",
        description = "Tar file to write (by berthd).")
    String output;

    @Parameters(index = "0", paramLabel = "IMAGE")
    String ref;

    @Override
    public Integer call() {
      daemon()
          .images(Daemon.IMPORT_DEADLINE_SECONDS)
          .saveImage(SaveImageRequest.newBuilder().setRef(ref).setPath(absolute(output)).build());
      return 0;
    }
  }

  @Command(name = "images", description = "List images.")
  static class Images extends BaseCommand {
    @Option(
        names = {"-q", "--quiet"},
        description = "Only print image ids.")
    boolean quiet;

    @Option(
        names = "--format",
        paramLabel = "table|json",
        description = "Output format: table (default) or json (one object per line).")
    String format = "table";

    @Override
    public Integer call() {
      ContainerCommands.OutputFormat fmt = ContainerCommands.OutputFormat.parse(format);
      List<Image> images = list(this);
      images.sort(
          Comparator.comparing((Image i) -> ContainerCommands.createdKey(i.getCreatedAt()))
              .reversed());
      PrintStream out = out();
      if (fmt == ContainerCommands.OutputFormat.JSON) {
        for (Image i : images) out.println(Json.imageLine(i));
      } else if (quiet) {
        Set<String> ids = new LinkedHashSet<>();
        for (Image i : images) ids.add(Format.shortId(i.getId()));
        ids.forEach(out::println);
      } else {
        Instant now = Instant.now();
        Format.Table table = new Format.Table("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
        for (Image i : images) {
          String id = Format.shortId(i.getId());
          String created = Format.ago(i.getCreatedAt(), now);
          String size = Format.humanSize(i.getSize());
          // One row per name, like docker; an unnamed image still shows up once.
          if (i.getNamesCount() == 0) table.add("<none>", "<none>", id, created, size);
          for (String n : i.getNamesList()) {
            String[] rt = Format.repoTag(n);
            table.add(rt[0], rt[1], id, created, size);
          }
        }
        out.print(table.render());
      }
      return 0;
    }
  }

  /** A path the user typed, made absolute here: the daemon resolves nothing against its own cwd. */
  static String absolute(String path) {
    try {
      return Path.of(path).toAbsolutePath().normalize().toString();
    } catch (java.nio.file.InvalidPathException e) {
      throw new CliException("invalid path \"" + path + "\": " + e.getReason());
    }
  }

  /** Every image, paging until the last page. */
  static List<Image> list(BaseCommand cmd) {
    List<Image> out = new ArrayList<>();
    String token = "";
    do {
      ListImagesResponse page =
          cmd.daemon()
              .images()
              .listImages(
                  ListImagesRequest.newBuilder()
                      .setPageSize(ContainerCommands.LIST_PAGE_SIZE)
                      .setPageToken(token)
                      .build());
      out.addAll(page.getImagesList());
      if (!token.isEmpty() && page.getNextPageToken().equals(token)) {
        throw new CliException("the daemon repeated a page token: " + token);
      }
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return out;
  }

  @Command(name = "ls", aliases = "list", description = "List images.")
  static final class ImageLs extends Images {}

  @Command(name = "rmi", description = "Remove image names, and images no name refers to any more.")
  static class Rmi extends BaseCommand {
    @Option(
        names = {"-f", "--force"},
        description = "Remove even if containers use the image.")
    boolean force;

    @Parameters(arity = "1..*", paramLabel = "IMAGE")
    List<String> refs;

    @Override
    public Integer call() {
      return eachRef(
          refs,
          ref -> {
            RemoveImageResponse reply =
                daemon()
                    .images()
                    .removeImage(
                        RemoveImageRequest.newBuilder().setRef(ref).setForce(force).build());
            // The daemon lists names it untagged and ids of images it deleted, docker-style.
            for (String removed : reply.getRemovedList()) {
              out().println((removed.startsWith("sha256:") ? "Deleted: " : "Untagged: ") + removed);
            }
          });
    }
  }

  @Command(name = "rm", description = "Remove image names, and images no name refers to any more.")
  static final class ImageRm extends Rmi {}
}
