#!/usr/bin/env python3
"""Raw-HiGHS yardstick for the flow-network benchmark: the same LP, written directly with highspy.

    python benchmarks/network_reference.py INSTANCE_FOLDER

Reads the instance that benchmarks/network.py writes (units.csv with id, demand, node;
routes.csv with from, to, capacity, cost; stock.csv with node, supply), builds the utilitarian
LP (maximise the total delivered) as arrays, solves it with HiGHS's interior point method without
crossover (the settings of ../shared/bench/reference_highs.py) and prints the total delivered.
No modelling layer, no validation, no outputs: the floor under any tool.
"""

from __future__ import annotations

import sys
from pathlib import Path

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp


def main() -> None:
    folder = Path(sys.argv[1])
    units = pd.read_csv(folder / "units.csv")
    routes = pd.read_csv(folder / "routes.csv")
    stock = pd.read_csv(folder / "stock.csv")
    nodes = pd.Index(pd.unique(pd.concat([stock["node"], routes["from"], routes["to"], units["node"]]).astype(str)))
    n, e, v = len(units), len(routes), len(nodes)
    at = nodes.get_indexer(units["node"].astype(str))
    tail, head = nodes.get_indexer(routes["from"].astype(str)), nodes.get_indexer(routes["to"].astype(str))
    supply = np.zeros(v)
    supply[nodes.get_indexer(stock["node"].astype(str))] = stock["supply"].to_numpy(dtype=float)
    # columns: deliveries (n), then edge flows (e); rows: node balance (v)
    rows = np.concatenate([at, tail, head])
    cols = np.concatenate([np.arange(n), n + np.arange(e), n + np.arange(e)])
    vals = np.concatenate([np.ones(n), np.ones(e), -np.ones(e)])
    matrix = sp.csc_matrix((vals, (rows, cols)), shape=(v, n + e))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n + e, v
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = np.concatenate([np.ones(n), np.zeros(e)])
    lp.col_lower_ = np.zeros(n + e)
    lp.col_upper_ = np.concatenate([units["demand"].to_numpy(dtype=float), routes["capacity"].to_numpy(dtype=float)])
    lp.row_lower_ = np.full(v, -np.inf)
    lp.row_upper_ = supply
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "off")
    h.passModel(lp)
    h.run()
    print(f"total_delivered {h.getInfo().objective_function_value:.4f}")


if __name__ == "__main__":
    main()
