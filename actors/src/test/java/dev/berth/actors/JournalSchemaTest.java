package dev.berth.actors;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The journal's evolution rule (see dev.berth.persistence and DEVELOPERS.md, "Journal schema"),
 * enforced: {@code journal-schema.txt} lists every class that a journal entry or snapshot holds,
 * with its JSON type name and its fields. A class or field in that file must stay, with the same
 * type (old journals hold it); anything new must be added to the file, which makes every schema
 * change a reviewed one.
 */
class JournalSchemaTest {
  /** What the event-sourced actors persist: their events and their snapshot states. */
  static final List<Class<?>> ROOTS =
      List.of(
          ContainerActor.Event.class,
          ContainerActor.State.class,
          ContainerSupervisor.Event.class,
          ContainerSupervisor.Registry.class);

  @Test
  void journaled_classes_only_grow() throws IOException {
    Map<String, List<String>> current = describe();
    Map<String, List<String>> recorded = read();
    List<String> problems = new ArrayList<>();
    recorded.forEach(
        (cls, fields) -> {
          List<String> now = current.get(cls);
          if (now == null) {
            problems.add(cls + " is gone, but old journals hold it (keep it, or migrate it)");
            return;
          }
          for (String f : fields) {
            if (!now.contains(f)) problems.add(cls + ": field '" + f + "' changed or is gone");
          }
        });
    List<String> additions = new ArrayList<>();
    current.forEach(
        (cls, fields) -> {
          List<String> old = recorded.get(cls);
          if (old == null) {
            additions.add(cls + " " + String.join(" | ", fields));
          } else {
            for (String f : fields) if (!old.contains(f)) additions.add(cls + " + " + f);
          }
        });
    if (!problems.isEmpty() || !additions.isEmpty()) {
      fail(
          "the journal schema changed.\n"
              + (problems.isEmpty()
                  ? ""
                  : "Incompatible with existing journals:\n  " + String.join("\n  ", problems))
              + (additions.isEmpty()
                  ? ""
                  : "\nNew (add to actors/src/test/resources/journal-schema.txt once older entries,"
                      + " which lack them, read back with a defined meaning):\n  "
                      + String.join("\n  ", additions)));
    }
  }

  /** class name (with its JSON type name) -> "field: type" in declaration order. */
  static Map<String, List<String>> describe() {
    Map<String, List<String>> out = new LinkedHashMap<>();
    Deque<Class<?>> todo = new ArrayDeque<>(ROOTS);
    Set<Class<?>> seen = new LinkedHashSet<>();
    Map<Class<?>, String> typeNames = new LinkedHashMap<>();
    while (!todo.isEmpty()) {
      Class<?> c = todo.poll();
      if (!seen.add(c)) continue;
      JsonSubTypes subTypes = c.getAnnotation(JsonSubTypes.class);
      if (subTypes != null) {
        for (JsonSubTypes.Type t : subTypes.value()) typeNames.put(t.value(), t.name());
      }
      if (c.isSealed()) {
        for (Class<?> sub : c.getPermittedSubclasses()) todo.add(sub);
        continue;
      }
      List<String> fields = new ArrayList<>();
      if (c.isRecord()) {
        for (RecordComponent rc : c.getRecordComponents()) {
          fields.add(rc.getName() + ": " + typeName(rc.getGenericType()));
          enqueue(rc.getGenericType(), todo);
        }
      } else if (c.isEnum()) {
        for (Object constant : c.getEnumConstants()) fields.add(((Enum<?>) constant).name());
      }
      String name = c.getName() + (typeNames.containsKey(c) ? " as " + typeNames.get(c) : "");
      out.put(name, fields);
    }
    return out;
  }

  private static void enqueue(Type t, Deque<Class<?>> todo) {
    if (t instanceof ParameterizedType p) {
      for (Type a : p.getActualTypeArguments()) enqueue(a, todo);
    } else if (t instanceof Class<?> c && c.getName().startsWith("dev.berth.")) {
      todo.add(c);
    }
  }

  private static String typeName(Type t) {
    return t.getTypeName().replace("java.lang.", "").replace("java.util.", "");
  }

  static Map<String, List<String>> read() throws IOException {
    Map<String, List<String>> out = new LinkedHashMap<>();
    try (InputStream in = JournalSchemaTest.class.getResourceAsStream("/journal-schema.txt")) {
      if (in == null) fail("journal-schema.txt is missing from the test resources");
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (line.isBlank() || line.startsWith("#")) continue;
        int sp = line.indexOf(" | ");
        String head = sp < 0 ? line.strip() : line.substring(0, sp).strip();
        List<String> fields = new ArrayList<>();
        if (sp >= 0) {
          for (String f : line.substring(sp + 3).split(" \\| ")) fields.add(f.strip());
        }
        out.put(head, fields);
      }
    }
    return out;
  }

  /** Prints the schema in the file's format (run by hand when a reviewed change is recorded). */
  public static void main(String[] args) {
    describe()
        .forEach(
            (c, fields) ->
                System.out.println(fields.isEmpty() ? c : c + " | " + String.join(" | ", fields)));
  }
}
