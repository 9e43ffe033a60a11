"""``S3Storage`` against a real S3-compatible server (moto, started by the test session)."""

from __future__ import annotations

import datetime as dt
import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
    SSLError,
)

from basalt import s3
from basalt.config.loading import Pipeline, validate_config
from basalt.errors import ConfigError, DataError
from basalt.lake import Lake
from basalt.runner import run_pipeline
from basalt.s3 import S3Storage, is_transient
from basalt.sampledata import generate_lake
from basalt.tables import L2Table, TradesTable
from basalt.timebuckets import BucketSpec

DAY = dt.date(2024, 3, 4)
FRAME = pl.DataFrame({"ListingId": [1, 1, 2], "Price": [10.0, 10.5, 20.0]})


def parquet_bytes(frame: pl.DataFrame, **options: Any) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, **options)
    return buffer.getvalue()


def put(client: Any, bucket: str, key: str, body: bytes = b"") -> str:
    client.put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


def upload_tree(client: Any, local: Path, bucket: str, prefix: str) -> None:
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(local).as_posix()}"
        client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())


def client_error(code: str, status: int) -> ClientError:
    response: Any = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "GetObject")


@pytest.fixture
def storage(s3_bucket: str) -> S3Storage:
    """Storage configured by the standard AWS variables alone."""
    return S3Storage({})


@pytest.fixture
def slow_down_endpoint() -> Iterator[str]:
    """A server answering every request with ``503 SlowDown``, as S3 does when throttling."""

    class SlowDown(http.server.BaseHTTPRequestHandler):
        def answer(self) -> None:
            body = (
                b"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>"
            )
            self.send_response(503)
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

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowDown)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


# --- the Storage methods ------------------------------------------------------------------------


def test_exists(storage: S3Storage, s3_client: Any, s3_bucket: str) -> None:
    url = put(s3_client, s3_bucket, "a/b/file.parquet", b"x")
    assert storage.exists(url)
    assert not storage.exists(f"s3://{s3_bucket}/a/b/other.parquet")
    assert not storage.exists(f"s3://{s3_bucket}/a/b")  # a prefix is not a file


def test_exists_in_a_missing_bucket_names_the_path(storage: S3Storage) -> None:
    with pytest.raises(DataError, match=r"s3://no-such-bucket/x\.parquet: bucket no-such-bucket"):
        storage.exists("s3://no-such-bucket/x.parquet")


def test_list_dirs(storage: S3Storage, s3_client: Any, s3_bucket: str) -> None:
    for key in [
        "lake/Trades-Plus/XLON/2024/03/04/t.parquet",
        "lake/Trades-Plus/XPAR/2024/03/04/t.parquet",
        "lake/Trades-Plus/XAMS/2024/03/04/t.parquet",
        "lake/Trades-Plus/readme.txt",
        "lake/Equity/XLON/2024/03/04/e.parquet",
        "other/x.parquet",
    ]:
        put(s3_client, s3_bucket, key)
    root = f"s3://{s3_bucket}"
    assert storage.list_dirs(f"{root}/lake/Trades-Plus") == ["XAMS", "XLON", "XPAR"]
    assert storage.list_dirs(f"{root}/lake/Trades-Plus/") == ["XAMS", "XLON", "XPAR"]
    assert storage.list_dirs(f"{root}/lake") == ["Equity", "Trades-Plus"]
    assert storage.list_dirs(root) == ["lake", "other"]
    assert storage.list_dirs(f"{root}/lake/Trades-Plus/XLON/2024/03/04") == []
    assert storage.list_dirs(f"{root}/missing") == []


def test_glob_and_remove(storage: S3Storage, s3_client: Any, s3_bucket: str) -> None:
    for key in ("out/p1/2024-03-04_2024-03-08.parquet", "out/p1/2024-03-06_2024-03-06.parquet",
                "out/p2/2024-03-04_2024-03-08.parquet", "out/p1/notes.txt"):  # fmt: skip
        s3_client.put_object(Bucket=s3_bucket, Key=key, Body=b"x")
    found = storage.glob(f"s3://{s3_bucket}/out/p1/*_*.parquet")
    assert found == [
        f"s3://{s3_bucket}/out/p1/2024-03-04_2024-03-08.parquet",
        f"s3://{s3_bucket}/out/p1/2024-03-06_2024-03-06.parquet",
    ]
    storage.remove(found[1])
    assert storage.glob(f"s3://{s3_bucket}/out/p1/*_*.parquet") == found[:1]


def test_list_dirs_reads_every_page(
    storage: S3Storage, s3_client: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3, "_LIST_PAGE_SIZE", 2)
    mics = ["XAMS", "XBRU", "XLIS", "XLON", "XPAR"]
    for mic in reversed(mics):
        put(s3_client, s3_bucket, f"Reference/{mic}/r.parquet")
    assert storage.list_dirs(f"s3://{s3_bucket}/Reference") == mics


def test_list_dirs_of_a_missing_bucket_names_the_path(storage: S3Storage) -> None:
    with pytest.raises(DataError, match=r"s3://no-such-bucket/lake: cannot list .*NoSuchBucket"):
        storage.list_dirs("s3://no-such-bucket/lake")


@pytest.mark.parametrize(
    ("columns", "row_group_size"),
    [(2, 1000), (400, 20)],
    ids=["small-file", "large-footer"],
)
def test_metadata_equals_the_local_footer(
    storage: S3Storage,
    s3_client: Any,
    s3_bucket: str,
    tmp_path: Path,
    columns: int,
    row_group_size: int,
) -> None:
    frame = pl.DataFrame({f"Column{i}": range(i, i + 500) for i in range(columns)})
    local = tmp_path / "file.parquet"
    frame.write_parquet(local, row_group_size=row_group_size, statistics=True)
    url = put(s3_client, s3_bucket, "f/file.parquet", local.read_bytes())
    expected = pq.read_metadata(local)
    assert (expected.serialized_size > s3._FOOTER_READ) == (columns > 2)  # two ranged GETs
    metadata = storage.metadata(url)
    assert metadata.equals(expected)
    assert metadata.num_rows == 500
    assert storage.schema(url) == frame.schema


def test_metadata_errors_name_the_path(storage: S3Storage, s3_client: Any, s3_bucket: str) -> None:
    text = put(s3_client, s3_bucket, "notes.txt", b"not a parquet file at all")
    with pytest.raises(DataError, match=rf"{text}: not a Parquet file"):
        storage.metadata(text)
    truncated = put(s3_client, s3_bucket, "cut.parquet", parquet_bytes(FRAME)[-40:])
    with pytest.raises(DataError, match=rf"{truncated}: corrupt Parquet footer"):
        storage.metadata(truncated)
    missing = f"s3://{s3_bucket}/missing.parquet"
    with pytest.raises(DataError, match=rf"{missing}: cannot read the Parquet footer.*NoSuchKey"):
        storage.metadata(missing)


def test_write_parquet_then_read_back(storage: S3Storage, s3_bucket: str) -> None:
    url = f"s3://{s3_bucket}/out/p1/result.parquet"
    storage.write_parquet(FRAME.lazy(), url)
    assert storage.exists(url)
    assert pl.read_parquet(url, storage_options=storage.polars_options).equals(FRAME)
    replacement = FRAME.with_columns(pl.col("Price") * 2)
    storage.write_parquet(replacement.lazy(), url)
    assert storage.scan_parquet(url).collect().equals(replacement)
    assert storage.metadata(url).row_group(0).column(0).compression == "ZSTD"


def test_write_parquet_to_a_missing_bucket_names_the_path(storage: S3Storage) -> None:
    with pytest.raises(DataError, match=r"s3://no-such-bucket/out\.parquet: cannot write"):
        storage.write_parquet(FRAME.lazy(), "s3://no-such-bucket/out.parquet")


def test_paths_must_be_s3_urls(storage: S3Storage) -> None:
    for path in ["/local/file.parquet", "gs://bucket/key", "s3:///key"]:
        with pytest.raises(DataError, match="not an s3://bucket/key URL"):
            storage.exists(path)


# --- configuration ------------------------------------------------------------------------------


def test_unknown_option_names_the_key_and_the_allowed_ones() -> None:
    with pytest.raises(ConfigError) as info:
        S3Storage({"endpoint": "http://localhost:9000", "region": "eu-west-2"})
    message = str(info.value)
    assert "unknown S3 storage option(s) endpoint;" in message
    assert "allowed: endpoint_url, region, profile, access_key_id" in message


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"access_key_id": "k"}, "both access_key_id and secret_access_key"),
        ({"session_token": "t"}, "session_token needs access_key_id"),
        ({"allow_http": "yes"}, "allow_http must be 'true' or 'false'"),
        ({"profile": "no-such-profile"}, "no-such-profile"),
    ],
)
def test_invalid_options(s3_bucket: str, options: dict[str, str], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        S3Storage(options)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"region": "not a region!"}, "not a region!"),
        ({"endpoint_url": "not-a-url"}, "not-a-url"),
    ],
)
def test_invalid_endpoint_or_region(s3_bucket: str, options: dict[str, str], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        S3Storage(options).exists(f"s3://{s3_bucket}/x.parquet")


def test_explicit_options_alone(
    s3_bucket: str, s3_options: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ALLOW_HTTP")
    storage = S3Storage({**s3_options, "session_token": "token"})
    assert storage.polars_options == {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "aws_session_token": "token",
        "aws_region": "us-east-1",
        "aws_endpoint_url": s3_options["endpoint_url"],
        "aws_allow_http": "true",
    }
    url = f"s3://{s3_bucket}/explicit.parquet"
    storage.write_parquet(FRAME.lazy(), url)
    assert storage.exists(url)
    assert storage.scan_parquet(url).collect().equals(FRAME)


def test_standard_aws_variables_alone(
    s3_bucket: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    monkeypatch.delenv("AWS_ALLOW_HTTP")  # an http:// endpoint allows HTTP by itself
    storage = S3Storage({})
    assert storage.polars_options == {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "aws_region": "eu-west-2",
        "aws_endpoint_url": s3_endpoint,
        "aws_allow_http": "true",
    }
    url = f"s3://{s3_bucket}/from-env.parquet"
    storage.write_parquet(FRAME.lazy(), url)
    assert storage.exists(url)
    assert storage.scan_parquet(url).collect().equals(FRAME)


def test_profile_from_the_shared_files(
    s3_bucket: str, s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text("[lake]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    storage = S3Storage({"profile": "lake", "region": "eu-west-1"})
    options = storage.polars_options
    assert (options["aws_access_key_id"], options["aws_region"]) == ("testing", "eu-west-1")
    assert storage.list_dirs(f"s3://{s3_bucket}") == []


def test_plain_http_refused_when_allow_http_is_false(
    s3_bucket: str, s3_options: dict[str, str]
) -> None:
    storage = S3Storage({**s3_options, "allow_http": "false"})
    with pytest.raises(ConfigError, match="plain HTTP but allow_http is false"):
        storage.exists(f"s3://{s3_bucket}/x.parquet")


def test_missing_credentials_are_reported_clearly(
    s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    storage = S3Storage({})
    url = f"s3://{s3_bucket}/x.parquet"
    with pytest.raises(DataError, match=rf"{url}: no AWS credentials found: set access_key_id"):
        storage.exists(url)
    with pytest.raises(DataError, match="no AWS credentials found"):
        storage.scan_parquet(url)


# --- transient errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (client_error("SlowDown", 503), True),
        (client_error("InternalError", 500), True),
        (client_error("ThrottlingException", 400), True),
        (client_error("TooManyRequests", 429), True),
        (client_error("NoSuchKey", 404), False),
        (client_error("AccessDenied", 403), False),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), True),
        (ConnectionResetError("reset by peer"), True),
        (TimeoutError("timed out"), True),
        (SSLError(endpoint_url="https://s3", error="certificate verify failed"), False),
        (NoCredentialsError(), False),
        (FileNotFoundError("object-store error: 404 Not Found"), False),
        (ValueError("bad value"), False),
    ],
)
def test_is_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient
    try:
        raise DataError("s3://b/k: cannot read") from error
    except DataError as wrapped:
        assert is_transient(wrapped) is transient


def test_connection_refused_is_transient(
    s3_bucket: str, s3_options: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    closed = {**s3_options, "endpoint_url": "http://127.0.0.1:1"}
    storage = S3Storage(closed)
    with pytest.raises(DataError, match=r"s3://bucket/x\.parquet: cannot check") as info:
        storage.exists("s3://bucket/x.parquet")
    assert is_transient(info.value)
    options: dict[str, Any] = {**storage.polars_options, "max_retries": 0}
    with pytest.raises(OSError) as polars_error:
        pl.scan_parquet("s3://bucket/x.parquet", storage_options=options).collect()
    assert is_transient(polars_error.value)


def test_throttling_is_transient(
    s3_bucket: str,
    s3_options: dict[str, str],
    slow_down_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    storage = S3Storage({**s3_options, "endpoint_url": slow_down_endpoint})
    with pytest.raises(DataError, match="SlowDown") as info:
        storage.metadata("s3://bucket/x.parquet")
    assert is_transient(info.value)
    options: dict[str, Any] = {**storage.polars_options, "max_retries": 0}
    with pytest.raises(OSError, match="503") as polars_error:
        pl.scan_parquet("s3://bucket/x.parquet", storage_options=options).collect()
    assert is_transient(polars_error.value)


# --- a lake on S3 -------------------------------------------------------------------------------


def test_lake_on_s3_scans_like_the_local_copy(
    s3_bucket: str, s3_client: Any, s3_options: dict[str, str], tmp_path: Path
) -> None:
    local = tmp_path / "lake"
    generate_lake(local, DAY, DAY, ["XLON"], listings=2, trades_per_listing=200)
    upload_tree(s3_client, local, s3_bucket, "lake")
    remote = Lake(f"s3://{s3_bucket}/lake", tuple(sorted(s3_options.items())))
    local_lake = Lake(str(local))
    assert remote.mics("Reference") == ["XLON"]
    assert remote.mics("Equity") == local_lake.mics("Equity")
    for table in (L2Table, TradesTable):
        expected = table.scan(local_lake, ["XLON"], [DAY], bucket=BucketSpec(60)).collect()
        result = table.scan(remote, ["XLON"], [DAY], bucket=BucketSpec(60)).collect()
        assert expected.height > 0
        assert result.equals(expected)
    days = [DAY, DAY + dt.timedelta(days=1)]  # the second day has no files
    filtered = L2Table.scan(remote, ["XLON"], days, listing_ids=[1000001]).collect()
    assert filtered.height > 0
    assert filtered.equals(
        L2Table.scan(local_lake, ["XLON"], [DAY], listing_ids=[1000001]).collect()
    )


def test_pipeline_reads_and_writes_s3(
    s3_bucket: str, s3_client: Any, s3_options: dict[str, str], tmp_path: Path
) -> None:
    local = tmp_path / "lake"
    generate_lake(local, DAY, DAY, ["XLON"], listings=2, trades_per_listing=200)
    upload_tree(s3_client, local, s3_bucket, "lake")

    def run(data_root: str, out: str) -> list[str]:
        raw = {
            "START_DATE": DAY.isoformat(),
            "DATA_ROOT": data_root,
            "S3_STORAGE_OPTIONS": s3_options,
            "UNIVERSE": "mic=XLON",
            "PASSES": [{"name": "p1", "modules": ["trade", "l2"], "time_bucket_seconds": 300}],
            "OUTPUT_TARGET": {"path_template": out + "/{pass}/{start_date}.parquet"},
            "EXECUTOR": "serial",
        }
        summary = run_pipeline(Pipeline(validate_config(raw), "test"))
        assert summary.ok
        return summary.passes[0].outputs

    remote_outputs = run(f"s3://{s3_bucket}/lake", f"s3://{s3_bucket}/out")
    local_outputs = run(str(local), str(tmp_path / "out"))
    assert remote_outputs == [f"s3://{s3_bucket}/out/p1/{DAY}.parquet"]
    result = pl.read_parquet(
        remote_outputs[0], storage_options=S3Storage(s3_options).polars_options
    )
    assert result.height > 0
    assert result.equals(pl.read_parquet(local_outputs[0]))
