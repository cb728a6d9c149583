package dev.berth.images;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.berth.runtime.files.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Locale;
import java.util.Optional;

/**
 * Registry credentials kept by berthd in one file, in docker's {@code config.json} format ({@code
 * {"auths":{"HOST":{"auth":"base64(user:password)"}}}}), mode 0600. {@code berth login} writes it
 * (through the daemon, after the registry accepted the credentials); pulls read it.
 */
public final class RegistryCredentials {
  /** A user name and password (or token) for one registry. */
  public record Credentials(String username, String password) {
    @Override
    public String toString() {
      return "Credentials[" + username + ", ***]"; // never log a password
    }
  }

  private final Path file;
  private final Object lock = new Object();

  public RegistryCredentials(Path file) {
    this.file = file;
  }

  public Optional<Credentials> get(String registry) {
    synchronized (lock) {
      try {
        JsonNode auth = read().path("auths").path(key(registry)).path("auth");
        if (!auth.isTextual()) return Optional.empty();
        String decoded =
            new String(Base64.getDecoder().decode(auth.asText()), StandardCharsets.UTF_8);
        int colon = decoded.indexOf(':');
        if (colon < 0) return Optional.empty();
        return Optional.of(
            new Credentials(decoded.substring(0, colon), decoded.substring(colon + 1)));
      } catch (IOException | IllegalArgumentException e) {
        return Optional.empty();
      }
    }
  }

  public void put(String registry, Credentials c) throws ImageException {
    synchronized (lock) {
      try {
        ObjectNode doc = read();
        ObjectNode auths =
            doc.has("auths") && doc.get("auths").isObject()
                ? (ObjectNode) doc.get("auths")
                : doc.putObject("auths");
        String token =
            Base64.getEncoder()
                .encodeToString(
                    (c.username() + ":" + c.password()).getBytes(StandardCharsets.UTF_8));
        auths.putObject(key(registry)).put("auth", token);
        write(doc);
      } catch (IOException e) {
        throw new ImageException("cannot save credentials in " + file + ": " + e.getMessage());
      }
    }
  }

  /**
   * @return whether credentials for {@code registry} were there
   */
  public boolean remove(String registry) throws ImageException {
    synchronized (lock) {
      try {
        ObjectNode doc = read();
        JsonNode auths = doc.path("auths");
        if (!auths.isObject() || !auths.has(key(registry))) return false;
        ((ObjectNode) auths).remove(key(registry));
        write(doc);
        return true;
      } catch (IOException e) {
        throw new ImageException("cannot update credentials in " + file + ": " + e.getMessage());
      }
    }
  }

  private static String key(String registry) {
    return registry.toLowerCase(Locale.ROOT);
  }

  private ObjectNode read() throws IOException {
    if (!Files.exists(file)) return ImageSources.JSON.createObjectNode();
    JsonNode n = ImageSources.JSON.readTree(file.toFile());
    return n instanceof ObjectNode o ? o : ImageSources.JSON.createObjectNode();
  }

  private void write(ObjectNode doc) throws IOException {
    Files.createDirectories(file.getParent());
    // created 0600 from the start: the password never sits in a readable file, not even briefly
    AtomicFiles.write(
        file,
        ImageSources.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(doc),
        "rw-------");
  }
}
