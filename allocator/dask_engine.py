"""The ``dask`` engine: shards as tasks on a Dask cluster (``pip install 'allocator[dask]'``).

With a scheduler address (``tcp://host:8786``) the shards run on that existing cluster; its
workers need allocator installed (same version). Without one, a ``LocalCluster`` of
``workers`` single-threaded worker processes is started for the run and closed after it. The
plan is scattered to every worker once; each finished shard comes back to this process, which
stores it. Dask re-runs the shard of a worker that dies, and a shard's result depends only on
the plan and the shard number, so a re-run changes nothing.
"""

from __future__ import annotations

from typing import Sequence

from allocator.errors import SolverUnavailableError, UsageError


def run_dask(plan, shards: Sequence[int], sink, *, workers: int | None = None, scheduler: str | None = None) -> None:
    """Run ``shards`` of ``plan`` on Dask; hand each result to ``sink(shard, result)`` as it finishes."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise SolverUnavailableError("the dask engine needs dask.distributed: pip install 'allocator[dask]'") from None
    from allocator.sim_draws import run_shard

    cluster = None
    if scheduler is None:
        import os

        cluster = LocalCluster(n_workers=max(1, workers or os.cpu_count() or 1), threads_per_worker=1,
                               processes=True, dashboard_address=None)
    try:
        client = Client(cluster if cluster is not None else scheduler)
    except (ValueError, OSError) as exc:  # a malformed address, or nothing answering there (a timeout)
        if cluster is not None:
            cluster.close()
        raise UsageError(f"cannot connect to the Dask scheduler {scheduler!r}: {exc} (expected the address of a "
                         "running scheduler, e.g. tcp://10.0.0.5:8786)") from None
    try:
        shared = client.scatter(plan, broadcast=True)
        futures = {client.submit(run_shard, shared, shard, pure=False): shard for shard in shards}
        try:
            for future in as_completed(futures):
                sink(futures[future], future.result())
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
