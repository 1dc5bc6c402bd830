"""The Ray engine: the local engine's report, byte for byte; resume across engines; errors.

The Ray runtime is local (2 CPUs, loopback only) and shared by the module's tests. Without the
``ray`` extra these tests skip, except under CI, where they fail.
"""

from __future__ import annotations

import gzip
import importlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from contam import ray_engine
from contam.cli import cli
from contam.config import ScanConfig
from contam.errors import ConfigError, ShardError
from contam.ray_engine import INSTALL_LINE, start_local_runtime
from contam.scan import resolve_benches, scan
from tests.conftest import REPO, SHARED, TINY_ITEMS, write_jsonl
from tests.test_scan import tiny_corpus

REPORTS = ("items", "matches", "benches")
# `contam.scan` is the function; the module is reached by name.
scan_module = importlib.import_module("contam.scan")


def import_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("ray is missing; CI installs it with: pip install -e '.[test,ray]'")
        pytest.skip("ray is not installed (pip install 'contam[ray]')")
    return ray


@pytest.fixture(scope="module")
def ray_runtime() -> Any:
    ray = import_ray()
    # as on a machine where a cluster runs (`ray start` names it to ray.init so): the scan's
    # own runtime must still start, not join it, nor fail on num_cpus
    saved = os.environ.get("RAY_ADDRESS")
    os.environ["RAY_ADDRESS"] = "127.0.0.1:9"
    try:
        start_local_runtime(2)
    finally:
        if saved is None:
            del os.environ["RAY_ADDRESS"]
        else:
            os.environ["RAY_ADDRESS"] = saved
    yield ray
    ray.shutdown()


def corpus(root: Path) -> Path:
    """The hand-checked tiny corpus, whole copies of the items, a non-ASCII document, a
    gzipped shard, a bad record and a cut shard (``--skip-bad``), and a real shard if present."""
    tiny_corpus(root)
    copies = [{"id": r["id"], "text": f"{r['text']}\n{r['answer']}"} for r in TINY_ITEMS]
    write_jsonl(root / "copies.jsonl", copies)
    doc = "«Ｔｈｅ ｑｕｉｃｋ brown fox jumps over» the lazy dog!"
    write_jsonl(root / "w.jsonl", [{"id": "w", "text": doc}])
    lines = [
        json.dumps({"text": f"line {k}: what is the sum of seven and five"}) for k in range(50)
    ]
    (root / "z.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    (root / "broken.jsonl").write_bytes(b'{"text": "ok"}\n{"text": \n')
    (root / "cut.jsonl.gz").write_bytes(gzip.compress(b'{"text": "a"}\n' * 50)[:-12])
    real = SHARED / "corpus" / "chinese" / "zh_wikipedia_ud_gsdsimp.jsonl"
    if real.is_file():
        (root / "real.jsonl").symlink_to(real)
    return root


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shards are named relative to here: a Ray worker reads them at their absolute path,
    and the report still names them as given."""
    monkeypatch.chdir(tmp_path)


def run(tmp_path: Path, bench: Path, config: ScanConfig, out: str, **kw: Any) -> dict[str, Any]:
    """Scan ``corpus`` (in ``tmp_path``) into ``tmp_path/out``; its tables and run.json."""
    sources = resolve_benches([str(bench)], config, label_fields=("answer",))
    scan("corpus", sources, tmp_path / out, config, **kw)
    report: dict[str, Any] = {
        name: sorted_table(tmp_path / out / f"{name}.parquet") for name in REPORTS
    }
    report["run"] = json.loads((tmp_path / out / "run.json").read_text())
    return report


def sorted_table(path: Path) -> pa.Table:
    table = pq.read_table(path)
    return table.sort_by([(name, "ascending") for name in table.column_names])


def configs(tiny: ScanConfig, **kw: Any) -> ScanConfig:
    return ScanConfig(ngram=tiny.ngram, index_dir=tiny.index_dir, quiet=True, skip_bad=True, **kw)


@pytest.fixture
def local_report(tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig) -> dict[str, Any]:
    corpus(tmp_path / "corpus")
    return run(tmp_path, tiny_bench, configs(tiny_config, workers=2), "local")


def assert_same_report(got: dict[str, Any], want: dict[str, Any]) -> None:
    for name in REPORTS:
        assert got[name].schema == want[name].schema
        assert got[name].equals(want[name]), name
    for key in ("plan", "shards", "totals", "skipped_records", "skipped_shards"):
        assert got["run"][key] == want["run"][key], key


def test_local_runtime_listens_on_loopback_only(ray_runtime: Any) -> None:
    assert ray_runtime.util.get_node_ip_address() == "127.0.0.1"
    assert ray_runtime.cluster_resources()["CPU"] == 2


@pytest.mark.parametrize("threads", [1, 2])  # two tasks at once on the 2 CPUs, or one
def test_ray_report_equals_local_report(
    ray_runtime: Any, tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig,
    local_report: dict[str, Any], threads: int,
) -> None:  # fmt: skip
    got = run(tmp_path, tiny_bench, configs(tiny_config, engine="ray", threads=threads), "ray")
    assert_same_report(got, local_report)
    # the report is not vacuous: planted copies matched, the broken shard was skipped
    assert got["matches"].num_rows >= 6
    assert sum(got["items"].column("contaminated").to_pylist()) >= 3
    assert [Path(s).name for s in got["run"]["skipped_shards"]] == ["cut.jsonl.gz"]
    assert got["run"]["skipped_records"] == 1
    assert ray_runtime.is_initialized()  # a runtime it did not start stays up


def test_scan_starts_and_stops_its_own_runtime(
    tmp_path: Path, tiny_bench: Path, local_report: dict[str, Any]
) -> None:
    """No runtime running: the scan starts one with --workers x --threads CPUs and shuts it
    down."""
    import_ray()
    code = f"""
from pathlib import Path
import ray
from contam.config import ScanConfig
from contam.scan import resolve_benches, scan
from tests.conftest import TINY_NGRAM
config = ScanConfig(ngram=TINY_NGRAM, index_dir=Path({str(tmp_path / "indexes")!r}), quiet=True,
                    skip_bad=True, engine="ray", workers=2)
sources = resolve_benches([{str(tiny_bench)!r}], config, label_fields=("answer",))
scan("corpus", sources, {str(tmp_path / "own")!r}, config)
assert not ray.is_initialized()
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True, timeout=120)
    got = {name: sorted_table(tmp_path / "own" / f"{name}.parquet") for name in REPORTS}
    got["run"] = json.loads((tmp_path / "own" / "run.json").read_text())
    assert_same_report(got, local_report)


def test_ray_scan_killed_halfway_resumes_missing_shards_only(
    ray_runtime: Any, tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig,
    local_report: dict[str, Any],
) -> None:  # fmt: skip
    committed: list[int] = []

    def killed_after_first(raw: int, docs: int) -> None:
        committed.append(docs)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, tiny_bench, configs(tiny_config, engine="ray"), "killed",
            progress=killed_after_first)  # fmt: skip
    shards = tmp_path / "killed" / "shards"
    (first,) = [p for p in shards.iterdir()]  # one commit; the cancelled tasks left none
    stamp = first.stat().st_mtime_ns
    assert json.loads((tmp_path / "killed" / "run.json").read_text())["status"] == "running"

    resumed: list[int] = []
    got = run(tmp_path, tiny_bench, configs(tiny_config, engine="ray", resume=True), "killed",
              progress=lambda raw, docs: resumed.append(docs))  # fmt: skip
    assert_same_report(got, local_report)
    assert len(resumed) == len(got["run"]["shards"]) - 1  # every shard but the committed one
    assert sum(resumed) + committed[0] == got["run"]["totals"]["docs"]
    assert first.stat().st_mtime_ns == stamp


def test_ray_scan_resumed_by_the_local_engine(
    ray_runtime: Any, tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig,
    local_report: dict[str, Any],
) -> None:  # fmt: skip
    """Engine and address are not part of the plan: a Ray scan may be finished locally."""

    def killed(raw: int, docs: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, tiny_bench, configs(tiny_config, engine="ray"), "killed", progress=killed)
    got = run(tmp_path, tiny_bench, configs(tiny_config, resume=True), "killed")
    assert_same_report(got, local_report)


def test_more_threads_than_any_node_has_cpus_is_an_error(
    ray_runtime: Any, tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig
) -> None:
    """A task reserving 3 CPUs would wait forever on 2-CPU nodes: the scan says so instead,
    before it writes anything, so the same scan with fewer threads can follow."""
    tiny_corpus(tmp_path / "corpus")
    config = ScanConfig(
        ngram=tiny_config.ngram, index_dir=tiny_config.index_dir, engine="ray", threads=3
    )
    with pytest.raises(
        ConfigError, match=r"no Ray node has the 3 CPUs a task reserves .*largest has 2"
    ):
        run(tmp_path, tiny_bench, config, "out")
    assert not (tmp_path / "out").exists()
    done = run(tmp_path, tiny_bench, replace(config, threads=2), "out")
    assert done["run"]["status"] == "complete"


def test_shard_error_in_a_task_is_raised_as_it_was(
    ray_runtime: Any, tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig
) -> None:
    tiny_corpus(tmp_path / "corpus")
    (tmp_path / "corpus" / "broken.jsonl").write_bytes(b'{"text": "ok"}\n{"text": \n')
    config = ScanConfig(ngram=tiny_config.ngram, index_dir=tiny_config.index_dir, engine="ray")
    with pytest.raises(ShardError) as caught:
        run(tmp_path, tiny_bench, config, "out")
    assert type(caught.value).__module__ == "contam.errors"  # not Ray's wrapper of it
    assert str(caught.value).startswith("corpus/broken.jsonl:2: invalid JSON")
    assert "\n" not in str(caught.value)


def test_shard_missing_on_a_node_stops_the_scan_even_with_skip_bad(
    ray_runtime: Any, tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A shard the driver found but a worker cannot read means a node without the shared
    filesystem: not a bad shard to skip (and never retry on resume)."""
    tiny_corpus(tmp_path / "corpus")
    found = scan_module.corpus_files
    gone = Path("corpus/gone.jsonl")

    def with_gone(specs: list[str]) -> tuple[list[Path], list[Path]]:
        shards, others = found(specs)
        return [*shards, gone], others

    monkeypatch.setattr(scan_module, "corpus_files", with_gone)
    with pytest.raises(ConfigError, match=f"^{gone}: not found on Ray node 127.0.0.1; every"):
        run(tmp_path, tiny_bench, configs(tiny_config, engine="ray"), "out")


def test_missing_ray_fails_early_with_the_install_line(
    tmp_path: Path, tiny_bench: Path, tiny_config: ScanConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` sees without the extra
    tiny_corpus(tmp_path / "corpus")
    config = configs(tiny_config, engine="ray")
    with pytest.raises(
        ConfigError, match=r"^the Ray engine needs the ray extra: pip install 'contam\[ray\]'$"
    ):
        run(tmp_path, tiny_bench, config, "out")
    assert not (tmp_path / "out").exists() and not tiny_config.index_dir.exists()

    result = CliRunner().invoke(
        cli,
        ["scan", str(tmp_path / "corpus"), "--bench", str(tiny_bench), "--out",
         str(tmp_path / "out"), "--index-dir", str(tiny_config.index_dir), "--engine", "ray"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.output == f"Error: {INSTALL_LINE}\n"


def test_a_runtime_that_cannot_start_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    ray = import_ray()

    def refuse(cpus: int) -> None:
        raise RuntimeError("Failed to start the GCS\n(a page of Ray's own log)")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray_engine, "start_local_runtime", refuse)
    with pytest.raises(
        ConfigError, match=r"^cannot start Ray on this machine \(Failed to start the GCS\)$"
    ):
        ray_engine.connect(None, 2)


@pytest.mark.parametrize("address", ["127.0.0.1:9", "ray://127.0.0.1:9"])
def test_an_address_where_nothing_answers_fails_at_once(
    address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ray = import_ray()
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda **kw: pytest.fail("ray.init retries for minutes"))
    message = f"^cannot join the Ray cluster at {address}: nothing answers there \\("
    with pytest.raises(ConfigError, match=message):
        ray_engine.connect(address, 2)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"engine": "spark"}, "unknown engine 'spark'; choose one of local, ray"),
        ({"address": "auto"}, "--address names a Ray cluster: add --engine ray"),
    ],
)
def test_engine_settings_checked(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{message}$"):
        ScanConfig(**kw)


def test_engine_and_address_are_not_settings_of_the_report() -> None:
    local = ScanConfig(workers=2).to_json()
    assert ScanConfig(engine="ray", address="ray://head:10001").to_json() == local
    assert "engine" not in local and "address" not in local
