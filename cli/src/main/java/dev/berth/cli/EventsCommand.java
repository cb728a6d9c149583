package dev.berth.cli;

import dev.berth.api.v1.Event;
import dev.berth.api.v1.EventFilter;
import dev.berth.api.v1.EventType;
import dev.berth.api.v1.ListEventsRequest;
import dev.berth.api.v1.ListEventsResponse;
import dev.berth.api.v1.SubscribeEventsRequest;
import dev.berth.api.v1.SubscribeEventsResponse;
import io.grpc.Context;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** `berth events`: the journaled lifecycle events, history first, then live (until Ctrl-C). */
@Command(
    name = "events",
    description = "Stream lifecycle events (history after --since, then live).")
final class EventsCommand extends BaseCommand {
  @Option(
      names = "--since",
      paramLabel = "SEQ",
      description = "Only events with a larger sequence number (default 0: all history).")
  long since;

  @Option(
      names = {"-f", "--filter"},
      paramLabel = "KEY=VALUE",
      description =
          "container=ID|NAME or type=TYPE (create, start, start-failed, exit, restart, shim-lost, reconciled, delete); "
              + "repeat a key to OR its values.")
  List<String> filters = new ArrayList<>();

  @Option(
      names = "--format",
      paramLabel = "plain|json",
      description = "Output format: plain (default) or json (one object per line).")
  String format = "plain";

  @Option(
      names = "--no-follow",
      description = "Stop after the history instead of waiting for new events.")
  boolean noFollow;

  @Override
  public Integer call() throws Exception {
    boolean json =
        switch (format) {
          case "plain" -> false;
          case "json" -> true;
          default ->
              throw new CliException("unsupported format \"" + format + "\": use plain or json");
        };
    if (since < 0)
      throw new CliException("invalid --since " + since + ": a sequence number is >= 0");
    EventFilter filter = filter(filters);
    Context.CancellableContext ctx = Context.current().withCancellation();
    try {
      return ctx.call(
          () -> {
            PrintStream out = out();
            // The sequence number makes a restart of berthd invisible: resume after the last one
            // seen.
            long[] last = {since};
            if (noFollow) {
              // The history only: ListEvents, one bounded page after another.
              return reconnecting(
                  () -> {
                    while (true) {
                      ListEventsResponse page =
                          daemon()
                              .events()
                              .listEvents(
                                  ListEventsRequest.newBuilder()
                                      .setSinceSeq(last[0])
                                      .setFilter(filter)
                                      .setPageSize(HISTORY_PAGE_SIZE)
                                      .build());
                      for (Event e : page.getEventsList()) {
                        out.println(json ? Json.eventLine(e) : plain(e));
                        if (out.checkError()) return 0;
                      }
                      out.flush();
                      if (!page.getMore()) return 0;
                      if (page.getNextSinceSeq() <= last[0]) {
                        throw new CliException(
                            "the daemon's event history did not advance after seq " + last[0]);
                      }
                      last[0] = page.getNextSinceSeq();
                    }
                  });
            }
            return reconnecting(
                () -> {
                  SubscribeEventsRequest req =
                      SubscribeEventsRequest.newBuilder()
                          .setSinceSeq(last[0])
                          .setFilter(filter)
                          .build();
                  Iterator<SubscribeEventsResponse> events =
                      daemon().eventsUnbounded().subscribeEvents(req);
                  while (events.hasNext()) {
                    Event e = events.next().getEvent();
                    out.println(json ? Json.eventLine(e) : plain(e));
                    out.flush();
                    last[0] = e.getSeq();
                    // `berth events | head` ends when head does.
                    if (out.checkError()) break;
                  }
                  return 0;
                });
          });
    } finally {
      ctx.cancel(null);
    }
  }

  /** The daemon's largest page of history. */
  static final int HISTORY_PAGE_SIZE = 1000;

  /**
   * docker's --filter KEY=VALUE: container=REF and type=TYPE; values of one key are OR-ed, the two
   * keys AND-ed.
   */
  static EventFilter filter(List<String> filters) {
    EventFilter.Builder f = EventFilter.newBuilder();
    for (String spec : filters) {
      int eq = spec.indexOf('=');
      String key = eq < 0 ? spec.strip() : spec.substring(0, eq).strip();
      String value = eq < 0 ? "" : spec.substring(eq + 1).strip();
      if (value.isEmpty())
        throw new CliException("invalid filter \"" + spec + "\": expected KEY=VALUE");
      switch (key) {
        case "container" -> f.addContainers(value);
        case "type", "event" -> {
          EventType t = Views.eventType(value);
          if (t == null)
            throw new CliException(
                "invalid filter \""
                    + spec
                    + "\": unknown event type "
                    + value
                    + " (one of "
                    + String.join(", ", TYPES)
                    + ")");
          if (!f.getTypesList().contains(t)) f.addTypes(t);
        }
        default ->
            throw new CliException(
                "invalid filter \"" + spec + "\": unknown key " + key + " (container or type)");
      }
    }
    return f.build();
  }

  static final List<String> TYPES =
      List.of(
          "create",
          "start",
          "start-failed",
          "exit",
          "restart",
          "shim-lost",
          "reconciled",
          "delete",
          "journal-damaged");

  static String plain(Event e) {
    StringBuilder b =
        new StringBuilder()
            .append(Views.time(e.getTime()))
            .append(" seq=")
            .append(e.getSeq())
            .append(' ')
            .append(Views.eventType(e.getType()))
            .append(' ')
            .append(e.getContainerId());
    if (e.hasExitCode()) b.append(" exitCode=").append(e.getExitCode());
    if (e.getPid() != 0) b.append(" pid=").append(e.getPid());
    if (!e.getDetail().isEmpty()) b.append(" (").append(e.getDetail()).append(')');
    return b.toString();
  }
}
