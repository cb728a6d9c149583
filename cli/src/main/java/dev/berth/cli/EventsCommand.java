package dev.berth.cli;

import dev.berth.api.v1.Event;
import dev.berth.api.v1.SubscribeRequest;
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
    Context.CancellableContext ctx = Context.current().withCancellation();
    try {
      return ctx.call(
          () -> {
            PrintStream out = out();
            // The sequence number makes a restart of berthd invisible: resume after the last one
            // seen.
            long[] last = {since};
            return reconnecting(
                () -> {
                  SubscribeRequest req =
                      SubscribeRequest.newBuilder()
                          .setSince(last[0])
                          .addAllFilters(filters)
                          .setHistoryOnly(noFollow)
                          .build();
                  Iterator<Event> events = daemon().containersUnbounded().subscribe(req);
                  while (events.hasNext()) {
                    Event e = events.next();
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

  static String plain(Event e) {
    StringBuilder b =
        new StringBuilder()
            .append(e.getTime())
            .append(" seq=")
            .append(e.getSeq())
            .append(' ')
            .append(e.getType())
            .append(' ')
            .append(e.getContainer());
    if (e.hasExitCode()) b.append(" exitCode=").append(e.getExitCode());
    if (e.getPid() != 0) b.append(" pid=").append(e.getPid());
    if (!e.getDetail().isEmpty()) b.append(" (").append(e.getDetail()).append(')');
    return b.toString();
  }
}
