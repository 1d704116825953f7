"""What the README's plain install brings must run every main feature's output."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def core_dependencies() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {spec.split(">")[0].split("=")[0].split("[")[0].strip().lower() for spec in project["dependencies"]}


def test_simulation_shards_need_no_extra():
    # `simulate --out` writes Parquet (sim_store.py); before, pyarrow came only with an extra and a
    # plain `pip install .` failed at the first shard
    assert "pyarrow" in core_dependencies()


def test_every_module_allocator_imports_at_top_level_is_a_core_dependency():
    import ast

    third_party = set()
    for path in (ROOT / "allocator").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                third_party |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                third_party.add(node.module.split(".")[0])
    import sys

    third_party -= set(sys.stdlib_module_names) | {"allocator", "__future__"}
    distribution = {"yaml": "pyyaml", "igraph": "igraph", "sklearn": "scikit-learn"}
    optional = {"dask", "distributed"}  # the dask engine, behind allocator[dask] and a clear message
    missing = {distribution.get(m, m) for m in third_party - optional} - core_dependencies()
    assert not missing, f"imported but not a core dependency: {sorted(missing)}"
