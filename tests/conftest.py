"""Pytest configuration for the allocator test-suite: the hypothesis profile and shared fixtures.

Helper functions and constants (``build``, ``shipped``, ``fills``, ``assert_feasible``, ``ROOT``, ...)
live in ``helpers.py``: tests import them with ``from helpers import ...``.
"""

from __future__ import annotations

import importlib.util

import pytest
from hypothesis import settings

from helpers import build

# every property test draws the same examples on every run and machine: no flakes in CI, and a
# failure seen once is seen again (a test's own @settings still sets its example count)
settings.register_profile("allocator", derandomize=True, database=None, deadline=None)
settings.load_profile("allocator")

# marker: (module it needs, how to get it). A test so marked is skipped, with this reason, when the
# module is missing, instead of failing (or waiting on a subprocess) far into the run. The chromium
# and glpk markers only select: those tests find (or install) their program themselves and skip without it.
OPTIONAL = {
    "dask": ("dask.distributed", "the dask extra: pip install 'allocator[dask]'"),
    "pyarrow": ("pyarrow", "a dependency of allocator: reinstall allocator, or pip install pyarrow"),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing (or blocked) parent package
        return False


def pytest_collection_modifyitems(config, items):
    missing = {marker: (module, how) for marker, (module, how) in OPTIONAL.items() if not _installed(module)}
    for item in items:
        for marker, (module, how) in missing.items():
            if item.get_closest_marker(marker) is not None:
                item.add_marker(pytest.mark.skip(reason=f"needs {module}, which is not installed ({how})"))


@pytest.fixture
def network():
    """s1 = 10, s2 = 30; a -> s1, b -> s1 & s2, c -> s2; demand 20 each (see test_rules_hand)."""
    return build(
        sites=[{"id": "s1", "supply": {"food": 10}}, {"id": "s2", "supply": {"food": 30}}],
        units=[{"id": "a", "demand": 20}, {"id": "b", "demand": 20}, {"id": "c", "demand": 20}],
        links=[{"unit": "a", "site": "s1"}, {"unit": "b", "site": "s1"},
               {"unit": "b", "site": "s2"}, {"unit": "c", "site": "s2"}],
    )

