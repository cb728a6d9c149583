"""The berth.v1 contract, checked by a client in another language than the daemon's (grpcio).

One test (or a few) per bug of issue 11, written from the .proto files alone. Run by
src/test/java/dev/berth/it/PythonClientIT.java against a private berthd:

    PYTHONPATH=STUBS:ops/examples/python BERTH_SOCKET=... BERTH_DAEMON_PID=... \
        /usr/bin/python3 src/test/python/test_contract.py RESULTS.jsonl

(stubs from ops/examples/python/gen-stubs.sh; busybox:latest must be imported). Writes one JSON
line per test (name, outcome, message) to RESULTS.jsonl for the IT, and unittest's report to stderr.
"""

import json
import os
import sys
import threading
import time
import unittest
import uuid

import grpc
from google.protobuf import duration_pb2

from berth.v1 import containers_pb2 as c
from berth.v1 import events_pb2 as ev
from berth.v1 import exec_pb2 as ex
from berth.v1 import images_pb2 as im
from berth.v1 import system_pb2
from berth_client import Berth, error_details, reason
from reflection_stubs.v1 import reflection_pb2 as refl_v1
from reflection_stubs.v1 import reflection_pb2_grpc as refl_v1_grpc
from reflection_stubs.v1alpha import reflection_pb2 as refl_v1alpha
from reflection_stubs.v1alpha import reflection_pb2_grpc as refl_v1alpha_grpc

SOCKET = os.environ.get("BERTH_SOCKET", "/run/berth/berth.sock")
DAEMON_PID = int(os.environ.get("BERTH_DAEMON_PID", "0"))
IMAGE = "busybox:latest"
T = 30.0  # the deadline of every ordinary call
MB = 1024 * 1024
SERVICES = [
    "berth.v1.SystemService",
    "berth.v1.ContainersService",
    "berth.v1.ExecService",
    "berth.v1.EventsService",
    "berth.v1.ImagesService",
]


def eventually(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("not within %.0fs: %s" % (timeout, what))
        time.sleep(0.1)


def daemon_threads():
    with open("/proc/%d/status" % DAEMON_PID) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


class Contract(unittest.TestCase):
    berth = None

    @classmethod
    def setUpClass(cls):
        cls.berth = Berth(SOCKET)
        cls.containers = cls.berth.containers
        cls.execs = cls.berth.execs

    @classmethod
    def tearDownClass(cls):
        cls.berth.close()

    # -------------------------------------------------------------- helpers

    def create(self, cmd=None, **fields):
        """CreateContainer; the container is deleted (forced) when the test ends."""
        request = c.CreateContainerRequest(image=IMAGE, **fields)
        if cmd:
            request.process.cmd.extend(cmd)
        container = self.containers.CreateContainer(request, timeout=T).container
        self.addCleanup(self.delete_quietly, container.id)
        return container

    def run_container(self, cmd, **fields):
        container = self.create(cmd, **fields)
        return self.containers.StartContainer(c.StartContainerRequest(ref=container.id), timeout=T).container

    def delete_quietly(self, ref):
        try:
            self.containers.DeleteContainer(c.DeleteContainerRequest(ref=ref, force=True), timeout=T)
        except grpc.RpcError:
            pass

    def inspect(self, ref):
        return self.containers.InspectContainer(c.InspectContainerRequest(ref=ref), timeout=T).container

    def logs(self, ref):
        out = b""
        for chunk in self.containers.ContainerLogs(c.ContainerLogsRequest(ref=ref), timeout=T):
            if chunk.stream == c.LOG_STREAM_STDOUT:
                out += chunk.data
        return out

    def wait_for_log(self, ref, text):
        eventually(lambda: text in self.logs(ref), what="%r in the log of %s" % (text, ref[:12]))

    def run_exec(self, container, args, timeout=T):
        """CreateExec + attached StartExec: (stdout, stderr, exit code)."""
        e = self.execs.CreateExec(ex.CreateExecRequest(container=container, args=args), timeout=T).exec
        out, err, code = b"", b"", None
        for msg in self.execs.StartExec(iter([ex.StartExecRequest(exec_id=e.id)]), timeout=timeout):
            kind = msg.WhichOneof("event")
            if kind == "stdout":
                out += msg.stdout
            elif kind == "stderr":
                err += msg.stderr
            elif kind == "exited":
                code = msg.exited.exit_code
        return out, err, code

    def assert_refused(self, call, code, want_reason, field=None):
        """The call fails with `code`, ErrorInfo `want_reason`, a one-line short message and,
        for a field, a BadRequest naming it. Returns the error."""
        with self.assertRaises(grpc.RpcError) as caught:
            call()
        err = caught.exception
        self.assertEqual(err.code(), code, "status (%s)" % err.details())
        self.assertEqual(reason(err), want_reason, "ErrorInfo reason (%s)" % err.details())
        details = err.details() or ""
        self.assertNotIn("\n", details, "one line")
        self.assertLess(len(details), 1024, "a short message: " + details[:200])
        if field is not None:
            _, bad = error_details(err)
            self.assertIsNotNone(bad, "a BadRequest detail")
            self.assertIn(field, [v.field for v in bad.field_violations])
        return err

    def count_labelled(self, key, value=""):
        n, token = 0, ""
        while True:
            page = self.containers.ListContainers(
                c.ListContainersRequest(all=True, filter=c.ContainerFilter(labels={key: value}),
                                        page_token=token), timeout=T)
            n += len(page.containers)
            token = page.next_page_token
            if not token:
                return n

    # -------------------------------------------------------------- the API as a whole

    def test_version_names_the_api(self):
        v = self.berth.system.GetVersion(system_pb2.GetVersionRequest(), timeout=T)
        self.assertEqual(v.api_version, "berth.v1")

    def test_reflection_v1_and_v1alpha_list_every_berth_v1_service(self):
        for name, stub, pb in [
            ("v1", refl_v1_grpc.ServerReflectionStub, refl_v1),
            ("v1alpha", refl_v1alpha_grpc.ServerReflectionStub, refl_v1alpha),
        ]:
            with self.subTest(reflection=name):
                replies = list(stub(self.berth.channel).ServerReflectionInfo(
                    iter([pb.ServerReflectionRequest(list_services="")]), timeout=T))
                listed = [s.name for s in replies[0].list_services_response.service]
                for service in SERVICES:
                    self.assertIn(service, listed)
                # and each service's file can be fetched (what grpcurl/buf curl need)
                replies = list(stub(self.berth.channel).ServerReflectionInfo(
                    iter([pb.ServerReflectionRequest(file_containing_symbol="berth.v1.ExecService")]),
                    timeout=T))
                self.assertTrue(replies[0].file_descriptor_response.file_descriptor_proto)

    def test_a_production_daemon_does_not_serve_the_failpoints_service(self):
        from berth.test.v1 import failpoints_pb2, failpoints_pb2_grpc
        stub = failpoints_pb2_grpc.FailpointsServiceStub(self.berth.channel)
        request = failpoints_pb2.CreateContainerWithFailpointsRequest(
            container=c.CreateContainerRequest(image=IMAGE), failpoints={"Start": "crash"})
        with self.assertRaises(grpc.RpcError) as caught:
            stub.CreateContainerWithFailpoints(request, timeout=T)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        replies = list(refl_v1_grpc.ServerReflectionStub(self.berth.channel).ServerReflectionInfo(
            iter([refl_v1.ServerReflectionRequest(list_services="")]), timeout=T))
        listed = [s.name for s in replies[0].list_services_response.service]
        self.assertNotIn("berth.test.v1.FailpointsService", listed)

    # -------------------------------------------------------------- 1. slow exec reader

    def test_1_a_slow_exec_reader_gets_all_100_mb_and_exit_0(self):
        box = self.run_container(["sleep", "600"])
        e = self.execs.CreateExec(ex.CreateExecRequest(
            container=box.id, args=["sh", "-c", "dd if=/dev/zero bs=1M count=100 2>/dev/null"]), timeout=T).exec
        stream = self.execs.StartExec(iter([ex.StartExecRequest(exec_id=e.id)]), timeout=240)
        total, code, first = 0, None, True
        for msg in stream:
            kind = msg.WhichOneof("event")
            if kind == "stdout":
                total += len(msg.stdout)
                if first:
                    first = False
                    time.sleep(15)  # the reader stalls; the process must wait, the shim must not grow
            elif kind == "exited":
                code = msg.exited.exit_code
        self.assertEqual(total, 100 * MB, "every byte of dd's output")
        self.assertEqual(code, 0, "dd's exit code (141 = killed by SIGPIPE)")
        # the shim is still healthy
        out, _, code = self.run_exec(box.id, ["echo", "still here"])
        self.assertEqual((out, code), (b"still here\n", 0))

    # -------------------------------------------------------------- 2. cancelled / detached execs

    def processes(self, box):
        out, _, _ = self.run_exec(box, ["ps", "-o", "pid,args"])
        return out.decode()

    def test_2_a_cancelled_attached_exec_leaves_no_process(self):
        box = self.run_container(["sleep", "600"])
        e = self.execs.CreateExec(ex.CreateExecRequest(container=box.id, args=["sleep", "1234"]), timeout=T).exec
        call = self.execs.StartExec(iter([ex.StartExecRequest(exec_id=e.id)]), timeout=T)
        first = next(call)
        self.assertEqual(first.WhichOneof("event"), "started")
        eventually(lambda: "sleep 1234" in self.processes(box.id), what="the exec runs")
        call.cancel()
        eventually(lambda: "sleep 1234" not in self.processes(box.id), what="the cancelled exec's process is gone")
        done = eventually(lambda: (lambda x: x if x.state == ex.EXEC_STATE_EXITED else None)(
            self.execs.InspectExec(ex.InspectExecRequest(exec_id=e.id), timeout=T).exec), what="EXITED")
        self.assertEqual(done.exit_code, 137)

    def test_2_a_detached_exec_is_listed_and_killed_by_kill_exec(self):
        box = self.run_container(["sleep", "600"])
        e = self.execs.CreateExec(ex.CreateExecRequest(container=box.id, args=["sleep", "4321"]), timeout=T).exec
        replies = list(self.execs.StartExec(iter([ex.StartExecRequest(exec_id=e.id, detach=True)]), timeout=T))
        self.assertTrue(replies and replies[0].WhichOneof("event") == "started", replies)
        listed = self.execs.ListExecs(ex.ListExecsRequest(container=box.id), timeout=T).execs
        mine = [x for x in listed if x.id == e.id]
        self.assertEqual(len(mine), 1, listed)
        self.assertEqual(mine[0].state, ex.EXEC_STATE_RUNNING)
        self.assertIn("sleep 4321", self.processes(box.id))
        self.execs.KillExec(ex.KillExecRequest(exec_id=e.id), timeout=T)
        done = eventually(lambda: (lambda x: x if x.state == ex.EXEC_STATE_EXITED else None)(
            self.execs.InspectExec(ex.InspectExecRequest(exec_id=e.id), timeout=T).exec), what="EXITED")
        self.assertEqual(done.exit_code, 137)
        self.assertNotIn("sleep 4321", self.processes(box.id))

    # -------------------------------------------------------------- 3. long inputs

    def test_3_long_inputs_are_refused_in_one_short_line(self):
        long = "a" * 9000
        box = self.run_container(["sleep", "600"])
        cases = {
            "ref": lambda: self.containers.InspectContainer(c.InspectContainerRequest(ref=long), timeout=T),
            "name": lambda: self.containers.CreateContainer(
                c.CreateContainerRequest(image=IMAGE, name=long), timeout=T),
            "image": lambda: self.containers.CreateContainer(c.CreateContainerRequest(image=long), timeout=T),
            "signal": lambda: self.containers.KillContainer(
                c.KillContainerRequest(ref=box.id, signal=long), timeout=T),
        }
        for field, call in cases.items():
            with self.subTest(field=field):
                # INTERNAL "Received RST_STREAM" was the bug: the echoed input broke the header.
                self.assert_refused(call, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", field)
        self.assertEqual(self.inspect(box.id).state, c.CONTAINER_STATE_RUNNING, "the kill changed nothing")

    # -------------------------------------------------------------- 4. graceful stop

    def test_4_stop_without_a_timeout_is_graceful(self):
        box = self.run_container(["sh", "-c", "trap 'sleep 2; exit 7' TERM; echo ready; sleep 600 & wait"])
        self.wait_for_log(box.id, b"ready")
        began = time.monotonic()
        self.containers.StopContainer(c.StopContainerRequest(ref=box.id), timeout=T)
        took = time.monotonic() - began
        waited = self.containers.WaitContainer(c.WaitContainerRequest(ref=box.id), timeout=T)
        self.assertEqual(waited.exit_code, 7, "the TERM trap's own code (137: SIGKILL at once)")
        self.assertGreaterEqual(took, 1.5, "the stop waited for the trap")

    def test_4_stop_with_a_zero_timeout_kills_at_once(self):
        box = self.run_container(["sh", "-c", "trap 'sleep 5; exit 7' TERM; echo ready; sleep 600 & wait"])
        self.wait_for_log(box.id, b"ready")
        self.containers.StopContainer(
            c.StopContainerRequest(ref=box.id, timeout=duration_pb2.Duration(seconds=0)), timeout=T)
        waited = self.containers.WaitContainer(c.WaitContainerRequest(ref=box.id), timeout=T)
        self.assertEqual(waited.exit_code, 137)

    # -------------------------------------------------------------- 5. log bytes

    def test_5_logs_come_back_byte_exact(self):
        box = self.run_container(["printf", r"\377\376\0\1AB"])
        self.containers.WaitContainer(c.WaitContainerRequest(ref=box.id), timeout=T)
        self.assertEqual(self.logs(box.id), b"\xff\xfe\x00\x01AB")

    # -------------------------------------------------------------- 6. labels limits, paging

    def test_6_labels_over_the_limits_are_refused_and_nothing_is_created(self):
        key = "over-" + uuid.uuid4().hex[:8]
        cases = {
            "too many": {"%s-%d" % (key, i): "" for i in range(257)},
            "value too long": {key: "v" * 4097},
            "too large in all": {"%s-%d" % (key, i): "v" * 4000 for i in range(20)},
            "key too long": {key + "k" * 300: ""},
        }
        for what, labels in cases.items():
            with self.subTest(case=what):
                labels = dict(labels)
                labels[key] = labels.get(key, "")
                self.assert_refused(
                    lambda: self.containers.CreateContainer(
                        c.CreateContainerRequest(image=IMAGE, labels=labels), timeout=T),
                    grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", "labels")
        self.assertEqual(self.count_labelled(key), 0)

    def test_6_list_pages_many_containers_with_large_labels(self):
        key = "paging-" + uuid.uuid4().hex[:8]
        big = {"%s-%d" % (key, i): "x" * 3900 for i in range(16)}  # ~62 KiB, under the 64 KiB limit
        big[key] = ""
        ids = set()
        for _ in range(72):  # ~4.5 MB of labels in all: above grpc's default 4 MiB message limit
            ids.add(self.create(["true"], labels=big).id)
        for page_size in (0, 1000, 7):
            with self.subTest(page_size=page_size):
                seen, token, pages = [], "", 0
                while True:
                    page = self.containers.ListContainers(c.ListContainersRequest(
                        all=True, filter=c.ContainerFilter(labels={key: ""}), page_size=page_size,
                        page_token=token), timeout=T)
                    self.assertLessEqual(page.ByteSize(), 2 * MB + 70 * 1024, "a page stays near 2 MiB")
                    seen += [x.id for x in page.containers]
                    pages += 1
                    token = page.next_page_token
                    if not token:
                        break
                self.assertEqual(len(seen), len(set(seen)), "no container twice")
                self.assertEqual(set(seen), ids)
                self.assertGreater(pages, 1)

    # -------------------------------------------------------------- 7. short-id names

    def test_7_a_name_equal_to_another_containers_short_id_is_refused(self):
        first = self.create(["true"])
        short = first.id[:12]
        err = self.assert_refused(
            lambda: self.create(["true"], name=short), grpc.StatusCode.ALREADY_EXISTS, "NAME_IN_USE")
        self.assertTrue(err.details())
        self.assertEqual(self.inspect(short).id, first.id, "the short id still resolves to the first")

    # -------------------------------------------------------------- 8. bad requests

    def test_8_import_image_with_a_relative_path_is_refused(self):
        self.assert_refused(
            lambda: self.berth.images.ImportImage(im.ImportImageRequest(path="busybox"), timeout=T),
            grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", "path")
        self.assert_refused(
            lambda: self.berth.images.SaveImage(im.SaveImageRequest(ref=IMAGE, path="out.tar"), timeout=T),
            grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", "path")

    def test_8_a_garbage_request_body_is_invalid_argument(self):
        before = self.count_all()
        raw = self.berth.channel.unary_unary(
            "/berth.v1.ContainersService/CreateContainer",
            request_serializer=None, response_deserializer=None)  # bytes in, bytes out
        for garbage in (b"\xff\xff\xff\xff\xff", b"\x0a\x80"):
            with self.subTest(body=garbage):
                with self.assertRaises(grpc.RpcError) as caught:
                    raw(garbage, timeout=T)
                self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT,
                                 caught.exception.details())
                self.assertNotIn("\n", caught.exception.details() or "")
        self.assertEqual(self.count_all(), before, "nothing created")

    def count_all(self):
        return sum(1 for _ in self.all_containers())

    def all_containers(self):
        token = ""
        while True:
            page = self.containers.ListContainers(c.ListContainersRequest(all=True, page_token=token), timeout=T)
            yield from page.containers
            token = page.next_page_token
            if not token:
                return

    def test_8_an_invalid_hostname_is_refused_at_create(self):
        before = self.count_all()
        for hostname in ("bad_host", "-x", "a" * 64, "a..b", "h\u00e9"):
            with self.subTest(hostname=hostname):
                self.assert_refused(
                    lambda: self.containers.CreateContainer(
                        c.CreateContainerRequest(image=IMAGE, hostname=hostname), timeout=T),
                    grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", "hostname")
        self.assertEqual(self.count_all(), before, "nothing created")

    def test_8_a_shim_group_is_shown_and_a_bad_one_refused(self):
        group = "py-" + uuid.uuid4().hex[:8]
        first = self.run_container(["sleep", "1000"], shim_group=group)
        second = self.run_container(["sleep", "1000"], shim_group=group)
        self.assertEqual(first.shim_group, group)
        self.assertEqual(self.inspect(second.id).shim_group, group)
        self.assertEqual(self.inspect(first.id).shim_pid, self.inspect(second.id).shim_pid,
                         "one shim serves the group")
        before = self.count_all()
        for bad in ("a/b", "..", ".auto-1"):
            with self.subTest(shim_group=bad):
                self.assert_refused(
                    lambda: self.containers.CreateContainer(
                        c.CreateContainerRequest(image=IMAGE, shim_group=bad), timeout=T),
                    grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", "shim_group")
        self.assertEqual(self.count_all(), before, "nothing created")

    # -------------------------------------------------------------- 9. deadlines

    def test_9_waits_that_time_out_leave_nothing_behind(self):
        box = self.run_container(["sh", "-c", "trap 'exit 9' TERM; echo ready; sleep 600 & wait"])
        self.wait_for_log(box.id, b"ready")
        threads_before = daemon_threads() if DAEMON_PID else 0
        codes = []
        for _ in range(200):
            try:
                self.containers.WaitContainer(c.WaitContainerRequest(ref=box.id), timeout=0.05)
                codes.append("answered")
            except grpc.RpcError as err:
                codes.append(err.code().name)
        self.assertEqual(set(codes), {"DEADLINE_EXCEEDED"})
        began = time.monotonic()
        self.berth.system.GetVersion(system_pb2.GetVersionRequest(), timeout=T)
        self.assertLess(time.monotonic() - began, 2.0, "the daemon still answers at once")
        if DAEMON_PID:
            self.assertLess(daemon_threads() - threads_before, 50, "no thread per abandoned wait")
        # a later wait still works, and is answered with the exit
        result = {}
        waiter = threading.Thread(target=lambda: result.update(
            w=self.containers.WaitContainer(c.WaitContainerRequest(ref=box.id), timeout=T)))
        waiter.start()
        time.sleep(0.5)
        self.containers.StopContainer(c.StopContainerRequest(ref=box.id), timeout=T)
        waiter.join(T)
        self.assertEqual(result["w"].exit_code, 9)

    def test_9_a_create_past_its_deadline_is_found_again_by_its_request_id(self):
        request_id = "deadline-" + uuid.uuid4().hex
        key = "deadline-" + uuid.uuid4().hex[:8]
        request = c.CreateContainerRequest(image=IMAGE, labels={key: ""}, request_id=request_id)
        request.process.cmd.append("true")
        try:
            made = self.containers.CreateContainer(request, timeout=0.001).container
            self.addCleanup(self.delete_quietly, made.id)
        except grpc.RpcError as err:
            self.assertEqual(err.code(), grpc.StatusCode.DEADLINE_EXCEEDED, err.details())
        time.sleep(1)  # a create the daemon accepted is carried out to its end
        self.assertLessEqual(self.count_labelled(key), 1)
        retried = self.create(labels={key: ""}, request_id=request_id, process=request.process)
        self.assertEqual(retried.request_id, request_id)
        self.assertEqual(self.count_labelled(key), 1, "exactly one container for the request_id")
        again = self.create(labels={key: ""}, request_id=request_id, process=request.process)
        self.assertEqual(again.id, retried.id)


class JsonLinesResult(unittest.TextTestResult):
    """unittest's text report, plus one JSON line per test (subtests folded in) for the JUnit side."""

    def __init__(self, *args, sink=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sink = sink
        self.outcomes = []  # (name, outcome) per test
        self.problems, self.skip_reason, self.began = [], None, time.monotonic()

    def startTest(self, test):
        super().startTest(test)
        self.problems, self.skip_reason, self.began = [], None, time.monotonic()

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.problems.append("%s: %s" % (subtest._subDescription(), self._exc_info_to_string(err, test)))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.problems.append(self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        if isinstance(test, unittest.TestCase):
            self.problems.append(self._exc_info_to_string(err, test))
        else:  # setUpClass and the like: no test around it
            self.outcomes.append((str(test), "failure"))
            self.sink.write(json.dumps({"name": str(test), "outcome": "failure", "seconds": 0,
                                        "message": self._exc_info_to_string(err, test)}) + "\n")

    def addSkip(self, test, why):
        super().addSkip(test, why)
        self.skip_reason = why

    def stopTest(self, test):
        super().stopTest(test)
        outcome = "failure" if self.problems else "skipped" if self.skip_reason is not None else "success"
        name = test.id().split(".")[-1]
        self.outcomes.append((name, outcome))
        self.sink.write(json.dumps({"name": name, "outcome": outcome,
                                    "seconds": round(time.monotonic() - self.began, 1),
                                    "message": "\n".join(self.problems) or self.skip_reason or ""}) + "\n")
        self.sink.flush()


def main():
    results = sys.argv[1] if len(sys.argv) > 1 else os.devnull
    with open(results, "w") as sink:
        runner = unittest.TextTestRunner(
            verbosity=2, resultclass=lambda *a, **k: JsonLinesResult(*a, sink=sink, **k))
        names = sys.argv[2:]
        loader = unittest.TestLoader()
        suite = (loader.loadTestsFromNames(names, sys.modules[__name__]) if names
                 else loader.loadTestsFromTestCase(Contract))
        result = runner.run(suite)
    outcomes = [o for _, o in result.outcomes]
    print("%d passed, %d failed" % (outcomes.count("success"), outcomes.count("failure")))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
