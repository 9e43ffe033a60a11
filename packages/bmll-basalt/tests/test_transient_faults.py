"""Transient S3 faults in a real pipeline run: throttling (``503 SlowDown``) and a server that
stops for a moment, injected by an HTTP proxy in front of the moto server of the session.

boto3 and polars' object store retry on their own; here both are told not to
(``AWS_MAX_ATTEMPTS=1``, ``POLARS_CLOUD_MAX_RETRIES=0``), so that every fault reaches
Basalt's retry layer at once and each test is deterministic and fast (polars' default of 8
retries takes 7-12 s to give up on one request). Polars reads its variable once per process,
so the pipelines run in a process of their own, started with it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import http.client
import http.server
import json
import os
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import polars as pl
import pytest
from botocore.exceptions import ClientError

from basalt.config.loading import Pipeline, validate_config
from basalt.errors import DataError, TableSchemaError, TransientError
from basalt.retry import is_transient
from basalt.runner import run_pipeline
from basalt.s3 import S3Storage
from basalt.sampledata import generate_lake

DAY = dt.date(2024, 3, 4)
TRADES = f"Trades-Plus/XLON/{DAY:%Y/%m/%d}/trades-plus-XLON-{DAY:%Y%m%d}.parquet"
REFERENCE = f"Reference/XLON/{DAY:%Y/%m/%d}/reference-XLON-{DAY:%Y%m%d}.parquet"
SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
)
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade"}


# --- a fault-injecting proxy in front of the S3 server --------------------------------------------


class Request(NamedTuple):
    """What the proxy sees of a request: method, path and query, and the client's name."""

    method: str
    path: str
    agent: str


Match = Callable[[Request], bool]


def never(request: Request) -> bool:
    return False


def reads(fragment: str, agent: str = "") -> Match:
    """GETs of paths containing ``fragment`` by clients whose user agent contains ``agent``."""
    return lambda r: r.method == "GET" and fragment in r.path and agent in r.agent


def writes(fragment: str) -> Match:
    """PUTs and POSTs (uploads) of paths containing ``fragment``."""
    return lambda r: r.method in {"PUT", "POST"} and fragment in r.path


def reset(connection: socket.socket) -> None:
    """Close ``connection`` with a TCP reset, as a crashed server does."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


class FaultyProxy:
    """An HTTP proxy to ``upstream`` that answers ``503 SlowDown`` to the first ``throttled``
    requests matching ``throttle``, and stops for ``outage`` seconds at the first request
    matching ``stop``: its listening socket is closed (connections are refused) and requests
    on open connections are answered with a reset. Everything else is forwarded (request
    bodies need a Content-Length, as boto3 and polars send)."""

    def __init__(
        self,
        upstream: str,
        *,
        throttle: Match = never,
        throttled: int = 0,
        stop: Match = never,
        outage: float = 1.0,
    ) -> None:
        self.upstream = urlsplit(upstream).netloc
        self.throttle, self.throttled = throttle, throttled
        self.stop, self.outage = stop, outage
        self.lock = threading.Lock()
        self.answers: list[tuple[Request, str]] = []
        self.connections: set[socket.socket] = set()
        self.down_until = 0.0
        self.stopped = False
        self.restarted = threading.Event()
        self.server = self._serve(0)
        self.port: int = self.server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self, answer: str) -> int:
        """How many requests got ``answer`` (``forwarded``, ``503`` or ``reset``)."""
        with self.lock:
            return sum(1 for _, given in self.answers if given == answer)

    def decide(self, request: Request) -> str:
        with self.lock:
            if time.monotonic() < self.down_until:
                answer = "reset"
            elif not self.stopped and self.stop(request):
                self.stopped = True
                self.down_until = time.monotonic() + self.outage
                threading.Thread(target=self._restart, daemon=True).start()
                answer = "reset"
            elif self.throttled > 0 and self.throttle(request):
                self.throttled -= 1
                answer = "503"
            else:
                answer = "forwarded"
            self.answers.append((request, answer))
            return answer

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        upstream = http.client.HTTPConnection(self.upstream, timeout=30)
        try:
            upstream.request(method, path, body=body, headers=headers)
            response = upstream.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            upstream.close()

    def close(self) -> None:
        """Stop listening and drop the connections still open."""
        if self.stopped:
            assert self.restarted.wait(10), "the proxy did not restart"
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):  # closed meanwhile
                    connection.shutdown(socket.SHUT_RDWR)

    def _restart(self) -> None:
        """Close the listening socket for the outage, then listen on the same port again."""
        self.server.shutdown()
        self.server.server_close()
        time.sleep(max(0.0, self.down_until - time.monotonic()))
        self.server = self._serve(self.port)
        self.restarted.set()

    def _serve(self, port: int) -> http.server.ThreadingHTTPServer:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return server

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with proxy.lock:
                    proxy.connections.add(self.connection)

            def finish(self) -> None:
                with proxy.lock:
                    proxy.connections.discard(self.connection)
                super().finish()

            def answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Request(self.command, self.path, self.headers.get("User-Agent", ""))
                decision = proxy.decide(request)
                if decision == "reset":
                    self.close_connection = True
                    reset(self.connection)
                elif decision == "503":
                    self.reply(503, "Slow Down", [("Content-Type", "application/xml")], SLOW_DOWN)
                else:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    self.reply(*proxy.forward(self.command, self.path, headers, body))

            def reply(
                self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes
            ) -> None:
                self.send_response_only(status, reason)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP | {"content-length"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self) -> None:
                self.answer()

            def do_HEAD(self) -> None:
                self.answer()

            def do_PUT(self) -> None:
                self.answer()

            def do_POST(self) -> None:
                self.answer()

            def do_DELETE(self) -> None:
                self.answer()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def proxies(s3_endpoint: str) -> Iterator[Callable[..., FaultyProxy]]:
    """Start fault-injecting proxies in front of the S3 server; stopped after the test."""
    started: list[FaultyProxy] = []

    def start(**faults: Any) -> FaultyProxy:
        started.append(FaultyProxy(s3_endpoint, **faults))
        return started[-1]

    yield start
    for proxy in started:
        proxy.close()


# --- the lake, the pipeline and the fault-free result ---------------------------------------------

RUNNER = """
import json, logging, os, sys
from basalt.config.loading import Pipeline, validate_config
from basalt.runner import run_pipeline

class Retries(logging.Handler):
    messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())

logging.getLogger("basalt.retry").addHandler(Retries())
answers, sys.stdout = sys.stdout, sys.stderr
for line in sys.stdin:
    request = json.loads(line)
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(request["env"])
    Retries.messages.clear()
    summary = run_pipeline(Pipeline(validate_config(request["config"]), "test"))
    result = {
        "ok": summary.ok,
        "failures": [
            {"label": f.label, "batch": f.batch, "writing": f.writing, "error": f.error}
            for f in summary.failures
        ],
        "outputs": summary.passes[0].outputs,
        "failed": summary.passes[0].failed,
        "retries": Retries.messages,
    }
    print(json.dumps(result), file=answers, flush=True)
"""


class Outcome(NamedTuple):
    """What a run in the runner process did, and the messages of Basalt's retries."""

    ok: bool
    failures: list[dict[str, Any]]
    outputs: list[str]
    failed: list[str]
    retries: list[str]

    @property
    def retried(self) -> list[str]:
        """What Basalt retried: ``planning 2024-03-04``, ``pass p1, 2024-03-04, batch 0``..."""
        return [message.split(": transient error", 1)[0] for message in self.retries]


class Runner:
    """A Python process running pipelines, one at a time, without retries of boto3 and
    polars: polars reads ``POLARS_CLOUD_MAX_RETRIES`` once per process, so it is set before
    the process starts."""

    def __init__(self, log: Path) -> None:
        env = {**os.environ, "AWS_MAX_ATTEMPTS": "1", "POLARS_CLOUD_MAX_RETRIES": "0"}
        self.log = log
        with log.open("wb") as errors:
            self.process = subprocess.Popen(
                [sys.executable, "-c", RUNNER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=env,
                text=True,
            )

    def run(self, raw: dict[str, Any], timeout: float = 60) -> Outcome:
        """Run the pipeline ``raw`` with the test's AWS variables."""
        assert self.process.stdin is not None and self.process.stdout is not None
        env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
        env["AWS_MAX_ATTEMPTS"] = "1"
        self.process.stdin.write(json.dumps({"config": raw, "env": env}) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        assert line, f"the runner process did not answer:\n{self.log.read_text()}"
        return Outcome(**json.loads(line))

    def close(self) -> None:
        self.process.communicate(timeout=30)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    started = Runner(tmp_path_factory.mktemp("runner") / "stderr.log")
    yield started
    started.close()


@pytest.fixture(scope="module")
def local_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faults") / "lake"
    generate_lake(root, DAY, DAY, ["XLON"], listings=2, trades_per_listing=200)
    return root


@pytest.fixture(scope="module")
def expected(local_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """The output of the pipeline run without faults."""
    out = tmp_path_factory.mktemp("fault-free")
    summary = run_pipeline(Pipeline(validate_config(config(str(local_lake), str(out))), "test"))
    assert summary.ok
    result = pl.read_parquet(summary.passes[0].outputs[0])
    assert result.height > 0
    return result


@pytest.fixture
def lake_url(s3_bucket: str, s3_client: Any, local_lake: Path) -> str:
    """The lake uploaded to a fresh bucket, straight to the S3 server."""
    for path in sorted(p for p in local_lake.rglob("*") if p.is_file()):
        key = f"lake/{path.relative_to(local_lake).as_posix()}"
        s3_client.put_object(Bucket=s3_bucket, Key=key, Body=path.read_bytes())
    return f"s3://{s3_bucket}/lake"


def config(data_root: str, out: str, endpoint: str | None = None, **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "START_DATE": DAY.isoformat(),
        "DATA_ROOT": data_root,
        "UNIVERSE": "mic=XLON",
        "PASSES": [{"name": "p1", "modules": ["trade"], "time_bucket_seconds": 300}],
        "OUTPUT_TARGET": {"path_template": out + "/{pass}/{start_date}.parquet"},
        "EXECUTOR": "serial",
        **extra,
    }
    if endpoint is not None:
        raw["S3_STORAGE_OPTIONS"] = {"endpoint_url": endpoint}
    return raw


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# --- throttling ----------------------------------------------------------------------------------

PARTITION = f"p1/{DAY}.parquet"
FIRST_TASK = f"pass p1, {DAY}, batch 0"
LAYERS = {
    # Basalt's layer: (requests answered 503, how many, what Basalt retries, how often).
    # boto3 makes one attempt; polars makes two even with POLARS_CLOUD_MAX_RETRIES=0.
    "data root": (reads("list-type=2"), 1, "reading {lake}", 1),
    "planning": (reads(REFERENCE, "Boto3"), 2, f"planning {DAY}", 2),
    "task": (reads(TRADES, "polars"), 2, FIRST_TASK, 1),
    "partition write": (writes("/out/"), 2, "writing {out}/" + PARTITION, 1),
}


def output_root(layer: str, bucket: str, tmp_path: Path) -> str:
    """Where the pass writes: the bucket when its writes are faulted, else a local directory."""
    return f"s3://{bucket}/out" if layer == "partition write" else str(tmp_path / "out")


def read_output(location: str) -> pl.DataFrame:
    """The output at ``location``, read straight from the S3 server if it is there."""
    options = S3Storage({}).polars_options if location.startswith("s3://") else None
    return pl.read_parquet(location, storage_options=options)


def test_without_faults_the_proxy_is_transparent(
    lake_url: str,
    s3_bucket: str,
    expected: pl.DataFrame,
    runner: Runner,
    proxies: Callable[..., FaultyProxy],
) -> None:
    """Through the proxy, without faults: no retry, and the output of the local lake."""
    proxy = proxies()
    out = f"s3://{s3_bucket}/out"
    outcome = runner.run(config(lake_url, out, proxy.endpoint))
    assert (outcome.ok, outcome.failures, outcome.retries) == (True, [], [])
    assert outcome.outputs == [f"{out}/{PARTITION}"]
    assert proxy.count("forwarded") == len(proxy.answers) > 0
    assert read_output(outcome.outputs[0]).equals(expected)


@pytest.mark.parametrize("layer", list(LAYERS))
def test_throttling_is_retried_by_basalt(
    layer: str,
    lake_url: str,
    s3_bucket: str,
    expected: pl.DataFrame,
    runner: Runner,
    proxies: Callable[..., FaultyProxy],
    tmp_path: Path,
) -> None:
    """A few 503s: Basalt retries the layer that met them and the output is unchanged."""
    throttle, count, what, tries = LAYERS[layer]
    proxy = proxies(throttle=throttle, throttled=count)
    out = output_root(layer, s3_bucket, tmp_path)
    outcome = runner.run(config(lake_url, out, proxy.endpoint))
    assert (outcome.ok, outcome.failures) == (True, [])
    assert proxy.count("503") == count
    assert outcome.retried == [what.format(lake=lake_url, out=out)] * tries
    assert all("SlowDown" in message for message in outcome.retries), outcome.retries
    assert outcome.outputs == [f"{out}/{PARTITION}"]
    assert read_output(outcome.outputs[0]).equals(expected)


@pytest.mark.parametrize(
    ("throttle", "label", "what", "error", "answered"),
    [
        # planning: one footer GET (boto3) per attempt
        pytest.param(
            reads(REFERENCE),
            f"pass p1, {DAY}, planning (partition {DAY}_{DAY})",
            f"planning {DAY}",
            rf"{REFERENCE}: cannot read parquet metadata .*SlowDown",
            2,
            id="planning",
        ),
        # the task: two GETs (polars) per attempt, then two more to find the unreadable file
        pytest.param(
            reads(TRADES, "polars"),
            f"{FIRST_TASK} (partition {DAY}_{DAY})",
            FIRST_TASK,
            rf"{TRADES}: cannot be read as the trades table .*status code: 503",
            6,
            id="task",
        ),
    ],
)
def test_throttling_beyond_the_retries_fails_the_partition(
    throttle: Match,
    label: str,
    what: str,
    error: str,
    answered: int,
    lake_url: str,
    runner: Runner,
    proxies: Callable[..., FaultyProxy],
    tmp_path: Path,
) -> None:
    """503s outlasting IO_RETRIES fail the partition, naming the file; nothing is written."""
    proxy = proxies(throttle=throttle, throttled=10_000)
    out, scratch = tmp_path / "out", tmp_path / "scratch"
    scratch.mkdir()
    raw = config(lake_url, str(out), proxy.endpoint, IO_RETRIES=1, TEMP_DIR=str(scratch))
    outcome = runner.run(raw)
    assert not outcome.ok
    [failure] = outcome.failures
    assert failure["label"] == label
    assert re.search(f"^{lake_url}/{error}", failure["error"]), failure["error"]
    assert outcome.retried == [what]
    assert proxy.count("503") == answered
    assert (outcome.outputs, outcome.failed) == ([], [str(out / PARTITION)])
    assert files_under(tmp_path) == []


def test_throttled_writes_beyond_the_retries_leave_nothing(
    lake_url: str,
    s3_bucket: str,
    s3_client: Any,
    runner: Runner,
    proxies: Callable[..., FaultyProxy],
) -> None:
    """A partition write throttled beyond IO_RETRIES leaves no object in the bucket."""
    proxy = proxies(throttle=writes("/out/"), throttled=10_000)
    location = f"s3://{s3_bucket}/out/{PARTITION}"
    outcome = runner.run(config(lake_url, f"s3://{s3_bucket}/out", proxy.endpoint, IO_RETRIES=1))
    assert not outcome.ok
    [failure] = outcome.failures
    assert (failure["writing"], failure["label"]) == (
        True,
        f"pass p1, writing partition {DAY}_{DAY}",
    )
    assert failure["error"].startswith(f"{location}: cannot write"), failure["error"]
    assert "SlowDown" in failure["error"]
    assert outcome.retried == [f"writing {location}"]
    assert proxy.count("503") == 4  # two PUTs by polars per attempt
    assert (outcome.outputs, outcome.failed) == ([], [location])
    assert s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="out/")["KeyCount"] == 0


# --- the server stops for a moment ---------------------------------------------------------------

OUTAGES = {
    # where the outage starts: (the request that starts it, what Basalt retries)
    "data root": (reads("list-type=2"), "reading {lake}"),
    "planning": (reads(REFERENCE, "Boto3"), f"planning {DAY}"),
    "task": (reads(TRADES, "polars"), FIRST_TASK),
    "partition write": (writes("/out/"), "writing {out}/" + PARTITION),
}
CONNECTION_FAILED = (
    r"Connection was closed|Could not connect|Connection reset|Connection refused|connection closed"
)


@pytest.mark.parametrize("layer", list(OUTAGES))
def test_a_short_outage_is_ridden_out(
    layer: str,
    lake_url: str,
    s3_bucket: str,
    expected: pl.DataFrame,
    runner: Runner,
    proxies: Callable[..., FaultyProxy],
    tmp_path: Path,
) -> None:
    """The server refuses and drops connections for 1 s: Basalt's backoff (0.5 s, 1 s, ...)
    outlasts it and the output is unchanged."""
    stop, what = OUTAGES[layer]
    proxy = proxies(stop=stop, outage=1.0)
    out = output_root(layer, s3_bucket, tmp_path)
    started = time.monotonic()
    outcome = runner.run(config(lake_url, out, proxy.endpoint))
    assert (outcome.ok, outcome.failures) == (True, [])
    assert (proxy.stopped, proxy.restarted.is_set()) == (True, True)
    assert proxy.count("reset") >= 1
    assert time.monotonic() - started >= 1.0  # the run waited for the server
    assert set(outcome.retried) == {what.format(lake=lake_url, out=out)}
    failed = [m for m in outcome.retries if not re.search(CONNECTION_FAILED, m)]
    assert failed == []
    assert read_output(outcome.outputs[0]).equals(expected)


# --- is_transient ---------------------------------------------------------------------------------


def raised(error: BaseException, cause: BaseException | None = None) -> BaseException:
    """``error`` as raised ``from cause``."""
    try:
        raise error from cause
    except BaseException as exc:
        return exc


def suppressed(error: BaseException, handled: BaseException) -> BaseException:
    """``error`` raised ``from None`` while ``handled`` was being handled."""
    try:
        try:
            raise handled
        except type(handled):
            raise error from None
    except type(error) as raised_error:
        return raised_error


def client_error(code: str, status: int) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": "Please reduce your request rate."},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "GetObject")


def polars_error(status: str) -> OSError:
    """How polars' object store reports an HTTP error of a GET."""
    return OSError(
        "object-store error: Generic S3 error: Error performing GET "
        "http://127.0.0.1:9000/bucket/key.parquet in 1.2ms - Server returned non-2xx "
        f"status code: {status}:  (path: s3://bucket/key.parquet)"
    )


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        pytest.param(
            raised(DataError("s3://b/k: cannot read"), client_error("SlowDown", 503)),
            True,
            id="DataError-from-ClientError-503-SlowDown",
        ),
        pytest.param(TransientError("s3://b/k: cannot read"), True, id="TransientError"),
        pytest.param(
            raised(
                DataError("s3://b/k: cannot read"),
                ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
            ),
            True,
            id="DataError-from-ConnectionRefusedError",
        ),
        pytest.param(polars_error("503 Service Unavailable"), True, id="polars-503"),
        pytest.param(polars_error("500 Internal Server Error"), True, id="polars-500"),
        pytest.param(polars_error("429 Too Many Requests"), True, id="polars-429"),
        pytest.param(
            raised(DataError("s3://b/k: cannot write"), polars_error("503 Service Unavailable")),
            True,
            id="DataError-from-polars-503",
        ),
        pytest.param(polars_error("404 Not Found"), False, id="polars-404"),
        pytest.param(
            raised(DataError("s3://b/k: cannot read"), client_error("NoSuchKey", 404)),
            False,
            id="DataError-from-ClientError-404",
        ),
        pytest.param(DataError("s3://b/k: not a Parquet file"), False, id="DataError"),
        pytest.param(
            TableSchemaError("s3://b/k", "trades", ["Price"]), False, id="TableSchemaError"
        ),
        pytest.param(ValueError("bad value"), False, id="ValueError"),
        pytest.param(ValueError("a timeout column"), False, id="ValueError-naming-a-timeout"),
        pytest.param(
            suppressed(DataError("s3://b/k: not a Parquet file"), ConnectionResetError()),
            False,
            id="DataError-raised-from-None-while-a-transient-one-was-handled",
        ),
    ],
)
def test_is_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_a_bucket_check_answered_by_throttling_is_not_taken_for_an_answer(
    s3_bucket: str, proxies: Callable[..., FaultyProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A throttled HEAD of the bucket neither says "no such object" nor is remembered."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    proxy = proxies(throttle=lambda r: r.method == "HEAD" and r.path.count("/") == 1, throttled=1)
    storage = S3Storage({"endpoint_url": proxy.endpoint})
    with pytest.raises(TransientError, match=r"SlowDown|503"):
        storage.exists(f"s3://{s3_bucket}/missing.parquet")
    assert storage.exists(f"s3://{s3_bucket}/missing.parquet") is False  # asked again
    with pytest.raises(DataError, match="bucket no-such-bucket-here does not exist"):
        storage.exists("s3://no-such-bucket-here/x.parquet")


def test_real_client_errors_are_transient(
    s3_bucket: str, proxies: Callable[..., FaultyProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What boto3 (through the S3 layer) and polars raise for 503s and refused connections."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    throttling = proxies(throttle=lambda r: True, throttled=10_000)
    url = f"s3://{s3_bucket}/x.parquet"
    for endpoint in [throttling.endpoint, "http://127.0.0.1:1"]:
        storage = S3Storage({"endpoint_url": endpoint})
        with pytest.raises(TransientError) as boto:
            storage.metadata(url)
        options: dict[str, Any] = {**storage.polars_options, "max_retries": 0}
        with pytest.raises(OSError) as polars:
            pl.scan_parquet(url, storage_options=options).collect()
        assert (is_transient(boto.value), is_transient(polars.value)) == (True, True)
    assert throttling.count("503") == 3  # one GET by boto3, two by polars
