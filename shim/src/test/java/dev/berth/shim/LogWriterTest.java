package dev.berth.shim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The log file's lines: docker json-file for UTF-8 output, lossless for any other bytes. */
class LogWriterTest {
  @TempDir Path dir;

  private List<JsonObject> lines(Path log) throws Exception {
    return Files.readAllLines(log, StandardCharsets.UTF_8).stream()
        .map(l -> JsonParser.parseString(l).getAsJsonObject())
        .toList();
  }

  /** What a lossless reader gets back from one line: log_base64 if present, else log as UTF-8. */
  private static byte[] data(JsonObject line) {
    return line.has(LogWriter.RAW_FIELD)
        ? Base64.getDecoder().decode(line.get(LogWriter.RAW_FIELD).getAsString())
        : line.get("log").getAsString().getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void bytes_that_are_not_utf8_are_kept_exactly_beside_dockers_lossy_text() throws Exception {
    Path log = dir.resolve("container.log");
    byte[] binary = {(byte) 0xff, (byte) 0xfe, 0, 1, 'A', 'B'}; // printf '\377\376\0\1AB'
    try (LogWriter w = new LogWriter(log)) {
      LogWriter.StreamSink out = w.stream("stdout");
      assertEquals(6, out.chunk(binary, binary.length, 6));
    }
    JsonObject line = lines(log).get(0);
    assertEquals("\ufffd\ufffd\u0000\u0001AB", line.get("log").getAsString());
    assertEquals("stdout", line.get("stream").getAsString());
    assertTrue(line.get("time").getAsString().endsWith("Z"));
    assertEquals("//4AAUFC", line.get(LogWriter.RAW_FIELD).getAsString());
    assertArrayEquals(binary, data(line));
  }

  @Test
  void utf8_output_is_plain_docker_json_file_even_when_a_read_splits_a_character()
      throws Exception {
    Path log = dir.resolve("container.log");
    byte[] text = "héllo €\u0000\n".getBytes(StandardCharsets.UTF_8);
    try (LogWriter w = new LogWriter(log)) {
      LogWriter.StreamSink err = w.stream("stderr");
      // "h" and the first byte of "é": the line carries 1 byte, "o" is 1
      assertEquals(1, err.chunk(text, 2, 2));
      // the rest of "é" .. part of "€"
      assertEquals(7, err.chunk(java.util.Arrays.copyOfRange(text, 2, 8), 6, 8));
      assertEquals(
          text.length,
          err.chunk(java.util.Arrays.copyOfRange(text, 8, text.length), text.length - 8, 12));
      assertEquals(-1, err.endOfStream(12), "nothing carried: no line");
    }
    List<JsonObject> lines = lines(log);
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (JsonObject l : lines) {
      assertFalse(l.has(LogWriter.RAW_FIELD), l.toString());
      assertEquals(List.of("log", "stream", "time", "o"), List.copyOf(l.keySet()));
      all.write(data(l));
    }
    assertArrayEquals(text, all.toByteArray());
  }

  @Test
  void any_byte_sequence_in_any_chunking_reads_back_exactly() throws Exception {
    java.util.Random random = new java.util.Random(11);
    for (int round = 0; round < 20; round++) {
      Path log = dir.resolve("c" + round + ".log");
      ByteArrayOutputStream written = new ByteArrayOutputStream();
      try (LogWriter w = new LogWriter(log)) {
        LogWriter.StreamSink out = w.stream("stdout");
        for (int i = 0; i < 30; i++) {
          byte[] chunk = new byte[1 + random.nextInt(8)];
          if (random.nextBoolean()) random.nextBytes(chunk);
          else {
            byte[] utf8 = "aé€😀".getBytes(StandardCharsets.UTF_8);
            for (int j = 0; j < chunk.length; j++) chunk[j] = utf8[(i + j) % utf8.length];
          }
          written.write(chunk);
          out.chunk(chunk, chunk.length, written.size());
        }
        // may end inside a character: those bytes are kept too
        out.endOfStream(written.size());
      }
      ByteArrayOutputStream read = new ByteArrayOutputStream();
      for (JsonObject l : lines(log)) read.write(data(l));
      assertArrayEquals(written.toByteArray(), read.toByteArray(), "round " + round);
    }
  }

  @Test
  void an_incomplete_tail_is_carried_only_while_it_can_still_become_a_character() {
    assertEquals(0, LogWriter.incompleteTail("ab".getBytes(StandardCharsets.UTF_8)));
    assertEquals(1, LogWriter.incompleteTail(new byte[] {'a', (byte) 0xc3}));
    assertEquals(0, LogWriter.incompleteTail(new byte[] {'a', (byte) 0xc3, (byte) 0xa9}));
    assertEquals(2, LogWriter.incompleteTail(new byte[] {(byte) 0xe2, (byte) 0x82}));
    assertEquals(3, LogWriter.incompleteTail(new byte[] {(byte) 0xf0, (byte) 0x9f, (byte) 0x98}));
    assertEquals(0, LogWriter.incompleteTail(new byte[] {(byte) 0xff}));
    assertEquals(0, LogWriter.incompleteTail(new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80}));
  }
}
