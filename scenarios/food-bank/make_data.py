"""Regenerate the synthetic food-bank data (units.csv, links.csv).

All numbers are SYNTHETIC (fixed random seed); they are sized to resemble a
regional food bank serving ~100 counties, not taken from any real source.

    python make_data.py        # rewrites units.csv and links.csv, prints supply

The warehouse supply figures printed at the end are the ones written into
scenario.yaml (60% of the demand attributed to each warehouse, +/- 4%,
rounded to 1,000 lb).
"""
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 2026
HERE = Path(__file__).parent
rng = np.random.default_rng(SEED)

REGIONS = {"north": 22, "east": 20, "south": 24, "west": 18, "central": 16}
# Neighbouring regions whose warehouse a county may also be able to reach.
ADJACENT = {
    "north": ["east", "west", "central"],
    "east": ["north", "south", "central"],
    "south": ["east", "west", "central"],
    "west": ["north", "south", "central"],
    "central": ["north", "east", "south", "west"],
}
# P(rural, suburban, urban) by region: the central region is the metro area.
RURALITY_P = {
    "north": [0.70, 0.20, 0.10],
    "east": [0.45, 0.35, 0.20],
    "south": [0.55, 0.30, 0.15],
    "west": [0.70, 0.20, 0.10],
    "central": [0.15, 0.45, 0.40],
}
# Median food-insecure population by rurality (lognormal around it).
MEDIAN_POP = {"rural": 4000, "suburban": 9000, "urban": 20000}
LB_PER_PERSON = 2.5  # lb per food-insecure person per quarter the bank aims to cover
SUPPLY_RATIO = 0.60

regions = np.array([r for r, n in REGIONS.items() for _ in range(n)])
rng.shuffle(regions)

units, links = [], []
for i, region in enumerate(regions, start=1):
    cid = f"county-{i:03d}"
    rurality = rng.choice(["rural", "suburban", "urban"], p=RURALITY_P[region])
    pop = MEDIAN_POP[rurality] * rng.lognormal(0.0, 0.45)
    pop = float(np.clip(pop, 2000, 48000))
    demand = int(round(pop * LB_PER_PERSON, -2))  # 5,000 .. 120,000 lb
    units.append({"id": cid, "demand": demand, "region": region, "rurality": rurality})

    reach = [region]
    u = rng.random()
    n_extra = 2 if u < 0.12 else (1 if u < 0.50 else 0)
    reach += list(rng.choice(ADJACENT[region], size=n_extra, replace=False))
    links += [{"unit": cid, "site": f"wh-{r}"} for r in reach]

units = pd.DataFrame(units)
links = pd.DataFrame(links)
units.to_csv(HERE / "units.csv", index=False)
links.to_csv(HERE / "links.csv", index=False)

# Supply: each county's demand is split evenly over the warehouses it can reach;
# each warehouse holds ~60% of the demand attributed to it.
n_links = links.groupby("unit").size()
dem = units.set_index("id")["demand"]
attributed = (links.assign(d=links["unit"].map(dem / n_links))
              .groupby("site")["d"].sum())
supply = {s: int(round(SUPPLY_RATIO * a * rng.uniform(0.96, 1.04), -3))
          for s, a in attributed.items()}


def max_uniform_fill(supply, links, dem):
    """Largest t such that every unit can get t * demand (Hall/Gale condition):
    min over site sets S of supply(S) / demand(units that reach only sites in S)."""
    reach = links.groupby("unit")["site"].apply(frozenset)
    best = float("inf")
    for k in range(1, len(supply) + 1):
        for S in combinations(supply, k):
            d = dem[[u for u, r in reach.items() if r <= set(S)]].sum()
            if d > 0:
                best = min(best, sum(supply[s] for s in S) / d)
    return best


print("supply (lb):", supply)
print(f"total demand {dem.sum():,} lb, total supply {sum(supply.values()):,} lb, "
      f"ratio {sum(supply.values()) / dem.sum():.3f}")
print(f"max uniform fill rate reachable through links: "
      f"{max_uniform_fill(supply, links, dem):.3f}")
