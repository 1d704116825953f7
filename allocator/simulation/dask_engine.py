"""The ``dask`` engine: shards as tasks on a Dask cluster (``pip install 'allocator[dask]'``).

With a scheduler address (``tcp://host:8786``) the shards run on that existing cluster; its
workers need allocator installed (same version). Without one, a ``LocalCluster`` of
``workers`` single-threaded worker processes is started for the run and closed after it. The
plan is scattered to every worker once; each finished shard comes back to this process, which
stores it. No more shards are submitted than the cluster has threads, so a time limit starts no
new one and every submitted shard is running, finishes and is kept. Dask re-runs the shard of a
worker that dies, and a shard's result depends only on the plan and the shard number, so a re-run changes nothing.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from allocator.core.errors import SolverUnavailableError, UsageError
from allocator.simulation.draws import run_shard


@contextmanager
def dask_pool(plan, workers: int | None = None, scheduler: str | None = None):
    """Connect to Dask (or start a ``LocalCluster``) with ``plan`` on every worker, for the run of its shards.

    Yields ``(submit, first_done, slots)`` for :func:`allocator.simulation.engines.keep_in_flight`:
    ``submit(shard)`` starts a shard and returns its future, ``first_done(futures)`` waits for
    at least one and returns the finished ones, and ``slots`` is the cluster's worker threads
    (``workers`` when it has none yet). On an exception the submitted shards are cancelled.
    """
    try:  # imported here: dask is an optional dependency (allocator[dask]), and slow to import
        from dask.distributed import Client, LocalCluster, wait
    except ImportError:
        raise SolverUnavailableError("the dask engine needs dask.distributed: pip install 'allocator[dask]'") from None
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=max(1, workers or os.cpu_count() or 1), threads_per_worker=1,
                               processes=True, dashboard_address=None)
    try:
        client = Client(cluster if cluster is not None else scheduler)
    except (ValueError, OSError) as exc:  # a malformed address, or nothing answering there (a timeout)
        if cluster is not None:
            cluster.close()
        raise UsageError(f"cannot connect to the Dask scheduler {scheduler!r}: {exc} (expected the address of a "
                         "running scheduler, e.g. tcp://10.0.0.5:8786)") from None
    submitted = []

    def submit(shard: int):
        submitted.append(client.submit(run_shard, shared, shard, pure=False))
        return submitted[-1]

    try:
        shared = client.scatter(plan, broadcast=True)
        slots = max(1, sum(client.nthreads().values()) or workers or 1)
        try:
            yield submit, (lambda running: wait(list(running), return_when="FIRST_COMPLETED").done), slots
        except BaseException:
            client.cancel(submitted)
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
