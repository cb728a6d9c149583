package dev.berth.images;

/**
 * A failed image operation. The message is always exactly one human-readable line (callers put it
 * straight into gRPC statuses and CLI output), e.g. {@code not an OCI layout or docker archive:
 * /x/y}.
 */
public final class ImageException extends Exception {
  private static final long serialVersionUID = 1L;

  /** What kind of failure, for callers that map it onto a status (gRPC). */
  public enum Reason {
    /** Refused content or a failed operation (the default). */
    REFUSED,
    /** A malformed reference or argument. */
    INVALID,
    /** The registry has no such repository, tag or digest. */
    NOT_FOUND,
    /** The registry wants (other) credentials. */
    UNAUTHORIZED,
    /** The registry could not be reached or stopped answering. */
    UNAVAILABLE
  }

  private final Reason reason;

  public ImageException(String message) {
    this(Reason.REFUSED, message);
  }

  public ImageException(Reason reason, String message) {
    super(oneLine(message));
    this.reason = reason;
  }

  public ImageException(String message, Throwable cause) {
    super(oneLine(message), cause);
    this.reason = cause instanceof ImageException ie ? ie.reason : Reason.REFUSED;
  }

  public Reason reason() {
    return reason;
  }

  /** One line for a failed file operation: the kind of failure, the file and the reason. */
  static String describe(java.io.IOException e) {
    String m = e.getMessage();
    if (e instanceof java.nio.file.FileSystemException fse && fse.getReason() != null) {
      return e.getClass().getSimpleName().replace("Exception", "")
          + ": "
          + fse.getFile()
          + ": "
          + fse.getReason();
    }
    if (e instanceof java.nio.file.FileSystemException) {
      return e.getClass().getSimpleName().replace("Exception", "") + ": " + m;
    }
    return m == null ? e.getClass().getSimpleName() : m;
  }

  static String oneLine(String s) {
    if (s == null || s.isBlank()) return "image operation failed";
    return s.strip().replaceAll("\\s*[\\r\\n]+\\s*", "; ");
  }
}
