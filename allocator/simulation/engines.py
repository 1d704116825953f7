"""Where simulation shards run: in this process, in worker processes, or on Dask (:mod:`allocator.simulation.dask_engine`).

Every engine runs the same shards of the same plan (:func:`allocator.simulation.draws.run_shard`) and
hands each finished shard to a ``sink`` in the calling process, which stores it; the results do
not depend on the engine. A run with a time budget (``stop``) starts no shard once it has run
out, and keeps no more shards running than there are workers (:func:`keep_in_flight`), so a
shard that has started finishes and is kept, and the overrun is about one shard's time.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import tempfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Callable, Iterable, Sequence

import pandas as pd

from allocator.backends.highs import HighsBackend
from allocator.core.budget import refuse_over
from allocator.core.errors import Message, Parameter, UsageError, WorkerLost  # WorkerLost: importable from here
from allocator.simulation import dask_engine, draws
from allocator.simulation.plan import SimulationPlan

ENGINES = ("serial", "processes", "dask")
#: local worker processes per core at most: HiGHS is single-threaded here, so more only compete for
#: the cores, and each process holds its own copy of the scenario
WORKERS_PER_CORE = 4


def check_workers(engine: str, workers: int | None, scheduler: str | None = None) -> None:
    """Refuse, before any work, a number of local worker processes this machine cannot usefully run."""
    if workers is None or engine == "serial" or (engine == "dask" and scheduler is not None):
        return  # the serial engine starts none; a remote cluster's workers are its own
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"workers must be a whole number, 1 or more, got {workers!r}")
    cores = os.cpu_count() or 1
    refuse_over("workers", workers, WORKERS_PER_CORE * cores,
                f"{WORKERS_PER_CORE} local worker processes per core of this machine ({cores} core(s)); more only "
                "compete for the cores, and each holds its own copy of the scenario")


def keep_in_flight(shards: Iterable[int], slots: int, submit: Callable, first_done: Callable,
                   sink: Callable[[int, tuple], None], stop: Callable[[], bool]) -> None:
    """Run ``shards`` with at most ``slots`` of them submitted at once, handing each result to ``sink``.

    Parameters
    ----------
    shards : iterable of int
        In the order they are started.
    slots : int
        Shards submitted and not yet finished, at most: the workers, so that every submitted
        shard is running and none waits in a queue it could not be taken back from.
    submit : callable
        ``submit(shard)`` starts a shard and returns its future (``.result()`` gives the result).
    first_done : callable
        ``first_done(futures)`` waits until at least one of ``futures`` has finished and returns
        those that have.
    sink : callable
        ``sink(shard, result)``, for every finished shard, including those that finish after the
        time ran out.
    stop : callable
        Checked before every shard but the first (a run does at least one): once true, no shard
        is started, and the call returns when the running ones have finished.
    """
    waiting = iter(shards)
    running: dict = {}
    started = stopping = False
    while True:
        while not stopping and len(running) < slots:
            shard = next(waiting, None)
            if shard is None:
                stopping = True
            elif started and stop():
                stopping = True
            else:
                running[submit(shard)] = shard
                started = True
        if not running:
            return
        for future in first_done(running):  # every finished one, not only the first: none is dropped
            sink(running.pop(future), future.result())


def execute(plan: SimulationPlan, shards: Sequence[int], sink: Callable[[int, tuple], None], *,
            engine: str = "serial", workers: int | None = None, scheduler: str | None = None,
            prepare: Callable[[SimulationPlan], SimulationPlan] | None = None,
            stop: Callable[[], bool] | None = None) -> SimulationPlan:
    """Run ``shards`` of ``plan`` on ``engine`` and hand each finished shard to ``sink`` (in this process).

    ``prepare`` (the starting bases, :func:`allocator.simulation.draws.warm_bases`) is applied to the
    plan in this process before the first shard runs; the processes engine applies it while its
    workers start, so that their start-up overlaps it. The prepared plan is what the shards run
    and what is returned. ``stop`` (the time budget) is checked before each shard but the first
    is started (:func:`keep_in_flight`); when it is true, the shards not started are left out, and
    the ones running finish and go to ``sink``.
    """
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; expected one of: {', '.join(ENGINES)}")
    prepare = prepare or (lambda same: same)
    stop = stop or (lambda: False)
    if not shards:
        return plan
    if engine == "processes" or (engine == "dask" and scheduler is None):
        _check_workers_can_start()
    if engine == "serial":
        plan = prepare(plan)
        keep_in_flight(shards, 1, lambda shard: _Done(draws.run_shard(plan, shard)), lambda running: list(running),
                       sink, stop)
        return plan
    if engine == "processes":
        return _run_processes(plan, shards, sink, workers, prepare, stop)
    plan = prepare(plan)
    with dask_engine.dask_pool(plan, workers, scheduler) as (submit, first_done, slots):
        keep_in_flight(shards, slots, submit, first_done, sink, stop)
    return plan


class _Done:
    """A finished result in the shape of a future: the serial engine's shards."""

    def __init__(self, result: tuple):
        self._result = result

    def result(self) -> tuple:
        return self._result


def _check_workers_can_start() -> None:
    """Local worker processes are spawned and re-import the main module, which must be a file."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if main is not None and not os.path.exists(main):  # e.g. "<stdin>"
        raise UsageError("local worker processes cannot start for code read from standard input: put it in a "
                         "script (under `if __name__ == \"__main__\":`), or use engine='serial'")


_PLAN = None  # a process worker's copy, read once by the pool's initializer (without the starting bases)


def _load_plan(path: str) -> None:
    """Pool initializer: read the plan from the file the calling process wrote.

    A file, not the initializer's arguments: those travel through the new process's pipe, and a
    plan larger than the pipe's buffer would block the caller until the child has imported
    allocator (no overlap with preparing the bases), or forever if the child dies first.
    """
    global _PLAN
    with open(path, "rb") as file:
        _PLAN = pickle.load(file)


def _start_worker() -> None:
    """Load HiGHS, while the calling process prepares the plan (the shard code came with this module)."""
    HighsBackend().is_available()


def _shard_in_worker(shard: int, bases: dict | None, memory: dict | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    return draws.run_shard(replace(_PLAN, bases=bases, memory=memory), shard)


def _run_processes(plan: SimulationPlan, shards: Sequence[int], sink, workers: int | None,
                   prepare: Callable[[SimulationPlan], SimulationPlan], stop: Callable[[], bool]) -> SimulationPlan:
    count = max(1, min(workers or os.cpu_count() or 1, len(shards)))
    with tempfile.TemporaryDirectory(prefix="allocator-plan-") as folder:
        path = os.path.join(folder, "plan.pickle")
        with open(path, "wb") as file:
            pickle.dump(plan, file, protocol=pickle.HIGHEST_PROTOCOL)
        # spawn, not fork: a forked copy of a process holding HiGHS or BLAS threads can deadlock
        with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_load_plan, initargs=(path,)) as pool:
            try:
                for _ in range(count):  # the pool spawns a worker per submission: all of them start now
                    pool.submit(_start_worker)
                plan = prepare(plan)  # the starting bases and memory, small: sent with every shard
                # at most `count` submitted: a future the pool has queued for a worker cannot be cancelled
                keep_in_flight(shards, count, lambda shard: pool.submit(_shard_in_worker, shard, plan.bases, plan.memory),
                               lambda running: wait(running, return_when=FIRST_COMPLETED).done, sink, stop)
            except BrokenProcessPool:
                raise WorkerLost(Message(
                    "a worker process died (killed, out of memory, or it could not start: a script that calls "
                    "simulate needs `if __name__ == \"__main__\":`); the draws finished before are saved where an "
                    "output folder was given: run again with ", Parameter("resume", True))) from None
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)  # the running shards (at most `count`) finish
                raise
    return plan
