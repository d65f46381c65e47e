"""Sweeps and basin maps on a Dask cluster (the optional extra ``optsim[cluster]``).

A sweep is a list of independent blocks of runs; here each block becomes one Dask
task. ``"local:K"`` starts a local cluster of K single-threaded worker processes
for the duration of the call; ``"tcp://HOST:PORT"`` connects to a running
scheduler; a ``distributed.Client`` is used as it is. Functions travel by name (or
formula) and optimizers by spec string, so workers rebuild them exactly: the
result is the same array as in this process.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

from .axes import SweepInputError
from .runner import Cancelled

_LOCAL = re.compile(r"^local(?::(\d+))?$")
_TCP = re.compile(r"^tcp://[^\s:/]+:\d{1,5}$")
MAX_LOCAL_WORKERS = 256


def check_cluster(cluster: Any) -> Any:
    """Validate a ``--cluster`` value: ``local:K`` or ``tcp://HOST:PORT`` (or a
    Client); raises SweepInputError. Does not connect."""
    if cluster is None or not isinstance(cluster, str):
        return cluster
    text = cluster.strip()
    m = _LOCAL.match(text)
    if m:
        k = int(m.group(1) or 2)
        if not 1 <= k <= MAX_LOCAL_WORKERS:
            raise SweepInputError(f"--cluster local:K needs 1 <= K <= {MAX_LOCAL_WORKERS}, got {k}")
        return text
    if _TCP.match(text):
        return text
    raise SweepInputError(f"--cluster must be local:K or tcp://HOST:PORT, got {cluster!r}")


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise SweepInputError("--cluster needs Dask: pip install 'optsim[cluster]' "
                              "(dask[distributed])") from None
    return distributed


@contextmanager
def client_for(cluster: Any):
    """A ``distributed.Client`` for ``cluster`` (closed afterwards unless given)."""
    cluster = check_cluster(cluster)
    distributed = _distributed()
    if isinstance(cluster, distributed.Client):
        yield cluster
        return
    m = _LOCAL.match(cluster)
    if m:
        k = int(m.group(1) or 2)
        with distributed.LocalCluster(n_workers=k, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None) as lc, \
                distributed.Client(lc) as client:
            yield client
        return
    try:
        client = distributed.Client(cluster, timeout="10s")
    except OSError as exc:
        raise SweepInputError(f"--cluster {cluster}: cannot reach the scheduler ({exc})") from None
    try:
        yield client
    finally:
        client.close()


def map_blocks(cluster: Any, func: Callable[..., Any], fref: Any, oref: Any,
               args: Sequence[tuple], *, progress: Callable[[int, int], None] | None = None,
               cancel: Any = None, total: int = 0, sizes: Sequence[int] = ()) -> list:
    """``[func(fref, oref, *a) for a in args]``, each call a task on the cluster,
    results in order."""
    distributed = _distributed()
    with client_for(cluster) as client:
        futures = [client.submit(func, fref, oref, *a, pure=False) for a in args]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        done = 0
        try:
            for f in distributed.as_completed(futures):
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                i = index[f.key]
                results[i] = f.result()
                done += sizes[i] if sizes else 0
                if progress is not None:
                    progress(done, total)
        except BaseException:
            client.cancel(futures)
            raise
    return results
