#!/usr/bin/python3
"""A small berth.v1 client in Python: what an integrator writes from the .proto files alone.

    ops/examples/python/gen-stubs.sh build/python-stubs
    PYTHONPATH=build/python-stubs /usr/bin/python3 ops/examples/python/berth_client.py \
        --socket /run/berth/berth.sock [--image busybox:latest] [--import-path /abs/oci-layout]

It walks through the API once: the daemon's version; create (with a request_id, retried) and
start a container; list containers page by page; read its logs; run an exec (CreateExec, then
StartExec attached); wait for the exit; delete it; read the events it caused, from a seq; and read
a failure's google.rpc.ErrorInfo reason instead of its message. Exits 0 when every step did what
the contract says. Needs python3-grpcio and python3-protobuf (Debian) and the generated stubs.
"""

import argparse
import sys
import time
import uuid

import grpc
from google.rpc import error_details_pb2, status_pb2

from berth.v1 import containers_pb2 as c
from berth.v1 import containers_pb2_grpc
from berth.v1 import events_pb2 as ev
from berth.v1 import events_pb2_grpc
from berth.v1 import exec_pb2 as ex
from berth.v1 import exec_pb2_grpc
from berth.v1 import images_pb2 as im
from berth.v1 import images_pb2_grpc
from berth.v1 import system_pb2, system_pb2_grpc

# Every call gets a deadline: a client that waits forever on a daemon is a hung client.
TIMEOUT = 30.0


class Berth:
    """The stubs of every berth.v1 service on one channel to the daemon's unix socket."""

    def __init__(self, socket_path):
        # grpc's own unix-socket support: the authority is "localhost", TLS is off (the socket's
        # permissions are the access control).
        self.channel = grpc.insecure_channel("unix:" + socket_path)
        self.system = system_pb2_grpc.SystemServiceStub(self.channel)
        self.containers = containers_pb2_grpc.ContainersServiceStub(self.channel)
        self.execs = exec_pb2_grpc.ExecServiceStub(self.channel)
        self.events = events_pb2_grpc.EventsServiceStub(self.channel)
        self.images = images_pb2_grpc.ImagesServiceStub(self.channel)

    def close(self):
        self.channel.close()


# ------------------------------------------------------------------ errors


def error_details(err):
    """The google.rpc.Status of a failed call, from its `grpc-status-details-bin` trailer.

    Returns (ErrorInfo or None, BadRequest or None). grpcio-status would do this as
    rpc_status.from_call(err); Debian has no package for it, and it is a few lines.
    """
    info, bad_request = None, None
    for key, value in err.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
    return info, bad_request


def reason(err):
    """ErrorInfo.reason of a failed call ("CONTAINER_NOT_FOUND", ...), or "" without one."""
    info, _ = error_details(err)
    return info.reason if info else ""


# ------------------------------------------------------------------ the walk-through


def step(text):
    print("==> " + text, flush=True)


def check(condition, what):
    if not condition:
        raise SystemExit("berth_client: FAILED: " + what)


def run(berth, image, import_path):
    v = berth.system.GetVersion(system_pb2.GetVersionRequest(), timeout=TIMEOUT)
    step("version %s, api %s, runtime %s %s" % (v.version, v.api_version, v.runtime, v.runtime_version))
    check(v.api_version == "berth.v1", "api_version is berth.v1")

    if import_path:
        imported = berth.images.ImportImage(
            im.ImportImageRequest(path=import_path, name=image), timeout=120)
        step("imported %s" % ", ".join(n for i in imported.images for n in i.names))

    # Events from here on: remember where the journal is now.
    page = berth.events.ListEvents(ev.ListEventsRequest(since_seq=0, page_size=1000), timeout=TIMEOUT)
    since = page.next_since_seq
    while page.more:
        page = berth.events.ListEvents(ev.ListEventsRequest(since_seq=since, page_size=1000), timeout=TIMEOUT)
        since = page.next_since_seq
    step("events so far end at seq %d" % since)

    # Create with a request_id: if the reply is lost (timeout, dropped connection), sending the
    # same request again returns the container the first attempt made instead of a second one.
    request = c.CreateContainerRequest(
        image=image,
        name="example-" + uuid.uuid4().hex[:8],
        # PID 1 of a container gets no default signal handling: it traps TERM to stop gracefully.
        process=c.ProcessSpec(cmd=["sh", "-c", "trap 'echo bye; exit 0' TERM; echo hello from berth; "
                                               "echo oops >&2; sleep 600 & wait"]),
        labels={"example": "python"},
        request_id=str(uuid.uuid4()),
    )
    created = berth.containers.CreateContainer(request, timeout=TIMEOUT).container
    again = berth.containers.CreateContainer(request, timeout=TIMEOUT).container
    step("created %s (%s); the retry returned %s" % (created.name, created.id[:12], again.id[:12]))
    check(again.id == created.id, "a retried create with the same request_id returns the same container")
    ref = created.id
    try:
        walk_through(berth, image, created, since)
    finally:  # whatever failed, leave nothing behind
        try:
            berth.containers.DeleteContainer(c.DeleteContainerRequest(ref=ref, force=True), timeout=TIMEOUT)
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.NOT_FOUND:
                raise
    errors(berth, image, created)


def walk_through(berth, image, created, since):
    ref = created.id
    started = berth.containers.StartContainer(c.StartContainerRequest(ref=ref), timeout=TIMEOUT).container
    step("started, pid %d, state %s" % (started.pid, c.ContainerState.Name(started.state)))
    check(started.state == c.CONTAINER_STATE_RUNNING, "running after start")

    # List: page by page until next_page_token is empty.
    names, token, pages = [], "", 0
    while True:
        page = berth.containers.ListContainers(
            c.ListContainersRequest(all=True, page_size=2, page_token=token), timeout=TIMEOUT)
        names += [x.name for x in page.containers]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    step("list: %d containers in %d page(s)" % (len(names), pages))
    check(created.name in names, "the new container is listed")

    # Exec: a resource. CreateExec records it, StartExec runs it and streams its output.
    execution = berth.execs.CreateExec(
        ex.CreateExecRequest(container=ref, args=["sh", "-c", "echo in the container: $(hostname); exit 3"]),
        timeout=TIMEOUT).exec
    out, code = b"", None
    for msg in berth.execs.StartExec(iter([ex.StartExecRequest(exec_id=execution.id)]), timeout=TIMEOUT):
        kind = msg.WhichOneof("event")
        if kind == "started":
            step("exec %s started, pid %d" % (execution.id, msg.started.pid))
        elif kind in ("stdout", "stderr"):
            out += getattr(msg, kind)
        elif kind == "exited":
            code = msg.exited.exit_code
    step("exec said %r and exited %s" % (out.decode(errors="replace").strip(), code))
    check(code == 3, "the exec's exit code is 3")

    # Logs without follow: what the log holds now, byte for byte (the process may not have
    # written yet: ask again for a while).
    for _ in range(50):
        logs = {}
        for chunk in berth.containers.ContainerLogs(c.ContainerLogsRequest(ref=ref), timeout=TIMEOUT):
            stream = c.LogStream.Name(chunk.stream)
            logs[stream] = logs.get(stream, b"") + chunk.data
        if b"hello from berth" in logs.get("LOG_STREAM_STDOUT", b""):
            break
        time.sleep(0.2)
    step("logs: %r" % logs)
    check(b"hello from berth" in logs.get("LOG_STREAM_STDOUT", b""), "stdout in the log")

    # Stop: SIGTERM, and SIGKILL only after the timeout (unset: the default, 10 s; set it with
    # timeout=duration_pb2.Duration(seconds=N)). The trap exits 0 at once. Then wait: answered
    # at once, the container has exited.
    berth.containers.StopContainer(c.StopContainerRequest(ref=ref), timeout=TIMEOUT)
    waited = berth.containers.WaitContainer(c.WaitContainerRequest(ref=ref), timeout=TIMEOUT)
    step("stopped: exit code %d" % waited.exit_code)
    check(waited.exit_code == 0, "the TERM trap's exit code 0 (not 137: no SIGKILL)")

    berth.containers.DeleteContainer(c.DeleteContainerRequest(ref=ref), timeout=TIMEOUT)
    step("deleted")

    # Events since the remembered seq. The stream never ends by itself: read until this
    # container's DELETE, then cancel the call. (A filter by container resolves its refs when the
    # call starts, so it cannot name a container that is gone: filter here instead.)
    seen = []
    events = berth.events.SubscribeEvents(ev.SubscribeEventsRequest(since_seq=since), timeout=TIMEOUT)
    try:
        for e in events:
            if e.event.container_id != created.id:
                continue
            seen.append("%d:%s" % (e.event.seq, ev.EventType.Name(e.event.type).replace("EVENT_TYPE_", "").lower()))
            if e.event.type == ev.EVENT_TYPE_DELETE:
                break
    finally:
        events.cancel()
    step("events after seq %d: %s" % (since, " ".join(seen)))
    check(seen[0].endswith(":create") and seen[-1].endswith(":delete"), "create ... delete")



def errors(berth, image, created):
    """Errors: branch on ErrorInfo.reason, never on the message."""
    try:
        berth.containers.InspectContainer(c.InspectContainerRequest(ref=created.id), timeout=TIMEOUT)
        check(False, "inspect of a deleted container fails")
    except grpc.RpcError as err:
        step("inspect after delete: %s, reason %s: %s" % (err.code().name, reason(err), err.details()))
        check(err.code() == grpc.StatusCode.NOT_FOUND and reason(err) == "CONTAINER_NOT_FOUND",
              "NOT_FOUND with reason CONTAINER_NOT_FOUND")
    try:
        berth.containers.CreateContainer(c.CreateContainerRequest(image=image, name="bad name!"), timeout=TIMEOUT)
        check(False, "a bad name is refused")
    except grpc.RpcError as err:
        _, bad = error_details(err)
        fields = [v.field for v in bad.field_violations] if bad else []
        step("create with a bad name: %s, reason %s, fields %s" % (err.code().name, reason(err), fields))
        check(err.code() == grpc.StatusCode.INVALID_ARGUMENT and reason(err) == "INVALID_ARGUMENT",
              "INVALID_ARGUMENT with reason INVALID_ARGUMENT")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--socket", default="/run/berth/berth.sock")
    parser.add_argument("--image", default="busybox:latest")
    parser.add_argument("--import-path", help="an OCI layout or docker-archive to import first (absolute)")
    args = parser.parse_args()
    berth = Berth(args.socket)
    try:
        run(berth, args.image, args.import_path)
    except grpc.RpcError as err:
        print("berth_client: %s: %s (reason %s)" % (err.code().name, err.details(), reason(err) or "-"),
              file=sys.stderr)
        return 1
    finally:
        berth.close()
    print("berth_client: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
