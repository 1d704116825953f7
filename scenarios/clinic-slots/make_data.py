"""Regenerate the synthetic clinic-slots data (units.csv, links.csv).

All numbers are SYNTHETIC (fixed random seed); they are sized to resemble a
city health department booking one quarter of primary-care and dental
appointments across ~36 neighbourhoods, not taken from any real source.

    python make_data.py        # rewrites units.csv and links.csv, prints supply

The clinic supply figures printed at the end are the ones written into
scenario.yaml (a fixed share of the demand attributed to each clinic,
+/- 3%, rounded to 10 appointments).
"""
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 7
HERE = Path(__file__).parent
rng = np.random.default_rng(SEED)

DISTRICTS = ["harbour", "midtown", "eastside", "uplands"]
PER_DISTRICT = 9
INCOME_P = {  # P(low, middle, high) by district
    "harbour": [0.60, 0.30, 0.10],
    "midtown": [0.30, 0.45, 0.25],
    "eastside": [0.50, 0.40, 0.10],
    "uplands": [0.10, 0.40, 0.50],
}
# Which resources each clinic offers; eastside has no dentist, the dental
# school (in midtown, close to eastside) offers dental only.
OFFERS = {
    "clinic-harbour": ["primary_care", "dental"],
    "clinic-midtown": ["primary_care", "dental"],
    "clinic-eastside": ["primary_care"],
    "clinic-uplands": ["primary_care", "dental"],
    "dental-school": ["dental"],
}
HOME = {d: f"clinic-{d}" for d in DISTRICTS}
NEARBY = {  # extra clinics a neighbourhood in the district may reach
    "harbour": ["clinic-midtown"],
    "midtown": ["clinic-harbour", "clinic-eastside", "clinic-uplands", "dental-school"],
    "eastside": ["clinic-midtown", "clinic-uplands"],
    "uplands": ["clinic-midtown", "clinic-eastside"],
}
# Appointments needed per resident per quarter, by income band.
PC_RATE = {"low": 0.10, "middle": 0.07, "high": 0.05}
DENTAL_RATE = {"low": 0.05, "middle": 0.035, "high": 0.02}
NO_DENTAL_P = {"low": 0.05, "middle": 0.20, "high": 0.40}  # covered elsewhere
VALUE = {"low": 1.5, "middle": 1.2, "high": 1.0}  # priority weight per appointment
SUPPLY_RATIO = {"primary_care": 0.70, "dental": 0.65}

units, links = [], []
i = 0
for district in DISTRICTS:
    for _ in range(PER_DISTRICT):
        i += 1
        nid = f"nbhd-{i:02d}"
        band = rng.choice(["low", "middle", "high"], p=INCOME_P[district])
        pop = rng.uniform(3000, 14000)
        pc = int(round(pop * PC_RATE[band] * rng.uniform(0.85, 1.15), -1))
        dental = int(round(pop * DENTAL_RATE[band] * rng.uniform(0.85, 1.15), -1))
        if rng.random() < NO_DENTAL_P[band]:
            dental = None  # written as a blank cell = 0
        units.append({"id": nid, "demand:primary_care": pc, "demand:dental": dental,
                      "value:primary_care": VALUE[band], "value:dental": VALUE[band],
                      "district": district, "income_band": band})

        reach = [HOME[district]]
        if district == "eastside":
            reach.append("dental-school")  # only dental option for eastside
            n_extra = 1 if rng.random() < 0.40 else 0
        else:
            u = rng.random()
            n_extra = 2 if u < 0.10 else (1 if u < 0.45 else 0)
        n_extra = min(n_extra, len(NEARBY[district]))
        reach += list(rng.choice(NEARBY[district], size=n_extra, replace=False))
        links += [{"unit": nid, "site": s} for s in reach]

units = pd.DataFrame(units).astype({"demand:dental": "Int64"})
links = pd.DataFrame(links)
units.to_csv(HERE / "units.csv", index=False)
links.to_csv(HERE / "links.csv", index=False)


def max_uniform_fill(supply, links, dem):
    """Largest t such that every unit can get t * demand (Hall/Gale condition):
    min over site sets S of supply(S) / demand(units that reach only sites in S)."""
    reach = links.groupby("unit")["site"].apply(lambda s: frozenset(s) & set(supply))
    reach = reach[reach.index.isin(dem.index)]
    best = float("inf")
    for k in range(len(supply) + 1):  # k = 0 catches units with no usable clinic
        for S in combinations(supply, k):
            d = dem[[u for u, r in reach.items() if r <= set(S)]].sum()
            if d > 0:
                best = min(best, sum(supply[s] for s in S) / d)
    return best


supply = {s: {} for s in OFFERS}
for res, ratio in SUPPLY_RATIO.items():
    dem = units.set_index("id")[f"demand:{res}"].fillna(0).astype(int)
    offering = [s for s, r in OFFERS.items() if res in r]
    lk = links[links["site"].isin(offering)]
    n_links = lk.groupby("unit").size()
    attributed = lk.assign(d=lk["unit"].map(dem / n_links)).groupby("site")["d"].sum()
    res_supply = {s: int(round(ratio * a * rng.uniform(0.97, 1.03), -1))
                  for s, a in attributed.items()}
    for s, v in res_supply.items():
        supply[s][res] = v
    total = sum(res_supply.values())
    print(f"{res}: demand {dem.sum():,}, supply {total:,}, ratio {total / dem.sum():.3f}, "
          f"max uniform fill {max_uniform_fill(res_supply, links, dem[dem > 0]):.3f}")

print("supply (appointments):", supply)
