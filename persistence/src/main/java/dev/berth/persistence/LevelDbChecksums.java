package dev.berth.persistence;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * Verifies every checksum LevelDB wrote in a database directory: each record of the write-ahead
 * logs and the MANIFEST, and each block of every table (data, index and meta blocks). The Java
 * LevelDB the journal runs on never checks table block checksums when it reads, so a flipped byte
 * in a table would otherwise come back as a silently different event.
 *
 * <p>Formats (LevelDB's doc/log_format.md and doc/table_format.md): log files are 32 KiB blocks of
 * records with a 7-byte header (masked CRC-32C of type and data, 16-bit length, type); a table ends
 * in a 48-byte footer naming its metaindex and index blocks, and every block is followed by a type
 * byte and the masked CRC-32C of block and type.
 */
final class LevelDbChecksums {
  private static final int LOG_BLOCK = 32 * 1024;
  private static final int LOG_HEADER = 7;
  private static final int FOOTER = 48;
  private static final long TABLE_MAGIC = 0xdb4775248b80fb57L;
  private static final int MASK_DELTA = 0xa282ead8;

  private LevelDbChecksums() {}

  /** Null when every checksum matches, else a one-line description of the first mismatch. */
  static String verify(Path dir) throws IOException {
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        String problem = null;
        if (name.endsWith(".log") || name.startsWith("MANIFEST-"))
          problem = verifyLog(Files.readAllBytes(f));
        else if (name.endsWith(".sst") || name.endsWith(".ldb"))
          problem = verifyTable(Files.readAllBytes(f));
        if (problem != null) return name + ": " + problem;
      }
    }
    return null;
  }

  /** A record cut off at the end of the file is what a crash mid-write leaves, not damage. */
  static String verifyLog(byte[] data) {
    ByteBuffer buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    int pos = 0;
    while (pos < data.length) {
      int leftInBlock = LOG_BLOCK - pos % LOG_BLOCK;
      if (leftInBlock < LOG_HEADER) { // a block's zero-filled trailer
        pos += leftInBlock;
        continue;
      }
      if (pos + LOG_HEADER > data.length) return null; // a torn header at the end
      int crc = buf.getInt(pos);
      int length = Short.toUnsignedInt(buf.getShort(pos + 4));
      int type = data[pos + 6] & 0xff;
      if (type == 0 && length == 0 && crc == 0) { // preallocated zeros
        pos += leftInBlock;
        continue;
      }
      if (pos + LOG_HEADER + length > data.length) return null; // a torn record at the end
      if (length + LOG_HEADER > leftInBlock)
        return "a log record at offset " + pos + " crosses its block";
      CRC32C c = new CRC32C();
      c.update(data, pos + 6, 1 + length);
      if (unmask(crc) != (int) c.getValue())
        return "checksum mismatch in the log record at offset " + pos;
      pos += LOG_HEADER + length;
    }
    return null;
  }

  static String verifyTable(byte[] data) {
    if (data.length < FOOTER) return "shorter than a table footer";
    ByteBuffer buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    if (buf.getLong(data.length - 8) != TABLE_MAGIC) return "no table magic number";
    int[] at = {data.length - FOOTER};
    long metaOffset = varint(data, at);
    long metaSize = varint(data, at);
    long indexOffset = varint(data, at);
    long indexSize = varint(data, at);
    String problem = checkBlock(data, metaOffset, metaSize, "metaindex block");
    if (problem != null) return problem;
    problem = checkBlock(data, indexOffset, indexSize, "index block");
    if (problem != null) return problem;
    // The index block's values are the handles of the data blocks.
    int start = (int) indexOffset;
    int end = start + (int) indexSize;
    if (indexSize < 4) return "index block too small";
    int restarts = buf.getInt(end - 4);
    int entriesEnd = end - 4 - 4 * restarts;
    if (restarts < 0 || entriesEnd < start) return "index block restart array out of range";
    int[] p = {start};
    while (p[0] < entriesEnd) {
      varint(data, p); // shared key bytes
      long unshared = varint(data, p);
      long valueLength = varint(data, p);
      p[0] += (int) unshared;
      int valueEnd = p[0] + (int) valueLength;
      if (valueEnd > entriesEnd) return "index entry out of range";
      long offset = varint(data, p);
      long size = varint(data, p);
      p[0] = valueEnd;
      problem = checkBlock(data, offset, size, "data block at offset " + offset);
      if (problem != null) return problem;
    }
    return null;
  }

  private static String checkBlock(byte[] data, long offset, long size, String what) {
    if (offset < 0 || size < 0 || offset + size + 5 > data.length) return what + " out of range";
    int o = (int) offset;
    int s = (int) size;
    CRC32C c = new CRC32C();
    c.update(data, o, s + 1); // the block and its type byte
    int stored = ByteBuffer.wrap(data, o + s + 1, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    return unmask(stored) == (int) c.getValue() ? null : "checksum mismatch in the " + what;
  }

  private static long varint(byte[] data, int[] at) {
    long v = 0;
    for (int shift = 0; shift < 64 && at[0] < data.length; shift += 7) {
      int b = data[at[0]++] & 0xff;
      v |= (long) (b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return -1;
  }

  private static int unmask(int masked) {
    int rot = masked - MASK_DELTA;
    return (rot >>> 17) | (rot << 15);
  }
}
