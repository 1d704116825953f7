"""Pytest configuration for the allocator test-suite: the hypothesis profile and shared fixtures.

Helper functions and constants (``build``, ``shipped``, ``fills``, ``assert_feasible``, ``ROOT``, ...)
live in ``helpers.py``: tests import them with ``from helpers import ...``.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

from helpers import build

# every property test draws the same examples on every run and machine: no flakes in CI, and a
# failure seen once is seen again (a test's own @settings still sets its example count)
settings.register_profile("allocator", derandomize=True, database=None, deadline=None)
settings.load_profile("allocator")


@pytest.fixture
def network():
    """s1 = 10, s2 = 30; a -> s1, b -> s1 & s2, c -> s2; demand 20 each (see test_rules_hand)."""
    return build(
        sites=[{"id": "s1", "supply": {"food": 10}}, {"id": "s2", "supply": {"food": 30}}],
        units=[{"id": "a", "demand": 20}, {"id": "b", "demand": 20}, {"id": "c", "demand": 20}],
        links=[{"unit": "a", "site": "s1"}, {"unit": "b", "site": "s1"},
               {"unit": "b", "site": "s2"}, {"unit": "c", "site": "s2"}],
    )

