"""Nothing lost: a run killed at any moment leaves either the old outputs or the complete new ones."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.core.errors import OutputExistsError
from allocator.io.atomic import atomic_folder

RULES = ("maxmin", "utilitarian")  # alternated, so old and new outputs differ


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    """Big enough that writing the outputs takes a noticeable part of the run."""
    folder = tmp_path_factory.mktemp("killed")
    rng = np.random.default_rng(7)
    units = pd.DataFrame({"id": [f"u{i}" for i in range(3000)], "demand": rng.integers(1, 20, 3000),
                          "value": rng.uniform(1, 3, 3000).round(3), "region": rng.choice(["e", "w"], 3000)})
    units.to_csv(folder / "units.csv", index=False)
    unit, site = np.nonzero(rng.random((3000, 20)) < 0.3)
    pd.DataFrame({"unit": [f"u{i}" for i in unit], "site": [f"s{j}" for j in site]}).to_csv(folder / "links.csv", index=False)
    sites = "".join(f"  - {{id: s{j}, supply: {{food: {int(rng.integers(500, 1500))}}}}}\n" for j in range(20))
    (folder / "scenario.yaml").write_text("name: killed\nresources: [{id: food}]\nunits: units.csv\nlinks: links.csv\n"
                                          f"groups: [region]\nsites:\n{sites}")
    return folder / "scenario.yaml"


def _command(scenario: Path, out: Path, rule: str) -> list[str]:
    return [sys.executable, "-m", "allocator", "solve", str(scenario), "--rule", rule, "--out", str(out), "--force"]


def _assert_complete(out: Path) -> str:
    """Every file of one result is there and agrees with summary.json; returns the result's rule."""
    summary = json.loads((out / "summary.json").read_text())
    allocations = pd.read_csv(out / "allocations.csv")
    flows = pd.read_csv(out / "flows.csv")
    groups = pd.read_csv(out / "groups.csv")
    assert len(allocations) == 3000 and len(groups) == 2
    total = summary["metrics"]["total_allocated"]
    assert allocations["allocated"].sum() == pytest.approx(total, rel=1e-6)
    assert flows["quantity"].sum() == pytest.approx(total, rel=1e-6)
    return summary["rule"]["name"]


@pytest.mark.slow
def test_killing_a_run_at_random_moments_never_leaves_a_partial_result(scenario, tmp_path):
    out = tmp_path / "out"
    start = time.perf_counter()
    subprocess.run(_command(scenario, out, RULES[0]), check=True, capture_output=True)
    full = time.perf_counter() - start
    assert _assert_complete(out) == RULES[0]
    rng = random.Random(11)
    # from mid-import to the end of writing, in random order; the last one lets a run finish
    fractions = rng.sample([0.3, 0.45, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0], 9) + [1.6]
    seen = {RULES[0]}
    for attempt, fraction in enumerate(fractions):
        rule = RULES[attempt % 2]  # the last, unkilled run (index 9) is utilitarian
        process = subprocess.Popen(_command(scenario, out, rule), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(fraction * full)
        process.send_signal(signal.SIGKILL)
        process.wait()
        seen.add(_assert_complete(out))  # old or new, never partial: the folder is always a whole result
    assert seen == set(RULES)  # the unkilled run's result replaced the old one
    subprocess.run(_command(scenario, out, RULES[0]), check=True, capture_output=True)
    debris = [p.name for p in tmp_path.iterdir() if p.name != "out"]
    assert debris == [], "the next run clears what killed runs left behind"


def test_interrupting_with_ctrl_c_keeps_the_old_outputs(scenario, tmp_path):
    out = tmp_path / "out"
    start = time.perf_counter()
    subprocess.run(_command(scenario, out, "maxmin"), check=True, capture_output=True)
    full = time.perf_counter() - start
    before = (out / "allocations.csv").read_bytes()
    for fraction in (0.5, 0.7, 0.85):  # until one interrupt lands before the run ends
        process = subprocess.Popen(_command(scenario, out, "utilitarian"), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        time.sleep(fraction * full)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate()
        if process.returncode != 0:
            break
        subprocess.run(_command(scenario, out, "maxmin"), check=True, capture_output=True)
    else:
        pytest.skip("every run finished before its interrupt arrived")
    # 130 from allocator's handler; -SIGINT if it landed while Python was still importing
    assert process.returncode in (130, -signal.SIGINT), err
    assert (out / "allocations.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_error_inside_the_block_writes_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with atomic_folder(out) as staging:
            (staging / "half.csv").write_text("a,b\n")
            raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


def test_outputs_moved_aside_by_a_dead_run_are_put_back(tmp_path):
    # the fallback path (no atomic exchange): a run died after moving the old outputs aside
    dead = 2**22 + 12345  # above the default pid_max of most systems, so no live process has it
    aside = tmp_path / f".out.old-{dead}"
    aside.mkdir()
    (aside / "summary.json").write_text("{}")
    with atomic_folder(tmp_path / "elsewhere"):
        pass
    assert not (tmp_path / "out").exists()  # only debris of the same target is touched
    with atomic_folder(tmp_path / "out", force=True) as staging:
        assert (tmp_path / "out" / "summary.json").is_file()  # restored before the new run replaces it
        (staging / "summary.json").write_text('{"new": true}')
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == {"new": True}
    assert not aside.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="atomic exchange is Linux-only")
def test_replacing_uses_an_atomic_exchange_on_linux(tmp_path, monkeypatch):
    out = tmp_path / "out"
    with atomic_folder(out) as staging:
        (staging / "summary.json").write_text('{"n": 1}')
    # if the exchange were not used, the old folder would be renamed away first: forbid that
    real_replace = os.replace

    def guarded(src, dst):
        assert Path(src) != out, "the old outputs were moved aside instead of exchanged"
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", guarded)
    with atomic_folder(out, force=True) as staging:
        (staging / "summary.json").write_text('{"n": 2}')
    assert json.loads((out / "summary.json").read_text()) == {"n": 2}


def test_restored_outputs_are_not_overwritten_without_force(tmp_path):
    # a run died after moving the old outputs aside; the next run restores them first, then refuses
    dead = 2**22 + 4321
    aside = tmp_path / f".out.old-{dead}"
    aside.mkdir()
    (aside / "summary.json").write_text('{"old": true}')
    with pytest.raises(OutputExistsError):
        with atomic_folder(tmp_path / "out"):
            pass
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == {"old": True}
