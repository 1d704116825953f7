"""Fuzz the loader: whatever the input, the only acceptable failure is a ScenarioError.

Three fuzzers, each bounded for the regular test run (``FUZZ_EXAMPLES`` examples each,
derandomised so CI is reproducible). For a long local session::

    ALLOCATOR_FUZZ_EXAMPLES=20000 ALLOCATOR_FUZZ_RANDOM=1 python -m pytest tests/test_fuzz_loader.py

* structured documents: mappings built from the format's own keys and values, mutated
  (wrong types, missing pieces, odd numbers, nested junk);
* raw scenario text: arbitrary unicode and YAML-looking fragments;
* raw table bytes: arbitrary bytes and CSV-looking rows as the units file.
"""

from __future__ import annotations

import copy
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import allocator

FUZZ_EXAMPLES = int(os.environ.get("ALLOCATOR_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
                derandomize=not os.environ.get("ALLOCATOR_FUZZ_RANDOM"),
                suppress_health_check=list(HealthCheck))

KEYS = ["name", "description", "resources", "supply", "sites", "units", "groups", "links", "rule", "constraints",
        "exclusive", "data", "measure", "weights", "score", "baseline",
        "id", "demand", "value", "unit", "site", "type", "share", "attribute", "max_gap", "min_ratio", "over",
        "method", "divisible", "food", "g", "x"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.sampled_from(["food", "a", "s1", "maxmin", "leximin", "floor", "group_gap", "units.csv", "", "nan", "-1",
                     "1e308", "=1+1", "../x.csv", "/etc/passwd"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=4)),
    max_leaves=25)

# a valid scenario to mutate: the fuzzer mostly explores near the format, where bugs hide
VALID = {"name": "t", "resources": [{"id": "food"}],
         "sites": [{"id": "s1", "supply": {"food": 5}}, {"id": "s2", "supply": {"food": 3}}],
         "units": [{"id": "a", "demand": 4, "groups": {"g": "x"}}, {"id": "b", "demand": 6, "groups": {"g": "y"}}],
         "groups": ["g"], "links": [{"unit": "a", "site": "s1"}, {"unit": "b", "site": "s2"}],
         "rule": {"name": "leximin"}, "constraints": [{"type": "floor", "share": 0.1}]}


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, prefix + (i,))


@st.composite
def mutated(draw):
    """VALID with a few of its values (at any depth) replaced, deleted or added to."""
    document = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(document) if p]
        path = draw(st.sampled_from(paths))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(VALUES)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS))] = draw(VALUES)
        else:
            parent.append(draw(VALUES))
    return document


def _only_scenario_errors(call):
    try:
        call()
    except allocator.ScenarioError as exc:
        assert exc.issues, "a ScenarioError must say what is wrong"
        for issue in exc.issues:
            assert issue.file and issue.location and issue.message


@FUZZ
@given(st.one_of(mutated(), st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=8)))
def test_any_document_loads_or_raises_a_scenario_error(tmp_path_factory, document):
    base = tmp_path_factory.mktemp("fuzz")
    _only_scenario_errors(lambda: allocator.scenario_from_dict(document, base_dir=base))


YAMLISH = st.lists(st.sampled_from(["name: t", "resources: [{id: food}]", "supply: {food: 5}", "units:", "  - id: a",
                                    "    demand: 3", "&x [1, 2]", "*x", "- !!python/object:os.system", "{", "]", ":",
                                    "\t", "---", "...", "rule: leximin", "units: units.csv", "? x", "%YAML 1.1"]),
                    max_size=12).map("\n".join)


@FUZZ
@given(st.one_of(st.text(max_size=200), YAMLISH), st.sampled_from([".yaml", ".json", ".toml"]))
def test_any_scenario_text_loads_or_raises_a_scenario_error(tmp_path_factory, text, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"scenario{suffix}"
    path.write_bytes(text.encode("utf-8", errors="replace"))  # lone surrogates cannot be written as UTF-8
    _only_scenario_errors(lambda: allocator.load_scenario(path))


CSVISH = st.lists(st.lists(st.sampled_from(["id", "demand", "value", "g", "a", "b", "1", "-2", "nan", "", " ",
                                            '"', '"x,y"', "1e400", "=cmd", "\u00e9", "\x00"]), max_size=5),
                  max_size=6).map(lambda rows: "\n".join(",".join(r) for r in rows).encode())


@FUZZ
@given(st.one_of(st.binary(max_size=200), CSVISH))
def test_any_units_file_loads_or_raises_a_scenario_error(tmp_path_factory, content):
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "units.csv").write_bytes(content)
    path = folder / "scenario.yaml"
    path.write_text("name: t\nresources: [{id: food}]\nsupply: {food: 5}\nunits: units.csv\ngroups: [g]\n")
    _only_scenario_errors(lambda: allocator.load_scenario(path))


def test_the_valid_seed_document_is_valid():
    # the mutation fuzzer starts from a scenario that loads, so its mutations sit next to the format
    scenario = allocator.scenario_from_dict(VALID)
    assert list(scenario.units.ids) == ["a", "b"] and scenario.rule.key == "leximin"
