"""Cross-reference checks between a scenario's parts (shared by file loading and code)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from allocator.errors import Issue

if TYPE_CHECKING:
    from allocator.registry import Spec
    from allocator.scenario.model import Scenario


def check_spec_references(spec: Spec, where: str, *, groups: Iterable[str], resources: Iterable[str],
                          file: str) -> list[Issue]:
    """Every attribute a rule or constraint names is a group column; every resource exists."""
    groups, resources = list(groups), list(resources)
    issues = []
    for attribute in spec.attributes():
        if attribute not in groups:
            key = "over" if spec.params().get("over") == attribute else "attribute"
            issues.append(Issue(file, f"{where}.{key}", f"{attribute!r} is not a group attribute of this scenario",
                                f"one of the columns listed in 'groups': {', '.join(groups) or '(none listed)'}"))
    for resource in spec.resources():
        if resource not in resources:
            issues.append(Issue(file, f"{where}.resource", f"unknown resource {resource!r}",
                                f"one of: {', '.join(resources)}"))
    return issues


def check_references(scenario: Scenario, rule: Spec, constraints: Iterable[Spec], *, file: str) -> list[Issue]:
    """Check a rule and constraints against ``scenario`` (used when they are passed as arguments)."""
    kw = dict(groups=scenario.groups, resources=scenario.resource_ids, file=file)
    issues = check_spec_references(rule, "rule", **kw)
    for k, constraint in enumerate(constraints):
        issues += check_spec_references(constraint, f"constraints[{k}]", **kw)
    return issues
