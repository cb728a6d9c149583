package dev.berth.images;

/**
 * A failed image operation. The message is always exactly one human-readable line (callers put it
 * straight into gRPC statuses and CLI output), e.g. {@code not an OCI layout or docker archive: /x/y}.
 */
public final class ImageException extends Exception {
  private static final long serialVersionUID = 1L;

  public ImageException(String message) {
    super(oneLine(message));
  }

  public ImageException(String message, Throwable cause) {
    super(oneLine(message), cause);
  }

  static String oneLine(String s) {
    if (s == null || s.isBlank()) return "image operation failed";
    return s.strip().replaceAll("\\s*[\\r\\n]+\\s*", "; ");
  }
}
