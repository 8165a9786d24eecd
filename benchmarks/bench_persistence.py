"""Time the persistence fit (text shock with its decay over time) and the deal calibration.

For the ten years before the 30 Dec 2022 plenary vote, on ``"me"`` and ``"all"``: the whole
window fit (:func:`sim.estimate.window.fit_window`: ideal points, strategic absence, group shocks,
persistence) with the persistence parameters and how much the decay improves their fit; then
the deal calibration of the ICJ scenario on its episodes (:func:`sim.run.calibrate.calibrate_deal`).
Not a test. Run::

    SIM_DATA_DIR=../shared/data .venv/bin/python benchmarks/bench_persistence.py

Timings are of one run on this machine; compare ratios, not absolute numbers.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from machine import machine_line

from sim.core.persistence import shock_correlation
from sim.estimate.window import fit_window
from sim.io.data import load_roll_calls
from sim.io.scenario import load_scenario
from sim.run.calibrate import calibrate_deal

ROOT = Path(__file__).resolve().parents[1]
END = pd.Timestamp("2022-12-30")


def main() -> None:
    data = load_roll_calls(os.environ.get("SIM_DATA_DIR"))
    print(machine_line())
    for dimension in ("me", "all"):
        t0 = time.perf_counter()
        fit = fit_window(data, start=END - pd.DateOffset(years=10), end=END, dimension=dimension)
        seconds = time.perf_counter() - t0
        p = fit.persistence
        r = shock_correlation(np.array([49 / 365.25, 1.0, 2.0, 3.0]), tau=p["tau"],
                              power=p["power"])  # fmt: skip
        print(
            f"{dimension}: window fit {seconds:.0f} s; {int(p['n_pairs'])} of "
            f"{int(p['n_pairs_available'])} pairs; sigma {p['sigma']:.2f}, scale {p['scale']:.2f}, "
            f"tau {p['tau']:.2f} y, power {p['power']:.2f}; decay gains "
            f"{p['loglik'] - p['loglik_no_decay']:.1f} log-lik; correlation at 7 weeks, 1, 2, "
            f"3 years: {', '.join(f'{v:.2f}' for v in r)}"
        )
    scenario = load_scenario(ROOT / "scenarios" / "icj_referral_2022.toml")
    t0 = time.perf_counter()
    deal = calibrate_deal(scenario, data)
    seconds = time.perf_counter() - t0
    assert deal is not None
    v, k = deal["support_value"], deal["evasion"]
    print(
        f"deal from {', '.join(deal['episodes'])}: {seconds:.0f} s; support value "
        f"{v['median']:.1f} (log-sd {v['sigma']:.2f}), evasion {k['median']:.2f} (log-sd "
        f"{k['sigma']:.2f}); log-lik {deal['loglik']:.1f} vs {deal['loglik_prior']:.1f} at the "
        f"prior medians"
    )


if __name__ == "__main__":
    main()
