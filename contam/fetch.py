"""``contam benches fetch``: download registry benches into the cache, verified by sha256.

Sources, from the bench's ``[source]`` table: a per-file URL (``files``, else ``base_url`` +
the layout path without ``layout_prefix``), or one archive (``archive_url``: tar, tar.gz or
zip) whose members under ``member_prefix`` map to the layout. ``--mirror URL`` instead reads
every file as ``URL/<layout path>`` from a server holding the original layout. Only files
named by the registry are written, so an archive cannot place files elsewhere.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

from contam.benches import BenchSpec, cache_dir, registry, split_digest
from contam.errors import BenchError

_TIMEOUT = 60


def fetch_bench(
    name: str,
    splits: tuple[str, ...] | None = None,
    mirror: str | None = None,
    dest: Path | None = None,
) -> Iterator[str]:
    """Fetch the splits of bench ``name`` into ``dest`` (the cache); yield a line per split.

    Example:
        >>> list(fetch_bench("gsm8k", mirror="http://127.0.0.1:8000/benchmarks"))  # doctest: +SKIP
        ['gsm8k:test: 1,319 items, sha256 ok -> /root/.cache/contam/benchmarks']
    """
    known = registry()
    if name not in known:
        raise BenchError(f"unknown bench {name!r}; known: {', '.join(known)}")
    spec = known[name]
    dest = Path(dest) if dest is not None else cache_dir()
    wanted = list(splits or spec.splits)
    for split in wanted:
        if split not in spec.splits:
            raise BenchError(f"{name} has no split {split!r}; splits: {', '.join(spec.splits)}")
    archive: bytes | None = None
    for split in wanted:
        s = spec.splits[split]
        layout = sorted({rel for rel, _ in s.files})
        staging = dest / f".fetch-{name}-{split}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            if mirror is None and "archive_url" in spec.source:
                archive = archive or _download(spec.source["archive_url"])
                _extract(archive, spec, layout, staging)
            else:
                for rel in layout:
                    _write(staging / rel, _download(_file_url(spec, rel, mirror)))
            digest = split_digest(staging, layout)
            if digest != s.sha256:
                raise BenchError(
                    f"{name}:{split}: downloaded files fail the checksum (sha256 {digest[:12]} "
                    f"!= {s.sha256[:12]}); nothing was kept"
                )
            for rel in layout:
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                (staging / rel).replace(dest / rel)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        yield f"{name}:{split}: {s.count:,} items, sha256 ok -> {dest}"


def _file_url(spec: BenchSpec, rel: str, mirror: str | None) -> str:
    if mirror is not None:
        return f"{mirror.rstrip('/')}/{rel}"
    source = spec.source
    if rel in source.get("files", {}):
        return str(source["files"][rel])
    prefix = source.get("layout_prefix", "")
    if "base_url" not in source or not rel.startswith(prefix):
        raise BenchError(f"{spec.path}: no download source for {rel}")
    return str(source["base_url"]) + rel[len(prefix) :]


def _download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT) as response:
            data: bytes = response.read()
            return data
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise BenchError(
            f"cannot download {url} ({reason}); check the network, or use --mirror, "
            "or point --bench-dir at a local copy"
        ) from e


def _extract(archive: bytes, spec: BenchSpec, layout: list[str], staging: Path) -> None:
    """Copy the members that map to ``layout`` out of a tar/zip archive."""
    prefix = spec.source.get("layout_prefix", "")
    member_prefix = spec.source.get("member_prefix", "")
    members = {member_prefix + rel[len(prefix) :]: rel for rel in layout}
    found: set[str] = set()
    if zipfile.is_zipfile(io.BytesIO(archive)):
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            for member in zf.namelist():
                if member in members:
                    _write(staging / members[member], zf.read(member))
                    found.add(member)
    else:
        try:
            with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
                for info in tf:
                    if info.isfile() and info.name in members:
                        data = tf.extractfile(info)
                        if data is not None:
                            _write(staging / members[info.name], data.read())
                            found.add(info.name)
        except tarfile.TarError as e:
            raise BenchError(f"{spec.source['archive_url']}: not a tar or zip archive ({e})") from e
    missing = sorted(set(members) - found)
    if missing:
        raise BenchError(f"{spec.name}: archive lacks {missing[0]} (and {len(missing) - 1} more)")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
