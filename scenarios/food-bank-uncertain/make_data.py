"""Write units.csv of the uncertain food-bank scenario from ../food-bank/units.csv.

All numbers are SYNTHETIC. Each county's demand forecast gets an interval: the low end
is 80-95% of the forecast and the high end 110-140% (wider for rural counties, whose counts
are noisier), rounded to 100 lb, from a fixed seed.

    python make_data.py        # rewrites units.csv
"""
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
rng = np.random.default_rng(2027)

units = pd.read_csv(HERE.parent / "food-bank" / "units.csv")
rural = (units["rurality"] == "rural").to_numpy()
low = units["demand"] * rng.uniform(0.80, 0.95, len(units))
high = units["demand"] * np.where(rural, rng.uniform(1.20, 1.40, len(units)), rng.uniform(1.10, 1.25, len(units)))
units["demand_low"] = np.minimum((low / 100).round() * 100, units["demand"])
units["demand_high"] = np.maximum((high / 100).round() * 100, units["demand"])
units.to_csv(HERE / "units.csv", index=False, lineterminator="\n")
