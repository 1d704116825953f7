"""The package tree is the pipeline: the layer contract in pyproject.toml holds, with no cycles."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_every_layer_imports_only_the_layers_below_it():
    # import-linter's `layers` contract (pyproject.toml), imports inside functions included
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(lint).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    run = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_no_import_cycle_anywhere():
    # counting imports inside functions: they still run
    tool = ROOT.parent / "shared" / "tools" / "import_cycles.py"
    if not tool.exists():
        pytest.skip(f"{tool} is not present")
    run = subprocess.run([sys.executable, str(tool), "allocator"], cwd=ROOT, capture_output=True, text=True)
    assert "import cycles: 0 " in run.stdout, run.stdout


def test_ruff_finds_nothing_imports_sorted_included():
    # the lint rules of pyproject.toml ([tool.ruff]), import sorting (I) among them, over the whole tree
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    run = subprocess.run([ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


def test_mypy_finds_no_error_in_the_core_layers():
    # [tool.mypy] in pyproject.toml says what is checked (core, scenario, model, rules, solving, results) and how;
    # the default cache (.mypy_cache, git-ignored) makes a rerun take a second instead of ~15 s
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install -e '.[test]')")
    run = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "Success: no issues found" in run.stdout, run.stdout
