"""``contam benches fetch`` against local HTTP servers: no network needed."""

import functools
import http.server
import socket
import tarfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, shared_data

from contam.benches import registry, resolve_bench
from contam.cli import cli
from contam.errors import BenchError
from contam.fetch import fetch_bench

Serve = Callable[[Path], str]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Serve]:
    """``serve(folder)`` -> base URL of a server on 127.0.0.1 for that folder; all stopped after."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def mirror(serve: Serve) -> str:
    return serve(shared_data()) + "/benchmarks"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache: ``$CONTAM_CACHE_DIR/benchmarks``, and no ``$CONTAM_BENCH_DIR``."""
    monkeypatch.setenv("CONTAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CONTAM_BENCH_DIR", raising=False)
    return tmp_path / "cache" / "benchmarks"


def test_fetch_from_mirror_then_resolve_from_cache(mirror: str, cache: Path) -> None:
    lines = list(fetch_bench("gsm8k", splits=("test",), mirror=mirror, dest=cache))
    assert lines == [f"gsm8k:test: 1,319 items, sha256 ok -> {cache}"]
    fetched = cache / "gsm8k" / "test.jsonl"
    assert fetched.read_bytes() == (shared_data() / "benchmarks/gsm8k/test.jsonl").read_bytes()
    assert sorted(p.name for p in cache.iterdir()) == ["gsm8k"]  # no staging folder left
    assert not (cache / "gsm8k" / "train.jsonl").exists()
    source = resolve_bench("gsm8k", bench_dir=None)
    assert source.files == ((fetched, {"split": "test"}),)
    assert source.checksum == registry()["gsm8k"].splits["test"].sha256


def test_fetch_from_archive(
    tmp_path: Path, serve: Serve, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subjects = registry()["mmlu"].splits["test"].files
    assert len(subjects) == 57
    served = tmp_path / "served"
    served.mkdir()
    with tarfile.open(served / "data.tar", "w") as tar:
        tar.add(REPO / "README.md", arcname="data/README.md")  # members off the layout are ignored
        for rel, _ in subjects:
            tar.add(shared_data() / "benchmarks" / rel, arcname="data/" + rel.removeprefix("mmlu/"))
    meta = tmp_path / "meta"
    meta.mkdir()
    toml = (REPO / "benchmarks_meta" / "mmlu.toml").read_text()
    official = 'archive_url = "https://people.eecs.berkeley.edu/~hendrycks/data.tar"'
    assert official in toml
    url = serve(served) + "/data.tar"
    (meta / "mmlu.toml").write_text(toml.replace(official, f'archive_url = "{url}"'))
    monkeypatch.setenv("CONTAM_META_DIR", str(meta))

    assert list(fetch_bench("mmlu", splits=("test",))) == [
        f"mmlu:test: 14,042 items, sha256 ok -> {cache}"
    ]
    files = sorted((cache / "mmlu" / "test").iterdir())
    assert [f.name for f in files] == sorted(f"{v['subject']}_test.csv" for _, v in subjects)
    assert sorted(p.name for p in cache.iterdir()) == ["mmlu"]
    assert resolve_bench("mmlu").files[0][0] == cache / "mmlu/test/abstract_algebra_test.csv"


def test_corrupted_mirror_fails_the_checksum_and_keeps_nothing(
    tmp_path: Path, serve: Serve, cache: Path
) -> None:
    data = bytearray((shared_data() / "benchmarks/gsm8k/test.jsonl").read_bytes())
    data[1000] ^= 1  # one bit of one byte
    bad = tmp_path / "bad" / "gsm8k" / "test.jsonl"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(bytes(data))
    with pytest.raises(BenchError) as err:
        list(fetch_bench("gsm8k", splits=("test",), mirror=serve(tmp_path / "bad"), dest=cache))
    assert str(err.value).startswith("gsm8k:test: downloaded files fail the checksum (sha256 ")
    assert str(err.value).endswith("; nothing was kept")
    assert not cache.exists() or list(cache.iterdir()) == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_unreachable_mirror(cache: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/benchmarks"
    with pytest.raises(BenchError) as err:
        list(fetch_bench("gsm8k", splits=("test",), mirror=url, dest=cache))
    assert str(err.value).startswith(f"cannot download {url}/gsm8k/test.jsonl (")
    assert "use --mirror, or point --bench-dir at a local copy" in str(err.value)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_unknown_bench_and_split(cache: Path) -> None:
    with pytest.raises(BenchError, match="unknown bench 'nosuch'; known: "):
        list(fetch_bench("nosuch", dest=cache))
    with pytest.raises(BenchError, match="gsm8k has no split 'dev'; splits: test, train"):
        list(fetch_bench("gsm8k", splits=("dev",), dest=cache))


def test_cli_fetch(mirror: str, cache: Path) -> None:
    result = CliRunner().invoke(
        cli, ["benches", "fetch", "gsm8k", "--split", "test", "--mirror", mirror]
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"gsm8k:test: 1,319 items, sha256 ok -> {cache}\n"
    assert (cache / "gsm8k" / "test.jsonl").is_file()


def test_cli_fetch_error_is_one_line(cache: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = CliRunner().invoke(
        cli, ["benches", "fetch", "gsm8k", "--split", "test", "--mirror", url]
    )
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot download {url}/gsm8k/test.jsonl (")
    assert result.output.count("\n") == 1
