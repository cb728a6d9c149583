package dev.berth.oci;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A seccomp profile and its conversion to the {@code linux.seccomp} object of an OCI runtime spec.
 *
 * <p>Three input forms are accepted: docker's and podman's profile format (moby {@code
 * profiles/seccomp}, containers/common {@code pkg/seccomp}: an {@code archMap}, rules with {@code
 * includes}/{@code excludes} conditions and comments), docker's older form ({@code architectures},
 * a rule's {@code name}), and a profile already in the runtime spec's form. The conversion follows
 * moby's {@code setupSeccomp}: of the {@code archMap}, only the entry of the native architecture
 * and its sub-architectures; a rule is left out when an {@code excludes} condition holds (the
 * native arch is listed, any listed capability is in the container's bounding set, the kernel is at
 * least {@code minKernel}) or an {@code includes} condition does not (the native arch is not
 * listed, a listed capability is missing, the kernel is older than {@code minKernel}).
 * containers/common's {@code errno} / {@code defaultErrno} names win over {@code errnoRet} / {@code
 * defaultErrnoRet}, as there. Comments and conditions are dropped.
 *
 * <p>A profile with neither a default action nor rules means "no filter" (moby's rule): {@link
 * #toRuntimeSpec} returns empty. Everything else is checked when parsing, so a profile that parses
 * converts; every error is one line.
 */
public final class SeccompProfile {
  /** Profiles are small (docker's is ~20 KiB); anything near this is a mistake or an attack. */
  public static final int MAX_BYTES = 1 << 20;

  /** Strict like Go's encoding/json: text after the profile is an error, not ignored. */
  private static final ObjectMapper JSON =
      JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

  private static final Set<String> ACTIONS =
      Set.of(
          "SCMP_ACT_KILL",
          "SCMP_ACT_KILL_PROCESS",
          "SCMP_ACT_KILL_THREAD",
          "SCMP_ACT_TRAP",
          "SCMP_ACT_ERRNO",
          "SCMP_ACT_TRACE",
          "SCMP_ACT_ALLOW",
          "SCMP_ACT_LOG",
          "SCMP_ACT_NOTIFY");
  private static final Set<String> OPERATORS =
      Set.of(
          "SCMP_CMP_NE",
          "SCMP_CMP_LT",
          "SCMP_CMP_LE",
          "SCMP_CMP_EQ",
          "SCMP_CMP_GE",
          "SCMP_CMP_GT",
          "SCMP_CMP_MASKED_EQ");

  /** runc's list: an architecture outside it fails the container's start. */
  private static final Set<String> ARCHITECTURES =
      Set.of(
          "SCMP_ARCH_X86",
          "SCMP_ARCH_X86_64",
          "SCMP_ARCH_X32",
          "SCMP_ARCH_ARM",
          "SCMP_ARCH_AARCH64",
          "SCMP_ARCH_MIPS",
          "SCMP_ARCH_MIPS64",
          "SCMP_ARCH_MIPS64N32",
          "SCMP_ARCH_MIPSEL",
          "SCMP_ARCH_MIPSEL64",
          "SCMP_ARCH_MIPSEL64N32",
          "SCMP_ARCH_PPC",
          "SCMP_ARCH_PPC64",
          "SCMP_ARCH_PPC64LE",
          "SCMP_ARCH_RISCV64",
          "SCMP_ARCH_S390",
          "SCMP_ARCH_S390X",
          "SCMP_ARCH_LOONGARCH64");

  private static final Set<String> FLAGS =
      Set.of(
          "SECCOMP_FILTER_FLAG_TSYNC",
          "SECCOMP_FILTER_FLAG_LOG",
          "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
          "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");

  /** The kernel returns errno values up to 4095 (MAX_ERRNO). */
  private static final long MAX_ERRNO = 4095;

  private static final BigInteger MAX_U64 = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);
  private static final Pattern MIN_KERNEL = Pattern.compile("(\\d+)\\.(\\d+)");
  private static final Pattern RELEASE = Pattern.compile("(\\d+)\\.(\\d+).*", Pattern.DOTALL);

  /**
   * Error numbers by name, for containers/common's {@code errno} fields: the asm-generic numbering
   * (x86, arm, arm64, riscv64, s390x, ppc64le — not mips, which numbers them differently).
   */
  private static final Map<String, Long> ERRNO = errnoTable();

  private final String defaultAction;
  private final Long defaultErrnoRet;
  private final List<String> architectures;
  private final List<ArchMapEntry> archMap;
  private final List<String> flags;
  private final String listenerPath;
  private final String listenerMetadata;
  private final List<Rule> rules;

  /** One line, fit for a CLI error or a gRPC status. */
  public static final class InvalidProfileException extends Exception {
    private static final long serialVersionUID = 1L;

    public InvalidProfileException(String message) {
      super(message.strip().replaceAll("\\s*[\\r\\n]+\\s*", "; "));
    }
  }

  /**
   * What a profile's conditions are evaluated against.
   *
   * @param arch the native architecture in libseccomp's (and the profiles' {@code arches}) naming:
   *     amd64, arm64, x86, arm, ppc64le, s390x, riscv64, ...
   * @param kernel the kernel version ("6" of 6.1.0)
   * @param major the kernel's major revision ("1" of 6.1.0)
   */
  public record Host(String arch, int kernel, int major) {
    /** This JVM's host: os.arch, and os.version (the kernel release, uname -r). */
    public static Host current() {
      String release = System.getProperty("os.version", "");
      Matcher m = RELEASE.matcher(release);
      if (!m.matches())
        throw new IllegalStateException("cannot parse the kernel release \"" + release + "\"");
      return new Host(
          nativeArch(System.getProperty("os.arch", "")),
          Integer.parseInt(m.group(1)),
          Integer.parseInt(m.group(2)));
    }

    boolean kernelAtLeast(KernelVersion v) {
      return kernel > v.kernel() || (kernel == v.kernel() && major >= v.major());
    }
  }

  private record KernelVersion(int kernel, int major) {}

  private record ArchMapEntry(String architecture, List<String> subArchitectures) {}

  private record Condition(List<String> caps, List<String> arches, KernelVersion minKernel) {
    static final Condition NONE = new Condition(List.of(), List.of(), null);
  }

  private record Arg(int index, BigInteger value, BigInteger valueTwo, String op) {}

  private record Rule(
      List<String> names,
      String action,
      Long errnoRet,
      List<Arg> args,
      Condition includes,
      Condition excludes) {}

  private SeccompProfile(
      String defaultAction,
      Long defaultErrnoRet,
      List<String> architectures,
      List<ArchMapEntry> archMap,
      List<String> flags,
      String listenerPath,
      String listenerMetadata,
      List<Rule> rules) {
    this.defaultAction = defaultAction;
    this.defaultErrnoRet = defaultErrnoRet;
    this.architectures = architectures;
    this.archMap = archMap;
    this.flags = flags;
    this.listenerPath = listenerPath;
    this.listenerMetadata = listenerMetadata;
    this.rules = rules;
  }

  /**
   * Reads and parses a profile file; a missing, unreadable, oversized or invalid file is one line.
   */
  public static SeccompProfile read(Path file) throws InvalidProfileException {
    byte[] bytes;
    try (InputStream in = Files.newInputStream(file)) {
      bytes = in.readNBytes(MAX_BYTES + 1);
    } catch (NoSuchFileException e) {
      throw new InvalidProfileException("cannot read seccomp profile " + file + ": no such file");
    } catch (AccessDeniedException e) {
      throw new InvalidProfileException(
          "cannot read seccomp profile " + file + ": permission denied");
    } catch (IOException e) {
      throw new InvalidProfileException(
          "cannot read seccomp profile " + file + ": " + e.getMessage());
    }
    try {
      return parse(bytes);
    } catch (InvalidProfileException e) {
      throw new InvalidProfileException(e.getMessage() + " (" + file + ")");
    }
  }

  /** Parses and checks a profile (UTF-8 JSON, at most {@link #MAX_BYTES}). */
  public static SeccompProfile parse(byte[] json) throws InvalidProfileException {
    if (json.length > MAX_BYTES) {
      throw invalid("larger than " + (MAX_BYTES >> 10) + " KiB");
    }
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String where =
          at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
      String why =
          e.getOriginalMessage() == null
              ? ""
              : e.getOriginalMessage().lines().findFirst().orElse("");
      // jackson's "(start marker at [Source: ...; line: 1, column: 1])" repeats what `where` says
      int marker = why.indexOf(" (start marker at");
      if (marker >= 0) why = why.substring(0, marker);
      if (why.startsWith("Trailing token")) why = "more text after the JSON object";
      if (!why.isEmpty()) why = ": " + why;
      throw invalid("not valid JSON" + where + why);
    } catch (IOException e) {
      throw invalid("not valid JSON: " + e.getMessage());
    }
    if (root == null || !root.isObject()) throw invalid("expected a JSON object");

    String defaultAction = optionalString(root, "defaultAction", "defaultAction");
    if (defaultAction != null && !ACTIONS.contains(defaultAction)) {
      throw invalid("defaultAction: unknown action \"" + defaultAction + "\"");
    }
    Long defaultErrnoRet = errno(root, "defaultErrno", "defaultErrnoRet", "");

    List<String> architectures = stringList(root, "architectures", "architectures");
    for (String a : architectures) {
      if (!ARCHITECTURES.contains(a))
        throw invalid("architectures: unknown architecture \"" + a + "\"");
    }
    List<ArchMapEntry> archMap = new ArrayList<>();
    JsonNode map = root.get("archMap");
    if (map != null && !map.isNull()) {
      if (!map.isArray()) throw invalid("archMap: expected an array");
      for (int i = 0; i < map.size(); i++) {
        String at = "archMap[" + i + "]";
        JsonNode e = map.get(i);
        if (!e.isObject()) throw invalid(at + ": expected an object");
        String arch = optionalString(e, "architecture", at + ".architecture");
        if (arch == null || !ARCHITECTURES.contains(arch)) {
          throw invalid(
              at
                  + ".architecture: unknown architecture "
                  + (arch == null ? "(missing)" : "\"" + arch + "\""));
        }
        List<String> subs = stringList(e, "subArchitectures", at + ".subArchitectures");
        for (String s : subs) {
          if (!ARCHITECTURES.contains(s))
            throw invalid(at + ".subArchitectures: unknown architecture \"" + s + "\"");
        }
        archMap.add(new ArchMapEntry(arch, List.copyOf(subs)));
      }
    }
    if (!architectures.isEmpty() && !archMap.isEmpty()) {
      throw invalid("both 'architectures' and 'archMap' are given; use one of them");
    }
    List<String> flags = stringList(root, "flags", "flags");
    for (String f : flags) {
      if (!FLAGS.contains(f)) throw invalid("flags: unknown flag \"" + f + "\"");
    }
    String listenerPath = optionalString(root, "listenerPath", "listenerPath");
    String listenerMetadata = optionalString(root, "listenerMetadata", "listenerMetadata");

    List<Rule> rules = new ArrayList<>();
    JsonNode syscalls = root.get("syscalls");
    if (syscalls != null && !syscalls.isNull()) {
      if (!syscalls.isArray()) throw invalid("syscalls: expected an array");
      for (int i = 0; i < syscalls.size(); i++)
        rules.add(rule(syscalls.get(i), "syscalls[" + i + "]"));
    }
    if (defaultAction == null && !rules.isEmpty()) throw invalid("defaultAction is missing");
    return new SeccompProfile(
        defaultAction,
        defaultErrnoRet,
        List.copyOf(architectures),
        List.copyOf(archMap),
        List.copyOf(flags),
        listenerPath,
        listenerMetadata,
        List.copyOf(rules));
  }

  private static Rule rule(JsonNode n, String at) throws InvalidProfileException {
    if (!n.isObject()) throw invalid(at + ": expected an object");
    String name = optionalString(n, "name", at + ".name");
    List<String> names = stringList(n, "names", at + ".names");
    if (name != null && !names.isEmpty())
      throw invalid(at + ": both 'name' and 'names' are given; use one of them");
    if (name != null) names = List.of(name);
    if (names.isEmpty()) throw invalid(at + ": no syscall names");
    for (String s : names) {
      if (s.isBlank()) throw invalid(at + ".names: an empty syscall name");
    }
    String action = optionalString(n, "action", at + ".action");
    if (action == null) throw invalid(at + ".action is missing");
    if (!ACTIONS.contains(action)) throw invalid(at + ".action: unknown action \"" + action + "\"");
    Long errnoRet = errno(n, "errno", "errnoRet", at + ".");
    List<Arg> args = new ArrayList<>();
    JsonNode a = n.get("args");
    if (a != null && !a.isNull()) {
      if (!a.isArray()) throw invalid(at + ".args: expected an array");
      for (int i = 0; i < a.size(); i++) args.add(arg(a.get(i), at + ".args[" + i + "]"));
    }
    return new Rule(
        List.copyOf(names),
        action,
        errnoRet,
        List.copyOf(args),
        condition(n.get("includes"), at + ".includes"),
        condition(n.get("excludes"), at + ".excludes"));
  }

  private static Arg arg(JsonNode n, String at) throws InvalidProfileException {
    if (!n.isObject()) throw invalid(at + ": expected an object");
    BigInteger index = unsigned(n.get("index"), at + ".index", BigInteger.valueOf(5));
    if (index == null) throw invalid(at + ".index is missing");
    BigInteger value = unsigned(n.get("value"), at + ".value", MAX_U64);
    BigInteger valueTwo = unsigned(n.get("valueTwo"), at + ".valueTwo", MAX_U64);
    String op = optionalString(n, "op", at + ".op");
    if (op == null) throw invalid(at + ".op is missing");
    if (!OPERATORS.contains(op)) throw invalid(at + ".op: unknown operator \"" + op + "\"");
    return new Arg(
        index.intValue(),
        value == null ? BigInteger.ZERO : value,
        valueTwo == null ? BigInteger.ZERO : valueTwo,
        op);
  }

  private static Condition condition(JsonNode n, String at) throws InvalidProfileException {
    if (n == null || n.isNull()) return Condition.NONE;
    if (!n.isObject()) throw invalid(at + ": expected an object");
    List<String> caps = stringList(n, "caps", at + ".caps");
    List<String> arches = stringList(n, "arches", at + ".arches");
    String min = optionalString(n, "minKernel", at + ".minKernel");
    KernelVersion minKernel = null;
    if (min != null && !min.isEmpty()) {
      Matcher m = MIN_KERNEL.matcher(min);
      String expected =
          at + ".minKernel: invalid kernel version \"" + min + "\", expected \"<kernel>.<major>\"";
      if (!m.matches() || m.group(1).length() > 3 || m.group(2).length() > 3)
        throw invalid(expected);
      minKernel = new KernelVersion(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
      if (minKernel.kernel() > 255 || minKernel.major() > 255) throw invalid(expected);
      if (minKernel.kernel() == 0 && minKernel.major() == 0)
        throw invalid(at + ".minKernel: version cannot be 0.0");
    }
    return new Condition(List.copyOf(caps), List.copyOf(arches), minKernel);
  }

  /**
   * The {@code linux.seccomp} object for a container with the given bounding capabilities on {@code
   * host}; empty when the profile asks for no filter.
   */
  public Optional<ObjectNode> toRuntimeSpec(Collection<String> boundingCapabilities, Host host) {
    if (defaultAction == null && rules.isEmpty()) return Optional.empty();
    ObjectNode out = JSON.createObjectNode();
    out.put("defaultAction", defaultAction);
    if (defaultErrnoRet != null) out.put("defaultErrnoRet", defaultErrnoRet);
    List<String> arches = new ArrayList<>(architectures);
    String nativeArch = seccompArch(host.arch());
    for (ArchMapEntry e : archMap) {
      if (e.architecture().equals(nativeArch)) {
        arches.add(e.architecture());
        arches.addAll(e.subArchitectures());
        break;
      }
    }
    if (!arches.isEmpty()) arches.forEach(out.putArray("architectures")::add);
    if (!flags.isEmpty()) flags.forEach(out.putArray("flags")::add);
    if (listenerPath != null) out.put("listenerPath", listenerPath);
    if (listenerMetadata != null) out.put("listenerMetadata", listenerMetadata);
    ArrayNode syscalls = out.putArray("syscalls");
    for (Rule r : rules) {
      if (!applies(r, boundingCapabilities, host)) continue;
      ObjectNode s = syscalls.addObject();
      r.names().forEach(s.putArray("names")::add);
      s.put("action", r.action());
      if (r.errnoRet() != null) s.put("errnoRet", r.errnoRet());
      if (!r.args().isEmpty()) {
        ArrayNode args = s.putArray("args");
        for (Arg a : r.args()) {
          ObjectNode o = args.addObject();
          o.put("index", a.index());
          o.put("value", a.value());
          o.put("valueTwo", a.valueTwo());
          o.put("op", a.op());
        }
      }
    }
    return Optional.of(out);
  }

  /**
   * moby's setupSeccomp: excludes first (any match drops the rule), then includes (all must hold).
   */
  private static boolean applies(Rule r, Collection<String> caps, Host host) {
    Condition ex = r.excludes();
    if (!ex.arches().isEmpty() && ex.arches().contains(host.arch())) return false;
    for (String c : ex.caps()) {
      if (caps.contains(c)) return false;
    }
    if (ex.minKernel() != null && host.kernelAtLeast(ex.minKernel())) return false;
    Condition in = r.includes();
    if (!in.arches().isEmpty() && !in.arches().contains(host.arch())) return false;
    for (String c : in.caps()) {
      if (!caps.contains(c)) return false;
    }
    return in.minKernel() == null || host.kernelAtLeast(in.minKernel());
  }

  /** The SCMP_ARCH_ name of a native architecture (libseccomp naming), or null when unknown. */
  static String seccompArch(String nativeArch) {
    return switch (nativeArch) {
      case "amd64" -> "SCMP_ARCH_X86_64";
      case "x86" -> "SCMP_ARCH_X86";
      case "arm64" -> "SCMP_ARCH_AARCH64";
      case "arm" -> "SCMP_ARCH_ARM";
      case "ppc64le" -> "SCMP_ARCH_PPC64LE";
      case "ppc64" -> "SCMP_ARCH_PPC64";
      case "s390x" -> "SCMP_ARCH_S390X";
      case "riscv64" -> "SCMP_ARCH_RISCV64";
      case "mips64" -> "SCMP_ARCH_MIPS64";
      case "mipsel64" -> "SCMP_ARCH_MIPSEL64";
      case "loong64" -> "SCMP_ARCH_LOONGARCH64";
      default -> null;
    };
  }

  /** Java's os.arch → libseccomp's native name (what the profiles' {@code arches} lists use). */
  static String nativeArch(String osArch) {
    return switch (osArch.toLowerCase(Locale.ROOT)) {
      case "amd64", "x86_64" -> "amd64";
      case "x86", "i386", "i486", "i586", "i686" -> "x86";
      case "aarch64", "arm64" -> "arm64";
      case "arm", "armv7l" -> "arm";
      case "ppc64le" -> "ppc64le";
      case "ppc64" -> "ppc64";
      case "s390x" -> "s390x";
      case "riscv64" -> "riscv64";
      case "mips64" -> "mips64";
      case "mips64el" -> "mipsel64";
      case "loongarch64" -> "loong64";
      default -> osArch;
    };
  }

  // ------------------------------------------------------------------ JSON helpers

  private static InvalidProfileException invalid(String what) {
    return new InvalidProfileException("invalid seccomp profile: " + what);
  }

  private static String optionalString(JsonNode n, String field, String at)
      throws InvalidProfileException {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) return null;
    if (!v.isTextual()) throw invalid(at + ": expected a string");
    return v.asText();
  }

  private static List<String> stringList(JsonNode n, String field, String at)
      throws InvalidProfileException {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) return List.of();
    if (!v.isArray()) throw invalid(at + ": expected an array of strings");
    List<String> out = new ArrayList<>(v.size());
    for (Iterator<JsonNode> it = v.elements(); it.hasNext(); ) {
      JsonNode e = it.next();
      if (!e.isTextual()) throw invalid(at + ": expected an array of strings");
      out.add(e.asText());
    }
    return out;
  }

  private static BigInteger unsigned(JsonNode v, String at, BigInteger max)
      throws InvalidProfileException {
    if (v == null || v.isNull()) return null;
    if (!v.isIntegralNumber()) throw invalid(at + ": expected a whole number");
    BigInteger b = v.bigIntegerValue();
    if (b.signum() < 0 || b.compareTo(max) > 0)
      throw invalid(at + ": " + b + " is out of range (0 to " + max + ")");
    return b;
  }

  /** The errno of a rule: the name field (containers/common) if given, else the number field. */
  private static Long errno(JsonNode n, String nameField, String numberField, String at)
      throws InvalidProfileException {
    String name = optionalString(n, nameField, at + nameField);
    if (name != null && !name.isEmpty()) {
      if (name.length() <= 4 && name.chars().allMatch(c -> c >= '0' && c <= '9')) {
        long v = Long.parseLong(name);
        if (v > MAX_ERRNO)
          throw invalid(at + nameField + ": " + v + " is out of range (0 to " + MAX_ERRNO + ")");
        return v;
      }
      Long v = ERRNO.get(name);
      if (v == null) throw invalid(at + nameField + ": unknown errno \"" + name + "\"");
      return v;
    }
    BigInteger number =
        unsigned(n.get(numberField), at + numberField, BigInteger.valueOf(MAX_ERRNO));
    return number == null ? null : number.longValue();
  }

  private static Map<String, Long> errnoTable() {
    String[] names = {
      "EPERM",
      "ENOENT",
      "ESRCH",
      "EINTR",
      "EIO",
      "ENXIO",
      "E2BIG",
      "ENOEXEC",
      "EBADF",
      "ECHILD",
      "EAGAIN",
      "ENOMEM",
      "EACCES",
      "EFAULT",
      "ENOTBLK",
      "EBUSY",
      "EEXIST",
      "EXDEV",
      "ENODEV",
      "ENOTDIR",
      "EISDIR",
      "EINVAL",
      "ENFILE",
      "EMFILE",
      "ENOTTY",
      "ETXTBSY",
      "EFBIG",
      "ENOSPC",
      "ESPIPE",
      "EROFS",
      "EMLINK",
      "EPIPE",
      "EDOM",
      "ERANGE",
      "EDEADLK",
      "ENAMETOOLONG",
      "ENOLCK",
      "ENOSYS",
      "ENOTEMPTY",
      "ELOOP",
      null,
      "ENOMSG",
      "EIDRM",
      "ECHRNG",
      "EL2NSYNC",
      "EL3HLT",
      "EL3RST",
      "ELNRNG",
      "EUNATCH",
      "ENOCSI",
      "EL2HLT",
      "EBADE",
      "EBADR",
      "EXFULL",
      "ENOANO",
      "EBADRQC",
      "EBADSLT",
      null,
      "EBFONT",
      "ENOSTR",
      "ENODATA",
      "ETIME",
      "ENOSR",
      "ENONET",
      "ENOPKG",
      "EREMOTE",
      "ENOLINK",
      "EADV",
      "ESRMNT",
      "ECOMM",
      "EPROTO",
      "EMULTIHOP",
      "EDOTDOT",
      "EBADMSG",
      "EOVERFLOW",
      "ENOTUNIQ",
      "EBADFD",
      "EREMCHG",
      "ELIBACC",
      "ELIBBAD",
      "ELIBSCN",
      "ELIBMAX",
      "ELIBEXEC",
      "EILSEQ",
      "ERESTART",
      "ESTRPIPE",
      "EUSERS",
      "ENOTSOCK",
      "EDESTADDRREQ",
      "EMSGSIZE",
      "EPROTOTYPE",
      "ENOPROTOOPT",
      "EPROTONOSUPPORT",
      "ESOCKTNOSUPPORT",
      "EOPNOTSUPP",
      "EPFNOSUPPORT",
      "EAFNOSUPPORT",
      "EADDRINUSE",
      "EADDRNOTAVAIL",
      "ENETDOWN",
      "ENETUNREACH",
      "ENETRESET",
      "ECONNABORTED",
      "ECONNRESET",
      "ENOBUFS",
      "EISCONN",
      "ENOTCONN",
      "ESHUTDOWN",
      "ETOOMANYREFS",
      "ETIMEDOUT",
      "ECONNREFUSED",
      "EHOSTDOWN",
      "EHOSTUNREACH",
      "EALREADY",
      "EINPROGRESS",
      "ESTALE",
      "EUCLEAN",
      "ENOTNAM",
      "ENAVAIL",
      "EISNAM",
      "EREMOTEIO",
      "EDQUOT",
      "ENOMEDIUM",
      "EMEDIUMTYPE",
      "ECANCELED",
      "ENOKEY",
      "EKEYEXPIRED",
      "EKEYREVOKED",
      "EKEYREJECTED",
      "EOWNERDEAD",
      "ENOTRECOVERABLE",
      "ERFKILL",
      "EHWPOISON"
    };
    Map<String, Long> m = new HashMap<>();
    for (int i = 0; i < names.length; i++) {
      if (names[i] != null) m.put(names[i], (long) i + 1);
    }
    m.put("EWOULDBLOCK", 11L);
    m.put("EDEADLOCK", 35L);
    m.put("ENOTSUP", 95L);
    return Map.copyOf(m);
  }
}
