"""Every rule, constraint, metric and command is documented where a planner would look."""

from __future__ import annotations

from pathlib import Path

import pytest

from allocator.cli.app import app
from allocator.results.metrics import METRICS
from allocator.scenario.constraints import CONSTRAINTS
from allocator.scenario.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
RULES_DOC = (ROOT / "docs" / "rules.md").read_text()


@pytest.mark.parametrize("name", RULES.names())
def test_every_rule_is_in_the_readme_and_the_rules_doc(name):
    assert f"`{name}`" in README and f"`{name}`" in RULES_DOC


@pytest.mark.parametrize("name", CONSTRAINTS.names())
def test_every_constraint_is_in_the_readme_and_the_rules_doc_with_its_parameters(name):
    assert f"`{name}`" in README and f"`{name}`" in RULES_DOC
    for parameter in CONSTRAINTS.get(name).model_fields:
        assert f"`{parameter}`" in RULES_DOC or parameter in RULES_DOC


@pytest.mark.parametrize("metric", list(METRICS))
def test_every_metric_is_explained(metric):
    assert f"`{metric}`" in RULES_DOC


@pytest.mark.parametrize("command", sorted(c.name or c.callback.__name__ for c in app.registered_commands))
def test_every_command_is_in_the_readme(command):
    assert f"allocator {command}" in README


def test_readme_opens_with_the_two_commands():
    blocks = [block.split("```")[0].strip() for block in README.split("```bash")[1:3]]
    assert "pip install" in blocks[0] and "allocator solve scenarios/" in blocks[0]
    assert "pip install" in blocks[1] and "pytest" in blocks[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert blocks[1] in ci  # CI runs exactly the README's test command


def test_every_rule_and_constraint_carries_its_formulation():
    for cls in [*RULES, *CONSTRAINTS]:
        assert ".. math::" in (cls.__doc__ or ""), cls.key
