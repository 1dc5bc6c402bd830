"""The Ray engine: each shard a Ray task, each result committed by the driver.

    driver                                        Ray workers (one task per shard)
    ray.put(Matcher) ────── object store ───────> the Matcher, fetched once per process
    absolute shard path ────────────────────────> scan_shard(path) -> ShardCommit
    commit.write(OUT/shards/<key>) <──────────── the ShardCommit, as each task finishes

The driver writes every commit, exactly as the local engine does, so ``--resume`` continues a
scan whichever engine ran before, and OUT need not be reachable from the cluster. The shards
must be: a worker opens each one at the driver's absolute path, so on a cluster they sit on a
shared filesystem (or at the same path on every node), and every node runs this version of
contam. The index is put in the object store once; its arrays are read from it without a
copy, read-only: the kernels never write into the lookup, but numba compiles (and caches)
their read-only variants once, ~20 s on a cold cache.

Example:
    >>> cfg = contam.ScanConfig(engine="ray", address="auto")  # doctest: +SKIP
    >>> contam.scan("/shared/corpus/", ["mmlu"], "reports/run1", cfg)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from contam._version import __version__
from contam.config import ScanConfig
from contam.errors import ConfigError, ContamError, first_line
from contam.match import Matcher
from contam.report import ShardCommit
from contam.scan import commit_folder, scan_shard
from contam.workers import no_progress, reuse_freed_buffers

INSTALL_LINE = "the Ray engine needs the ray extra: pip install 'contam[ray]'"
#: How long a cluster's address has to answer before the scan gives up on it.
ANSWER_SECONDS = 5.0

#: Tasks in flight per task the cluster runs at once: one running and one queued, so no CPU
#: idles while the driver writes a commit; more would only hold finished results in the
#: object store.
IN_FLIGHT_PER_SLOT = 2

# In a Ray worker process: the scan's Matcher under its object id, fetched by the first task
# there: its deserialization (mostly the arrays, read from the object store without a copy)
# is paid once per process instead of once per shard.
_MATCHER: dict[str, Matcher] = {}


def import_ray() -> ModuleType:
    """The ``ray`` module, or `ConfigError` with the install line."""
    try:
        import ray
    except ImportError:
        raise ConfigError(INSTALL_LINE) from None
    return ray


def start_local_runtime(cpus: int) -> None:
    """Start Ray on this machine alone: ``cpus`` CPUs, no dashboard, quiet, on loopback.

    Example:
        >>> start_local_runtime(2)  # doctest: +SKIP
    """
    ray = import_ray()
    # Ray binds a new runtime to the machine's network address unless this switch (its
    # single-machine mode, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, read when ray is imported)
    # is off; a local scan has no other node to talk to. A Ray without the switch binds the
    # machine's address, behind its authentication token.
    ray_constants = _private_constants()
    saved = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    if saved is not None:
        ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        ray.init(
            address="local",  # a new runtime even where a cluster runs (`ray start`)
            num_cpus=cpus,
            include_dashboard=False,
            logging_level=logging.ERROR,
            log_to_driver=False,
        )
    finally:
        if saved is not None:
            ray_constants.ENABLE_RAY_CLUSTER = saved


def _private_constants() -> Any:
    """``ray._private.ray_constants``, or None in a Ray that has moved it."""
    try:
        from ray._private import ray_constants
    except ImportError:
        return None
    return ray_constants


def connect(address: str | None, cpus: int) -> bool:
    """Join the cluster at ``address``, or start a local runtime of ``cpus`` CPUs when None;
    a runtime this process already runs is used as it is. Returns whether one was started."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    if address is None:
        try:
            start_local_runtime(cpus)
        except (RuntimeError, ConnectionError, TimeoutError, ValueError, OSError) as e:
            raise ConfigError(f"cannot start Ray on this machine ({first_line(e)})") from None
        return True
    _check_answers(address)
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    except (ConnectionError, TimeoutError, ValueError, RuntimeError) as e:
        raise ConfigError(
            f"cannot join the Ray cluster at {address} ({first_line(e)}); a cluster with token "
            "authentication needs RAY_AUTH_MODE=token here, and ray:// addresses need "
            "pip install 'ray[client]'"
        ) from None
    return True


def _check_answers(address: str) -> None:
    """Fail within seconds when nothing listens at a ``HOST:PORT`` or ``ray://HOST:PORT``
    address: `ray.init` retries such an address for some 14 minutes, deaf to Ctrl-C."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", or a form Ray reads itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=ANSWER_SECONDS).close()
    except OSError as e:
        raise ConfigError(
            f"cannot join the Ray cluster at {address}: nothing answers there ({e}); start "
            "one with `ray start --head`, or leave out --address to run Ray on this machine"
        ) from None


@contextmanager
def runtime(config: ScanConfig) -> Iterator[None]:
    """Ray joined (``config.address``) or started on this machine for the block, and a
    runtime started here shut down at its end: with ``workers * worker_threads`` CPUs, so that
    ``workers`` tasks run at once. The scan loads its indexes in another thread meanwhile:
    a local runtime takes seconds to start."""
    started = connect(config.address, config.workers * config.worker_threads)
    try:
        _check_room(config.worker_threads)
        yield
    finally:
        if started:
            import_ray().shutdown()


def _check_room(threads: int) -> None:
    """`ConfigError` when no node now in the cluster has the ``threads`` CPUs a task reserves:
    its tasks would wait forever (on an autoscaling cluster, start a node that has them)."""
    ray = import_ray()
    largest = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"]), default=0)
    if largest < threads:
        raise ConfigError(
            f"no Ray node has the {threads} CPUs a task reserves (--threads {threads}); "
            f"the largest has {largest:g}: lower --threads"
        )


def run_shards_ray(
    todo: list[Path],
    matcher: Matcher,
    config: ScanConfig,
    out: Path,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Scan ``todo`` as Ray tasks and commit each result under ``out/shards/`` as it arrives,
    in a Ray `runtime`.

    Args:
        todo: the shards not committed yet; read by the workers at their absolute path.
        matcher: the scan's matcher, put once in the object store.
        config: the scan's settings.
        out: the report folder, written by this process only.
        progress: called with (raw bytes, documents) as each shard is committed.
    """
    if not todo:
        return
    ray = import_ray()
    task = ray.remote(num_cpus=config.worker_threads)(_scan_task)  # the CPUs a task keeps busy
    # A bare ObjectRef argument is fetched and deserialized anew for every task; in a list
    # it reaches the task as it is, and `_worker_matcher` fetches it once a process.
    shared = [ray.put(matcher)]
    slots = int(ray.cluster_resources().get("CPU", 1)) // config.worker_threads  # tasks at once
    limit = IN_FLIGHT_PER_SLOT * max(1, slots)
    queue: Iterator[Path] = iter(todo)
    running: dict[Any, Path] = {}
    try:
        while True:
            for path in queue:
                running[task.remote(shared, str(path.absolute()), config, __version__)] = path
                if len(running) >= limit:
                    break
            if not running:
                break
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                path = running.pop(ref)
                commit = _result(ray, ref, path)
                commit.write(commit_folder(out, path))
                if progress is not None:
                    progress(int(commit.info["raw_bytes"]), int(commit.info["docs"]))
    except BaseException:
        for ref in running:
            ray.cancel(ref)
        raise


def _result(ray: ModuleType, ref: Any, path: Path) -> ShardCommit:
    """The commit of the task that scanned ``path``; a contam error raised in the task is
    raised here as it was. The task read the shard at its absolute path: its commit and
    messages name it as given, as the local engine's do."""
    absolute, given = str(path.absolute()), str(path)
    try:
        commit: ShardCommit = ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        if isinstance(e.cause, ContamError):
            raise type(e.cause)(str(e.cause).replace(absolute, given)) from None
        raise
    info = commit.info
    info["shard"] = given
    if info["reason"] is not None:
        info["reason"] = info["reason"].replace(absolute, given)
    info["bad"] = [message.replace(absolute, given) for message in info["bad"]]
    return commit


def _scan_task(shared: list[Any], path: str, config: ScanConfig, version: str) -> ShardCommit:
    """One shard, in a Ray worker."""
    if version != __version__:
        raise ConfigError(
            f"the Ray workers run contam {__version__} and the driver {version}: "
            "install the same version on every node"
        )
    if not Path(path).is_file():
        # The driver found it: this node does not share its filesystem. Not a bad shard,
        # so not skipped with --skip-bad (a resume would never retry it).
        node = import_ray().util.get_node_ip_address()
        raise ConfigError(
            f"{path}: not found on Ray node {node}; every node must see the shards at the "
            "driver's path (a shared filesystem, or the same copy on each node)"
        )
    # progress inside a task is not reported: the driver reports whole shards
    matcher = _worker_matcher(shared[0])
    return scan_shard(Path(path), matcher, config, no_progress, config.worker_threads)


def _worker_matcher(ref: Any) -> Matcher:
    key = ref.hex()
    if key not in _MATCHER:
        _MATCHER.clear()  # a new scan: drop the last one's index
        reuse_freed_buffers()  # as the local engine's processes do
        _MATCHER[key] = import_ray().get(ref)
    return _MATCHER[key]
