#!/usr/bin/env python3
"""Write the synthetic homelessness-services scenario (deterministic: the same files every run).

2,000 households, four interventions of which each can receive at most one (prevention, rapid
rehousing, transitional housing, emergency shelter), whole units only, eligibility by household
type, and a predicted benefit per household and intervention (the drop in its predicted
probability of entering or staying in homelessness, 0 to 1), loosely after the shape of the
published prediction-to-intervention studies; the numbers are invented.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
INTERVENTIONS = ["prevention", "rapid_rehousing", "transitional", "shelter"]


def main(out: Path = HERE) -> None:
    rng = np.random.default_rng(2026)
    n = 2000
    race = rng.choice(["Black", "White", "Hispanic", "Asian", "Native American"], n, p=[0.38, 0.32, 0.2, 0.05, 0.05])
    household = rng.choice(["single adult", "family", "youth"], n, p=[0.55, 0.3, 0.15])
    risk = rng.beta(2, 3, n)  # predicted risk without help
    frame = pd.DataFrame({"id": [f"hh{i:04d}" for i in range(n)], "race": race, "household_type": household})
    # eligibility: transitional housing for families and youth, prevention for those still housed (about 70%)
    housed = rng.random(n) < 0.7
    eligible = {"prevention": housed, "rapid_rehousing": ~housed | (rng.random(n) < 0.3),
                "transitional": np.isin(household, ["family", "youth"]), "shelter": np.ones(n, dtype=bool)}
    effect = {"prevention": 0.45, "rapid_rehousing": 0.6, "transitional": 0.5, "shelter": 0.2}
    for name in INTERVENTIONS:
        frame[f"demand:{name}"] = eligible[name].astype(int)
        noise = rng.normal(1.0, 0.15, n).clip(0.5, 1.5)
        frame[f"value:{name}"] = np.where(eligible[name], (risk * effect[name] * noise).round(4), 0.0).clip(0.0001)
    frame.to_csv(out / "units.csv", index=False, lineterminator="\n")
    capacity = {"prevention": 450, "rapid_rehousing": 250, "transitional": 150, "shelter": 400}
    resources = "".join(f"  - {{id: {name}, unit: slots, divisible: false}}\n" for name in INTERVENTIONS)
    supply = ", ".join(f"{name}: {capacity[name]}" for name in INTERVENTIONS)
    (out / "scenario.yaml").write_text(
        "name: homelessness-services\n"
        "description: >\n  Synthetic county homelessness services: 2,000 households, four interventions of which each\n"
        "  household can receive at most one, whole slots only, predicted benefit per household and\n"
        "  intervention. Maximise total predicted benefit while the benefit rates of racial groups\n"
        "  stay within 5 points of each other.\n"
        f"resources:\n{resources}"
        f"supply: {{{supply}}}\n"
        "units: units.csv\n"
        "groups: [race, household_type]\n"
        f"exclusive: [{', '.join(INTERVENTIONS)}]\n"
        "rule: utilitarian\n"
        "constraints:\n  - {type: group_gap, attribute: race, max_gap: 0.05, measure: benefit}\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
