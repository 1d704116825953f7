#!/usr/bin/env python3
"""Write the synthetic vaccine-rationing scenario (deterministic: the same files every run).

600 people asking for one dose each, 200 doses, a reserve system after the ones US states used in
early 2021: 20% of doses reserved for essential workers, 10% for residents of disadvantaged areas,
the rest open, everyone ordered by age (oldest first), ties by a seeded lottery. The numbers are
invented.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def main(out: Path = HERE) -> None:
    rng = np.random.default_rng(2021)
    n = 600
    age = rng.integers(18, 96, n)
    frame = pd.DataFrame({
        "id": [f"p{i:03d}" for i in range(n)],
        "demand": 1,
        "job": np.where(rng.random(n) < 0.25, "essential", "other"),
        "area": np.where(rng.random(n) < 0.3, "disadvantaged", "other"),
        "age": age,
    })
    frame.to_csv(out / "units.csv", index=False, lineterminator="\n")
    (out / "scenario.yaml").write_text(
        "name: vaccine-reserves\n"
        "description: >\n  Synthetic vaccine rationing: 600 people, 200 doses; 20% reserved for essential workers,\n"
        "  10% for disadvantaged areas, the rest open; oldest first within each category.\n"
        "resources: [{id: dose, unit: doses, divisible: false}]\n"
        "supply: {dose: 200}\n"
        "units: units.csv\n"
        "groups: [job, area]\n"
        "rule: reserve\n"
        "reserves:\n"
        "  priority: {score: age}\n"
        "  seed: 1\n"
        "  method: sequential\n"
        "  categories:\n"
        "    - {id: essential, share: 0.2, attribute: job, groups: [essential]}\n"
        "    - {id: disadvantaged, share: 0.1, attribute: area, groups: [disadvantaged]}\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
