package dev.berth.cli;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The part of Go's text/template that docker's {@code --format} flags are used with: text, {@code
 * {{.Field.Sub}}}, {@code {{json .X}}}, {@code {{upper|lower|title|len .X}}}, {@code {{join .X
 * ","}}}, {@code {{index .Labels "k"}}}, a method call with a string argument ({@code {{.Label
 * "k"}}}), {@code {{range .X}}…{{end}}}, {@code {{if .X}}…{{else}}…{{end}}} and the {@code {{-}}}
 * trim markers. Data are maps, lists and plain values (as docker's templates see decoded JSON): a
 * missing map key prints {@code <no value>}, as in Go. Anything else is refused with one line when
 * the template is parsed, before any request is made.
 */
final class GoTemplate {
  /** A template is typed by a person; this is generous and still bounded. */
  static final int MAX_LENGTH = 4096;

  private static final int MAX_DEPTH = 16;

  private final List<Node> nodes;

  private GoTemplate(List<Node> nodes) {
    this.nodes = nodes;
  }

  private sealed interface Node permits Text, Action, Range, If {}

  private record Text(String text) implements Node {}

  /** A pipeline: a function with arguments, or one argument alone (a value or a method call). */
  private record Action(String function, List<Arg> args) implements Node {}

  private record Range(Action over, List<Node> body) implements Node {}

  private record If(Action test, List<Node> then, List<Node> otherwise) implements Node {}

  private sealed interface Arg permits Field, Literal {}

  /** {@code .} (empty path) or {@code .A.B}. */
  private record Field(List<String> path) implements Arg {}

  private record Literal(String value) implements Arg {}

  private static final List<String> FUNCTIONS =
      List.of("json", "upper", "lower", "title", "len", "join", "index", "println");

  /** Parses; a bad template is a {@link CliException} of one line. */
  static GoTemplate parse(String template) {
    if (template.length() > MAX_LENGTH) {
      throw new CliException("template parsing error: longer than " + MAX_LENGTH + " characters");
    }
    Parser p = new Parser(template);
    List<Node> nodes = p.nodes(0);
    if (p.pendingEnd != null) {
      throw new CliException("template parsing error: unexpected {{" + p.pendingEnd + "}}");
    }
    return new GoTemplate(nodes);
  }

  /** Renders with {@code data} as dot; an evaluation error is a {@link CliException}. */
  String render(Object data) {
    StringBuilder out = new StringBuilder();
    render(nodes, data, out);
    return out.toString();
  }

  private static void render(List<Node> nodes, Object dot, StringBuilder out) {
    for (Node n : nodes) {
      if (n instanceof Text t) {
        out.append(t.text());
      } else if (n instanceof Action a) {
        out.append(print(eval(a, dot)));
      } else if (n instanceof Range r) {
        Object over = eval(r.over(), dot);
        for (Object item : items(over)) render(r.body(), item, out);
      } else if (n instanceof If i) {
        render(truthy(eval(i.test(), dot)) ? i.then() : i.otherwise(), dot, out);
      }
    }
  }

  private static Collection<?> items(Object v) {
    if (v == null) return List.of();
    if (v instanceof Collection<?> c) return c;
    if (v instanceof Map<?, ?> m) return new TreeMap<>(m).values(); // Go ranges maps by key
    throw new CliException("template: range can't iterate over " + print(v));
  }

  private static boolean truthy(Object v) {
    if (v == null) return false;
    if (v instanceof Boolean b) return b;
    if (v instanceof Number n) return n.doubleValue() != 0;
    if (v instanceof String s) return !s.isEmpty();
    if (v instanceof Collection<?> c) return !c.isEmpty();
    if (v instanceof Map<?, ?> m) return !m.isEmpty();
    return true;
  }

  private static Object eval(Action a, Object dot) {
    List<Object> args = new ArrayList<>();
    if (a.function() == null) {
      // a value, or a method call such as .Label "k"
      Object head = value(a.args().get(0), dot);
      if (a.args().size() == 1) return head == MISSING ? MISSING : head;
      if (head instanceof Function<?, ?> f && a.args().size() == 2) {
        @SuppressWarnings("unchecked")
        Function<String, Object> method = (Function<String, Object>) f;
        return method.apply(String.valueOf(unmissing(value(a.args().get(1), dot))));
      }
      throw new CliException("template: " + describe(a.args().get(0)) + " is not a method");
    }
    for (Arg arg : a.args()) args.add(unmissing(value(arg, dot)));
    return switch (a.function()) {
      case "json" -> json(one(a, args));
      case "upper" -> print(one(a, args)).toUpperCase(Locale.ROOT);
      case "lower" -> print(one(a, args)).toLowerCase(Locale.ROOT);
      case "title" -> title(print(one(a, args)));
      case "println" -> print(one(a, args)) + "\n";
      case "len" -> length(one(a, args));
      case "join" -> join(a, args);
      case "index" -> index(a, args);
      default -> throw new IllegalStateException(a.function()); // refused by the parser
    };
  }

  /** A missing map key: prints as Go does, and is an empty value to functions. */
  private static final Object MISSING = new Object();

  private static Object unmissing(Object v) {
    return v == MISSING ? null : v;
  }

  private static Object one(Action a, List<Object> args) {
    if (args.size() != 1) {
      throw new CliException("template: " + a.function() + " wants 1 argument, got " + args.size());
    }
    return args.get(0);
  }

  private static Object value(Arg arg, Object dot) {
    if (arg instanceof Literal l) return l.value();
    Object v = dot;
    for (String key : ((Field) arg).path()) {
      if (v instanceof Map<?, ?> m) {
        if (!m.containsKey(key)) return MISSING;
        v = m.get(key);
      } else {
        throw new CliException(
            "template: can't evaluate field " + key + " in " + typeName(unmissing(v)));
      }
    }
    return v;
  }

  private static String json(Object v) {
    return Json.compact(v);
  }

  private static String title(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    boolean start = true;
    for (char c : s.toCharArray()) {
      sb.append(start ? Character.toUpperCase(c) : c);
      start = !Character.isLetterOrDigit(c);
    }
    return sb.toString();
  }

  private static int length(Object v) {
    if (v instanceof String s) return s.length();
    if (v instanceof Collection<?> c) return c.size();
    if (v instanceof Map<?, ?> m) return m.size();
    throw new CliException("template: len of " + typeName(v));
  }

  private static String join(Action a, List<Object> args) {
    if (args.size() != 2 || !(args.get(0) instanceof Collection<?> c)) {
      throw new CliException("template: join wants a list and a separator");
    }
    List<String> parts = new ArrayList<>();
    for (Object o : c) parts.add(print(o));
    return String.join(print(args.get(1)), parts);
  }

  private static Object index(Action a, List<Object> args) {
    if (args.size() != 2) throw new CliException("template: index wants 2 arguments");
    Object target = args.get(0);
    Object key = args.get(1);
    if (target instanceof Map<?, ?> m) return m.containsKey(key) ? m.get(key) : "";
    if (target instanceof List<?> l) {
      try {
        int i = Integer.parseInt(String.valueOf(key));
        if (i >= 0 && i < l.size()) return l.get(i);
      } catch (NumberFormatException e) {
        // fall through to the one error line
      }
      throw new CliException("template: index " + key + " out of range");
    }
    throw new CliException("template: can't index " + typeName(target));
  }

  /** Go's %v of decoded JSON: maps as map[k:v], lists as [a b]. */
  static String print(Object v) {
    if (v == MISSING) return "<no value>";
    if (v == null) return "<nil>";
    if (v instanceof Collection<?> c) {
      List<String> parts = new ArrayList<>();
      for (Object o : c) parts.add(print(o));
      return "[" + String.join(" ", parts) + "]";
    }
    if (v instanceof Map<?, ?> m) {
      List<String> parts = new ArrayList<>();
      for (Map.Entry<?, ?> e : new TreeMap<>(m).entrySet()) {
        parts.add(e.getKey() + ":" + print(e.getValue()));
      }
      return "map[" + String.join(" ", parts) + "]";
    }
    if (v instanceof Function<?, ?>) return "<method>";
    return String.valueOf(v);
  }

  private static String typeName(Object v) {
    if (v == null) return "nil";
    if (v instanceof String) return "string";
    if (v instanceof Number) return "number";
    if (v instanceof Boolean) return "bool";
    if (v instanceof Collection<?>) return "list";
    return "value";
  }

  private static String describe(Arg arg) {
    return arg instanceof Field f ? "." + String.join(".", f.path()) : "\"" + arg + "\"";
  }

  private static final class Parser {
    private final String src;
    private int pos;
    private int depth;

    /** The keyword ({@code end} or {@code else}) that ended the last {@link #nodes} call. */
    String pendingEnd;

    Parser(String src) {
      this.src = src;
    }

    List<Node> nodes(int level) {
      if (level > MAX_DEPTH) throw error("nested deeper than " + MAX_DEPTH);
      List<Node> out = new ArrayList<>();
      pendingEnd = null;
      while (pos < src.length()) {
        int open = src.indexOf("{{", pos);
        if (open < 0) {
          out.add(new Text(src.substring(pos)));
          pos = src.length();
          break;
        }
        int close = src.indexOf("}}", open + 2);
        if (close < 0) throw error("unclosed action");
        String inner = src.substring(open + 2, close);
        String text = src.substring(pos, open);
        if (inner.startsWith("-")) {
          text = text.stripTrailing();
          inner = inner.substring(1);
        }
        boolean trimAfter = inner.endsWith("-");
        if (trimAfter) inner = inner.substring(0, inner.length() - 1);
        if (!text.isEmpty()) out.add(new Text(text));
        pos = close + 2;
        if (trimAfter) while (pos < src.length() && Character.isWhitespace(src.charAt(pos))) pos++;
        List<String> tokens = tokens(inner.strip());
        if (tokens.isEmpty()) throw error("missing value for command");
        switch (tokens.get(0)) {
          case "end", "else" -> {
            if (tokens.size() != 1) throw error("unexpected " + String.join(" ", tokens));
            pendingEnd = tokens.get(0);
            return out;
          }
          case "range" -> {
            Action over = action(tokens.subList(1, tokens.size()));
            List<Node> body = nodes(level + 1);
            if (!"end".equals(pendingEnd)) throw error("range without {{end}}");
            pendingEnd = null;
            out.add(new Range(over, body));
          }
          case "if" -> {
            Action test = action(tokens.subList(1, tokens.size()));
            List<Node> then = nodes(level + 1);
            List<Node> otherwise = List.of();
            if ("else".equals(pendingEnd)) otherwise = nodes(level + 1);
            if (!"end".equals(pendingEnd)) throw error("if without {{end}}");
            pendingEnd = null;
            out.add(new If(test, then, otherwise));
          }
          default -> out.add(action(tokens));
        }
      }
      return out;
    }

    private Action action(List<String> tokens) {
      if (tokens.isEmpty()) throw error("missing value for command");
      if (++depth > 64) throw error("too many actions");
      String first = tokens.get(0);
      if (first.startsWith(".") || first.startsWith("\"")) {
        if (tokens.size() > 2) throw error("too many arguments after " + first);
        List<Arg> args = new ArrayList<>();
        for (String t : tokens) args.add(arg(t));
        return new Action(null, args);
      }
      if (!FUNCTIONS.contains(first)) throw error("function \"" + first + "\" not defined");
      List<Arg> args = new ArrayList<>();
      for (String t : tokens.subList(1, tokens.size())) args.add(arg(t));
      return new Action(first, args);
    }

    private Arg arg(String token) {
      if (token.startsWith("\"")) return new Literal(token.substring(1));
      if (token.equals(".")) return new Field(List.of());
      if (!token.startsWith(".") || token.endsWith(".") || token.contains("..")) {
        throw error("bad argument " + token);
      }
      List<String> path = List.of(token.substring(1).split("\\."));
      for (String key : path) {
        if (!key.chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '_')) {
          throw error("bad field name " + key);
        }
      }
      return new Field(path);
    }

    /** Words and "strings" (the string token keeps its opening quote as a marker). */
    private List<String> tokens(String s) {
      List<String> out = new ArrayList<>();
      int i = 0;
      while (i < s.length()) {
        char c = s.charAt(i);
        if (Character.isWhitespace(c)) {
          i++;
        } else if (c == '"') {
          StringBuilder sb = new StringBuilder("\"");
          i++;
          boolean closed = false;
          while (i < s.length()) {
            char d = s.charAt(i++);
            if (d == '"') {
              closed = true;
              break;
            }
            if (d == '\\' && i < s.length()) {
              char e = s.charAt(i++);
              sb.append(e == 'n' ? '\n' : e == 't' ? '\t' : e);
            } else {
              sb.append(d);
            }
          }
          if (!closed) throw error("unterminated quoted string");
          out.add(sb.toString());
        } else if (c == '|') {
          throw error("pipelines (|) are not supported; use a function call");
        } else {
          int j = i;
          while (j < s.length() && !Character.isWhitespace(s.charAt(j)) && s.charAt(j) != '"') j++;
          out.add(s.substring(i, j));
          i = j;
        }
      }
      return out;
    }

    private CliException error(String what) {
      return new CliException("template parsing error: " + what);
    }
  }
}
