package dev.berth.daemon;

import dev.berth.api.v1.EventsServiceGrpc;
import dev.berth.api.v1.ListEventsRequest;
import dev.berth.api.v1.ListEventsResponse;
import dev.berth.api.v1.SubscribeEventsRequest;
import dev.berth.api.v1.SubscribeEventsResponse;
import dev.berth.daemon.grpc.Calls;
import dev.berth.daemon.grpc.SourceToStream;
import dev.berth.engine.Events;
import io.grpc.stub.StreamObserver;

/** berth.v1.EventsService: translates and asks the {@link Events} facade. */
final class EventsService extends EventsServiceGrpc.EventsServiceImplBase {
  private final Events events;
  private final SourceToStream streams;

  EventsService(Events events, SourceToStream streams) {
    this.events = events;
    this.streams = streams;
  }

  @Override
  public void subscribeEvents(
      SubscribeEventsRequest r, StreamObserver<SubscribeEventsResponse> out) {
    streams.serve(
        Calls.source(
            () ->
                events
                    .subscribe(r.getSinceSeq(), Protos.eventFilter(r.getFilter()), false)
                    .map(
                        e ->
                            SubscribeEventsResponse.newBuilder()
                                .setEvent(Protos.event(e))
                                .build())),
        out);
  }

  @Override
  public void listEvents(ListEventsRequest r, StreamObserver<ListEventsResponse> out) {
    Calls.unary(
        () -> events.list(r.getSinceSeq(), Protos.eventFilter(r.getFilter()), r.getPageSize()),
        page -> {
          ListEventsResponse.Builder b =
              ListEventsResponse.newBuilder()
                  .setNextSinceSeq(page.nextSince())
                  .setMore(page.more());
          page.events().forEach(e -> b.addEvents(Protos.event(e)));
          return b.build();
        },
        out);
  }
}
