"""The dask engine on a real LocalCluster: the same table as the serial engine."""

from __future__ import annotations

import pandas as pd
import pytest

import allocator
from allocator.simulation.api import simulate
from helpers import ROOT

pytestmark = pytest.mark.dask

distributed = pytest.importorskip("dask.distributed", reason="the dask extra: pip install 'allocator[dask]'")


def test_a_local_cluster_by_address_gives_the_serial_table():
    scenario = allocator.load_scenario(ROOT / "scenarios" / "food-bank-uncertain" / "scenario.yaml")
    options = dict(draws=24, seed=11, shard_size=4)
    serial = simulate(scenario, rules=["maxmin", "utilitarian", "leximin"], **options).table
    with distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = simulate(scenario, rules=["maxmin", "utilitarian", "leximin"], engine="dask", scheduler=cluster.scheduler_address,
                          **options).table
    pd.testing.assert_frame_equal(serial, remote)


def test_without_an_address_the_engine_starts_and_stops_its_own_cluster():
    scenario = allocator.load_scenario(ROOT / "scenarios" / "food-bank-uncertain" / "scenario.yaml")
    options = dict(draws=6, seed=2, shard_size=2)
    pd.testing.assert_frame_equal(simulate(scenario, rules=["maxmin"], **options).table,
                                  simulate(scenario, rules=["maxmin"], engine="dask", workers=2, **options).table)
