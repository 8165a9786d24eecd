"""Time the negotiation (``sim negotiate``): patrons and members trading inside the Mesa model.

Not a test. The ICJ episode (193 members, 1,000 draws, 10 rounds): preparing the episode (as a
replay does, Israel's choice of the letters' unnamed addressees included) and the negotiation
itself, ``--repeats`` times after a warm-up, medians printed. Then a heavier negotiation of the
same episode, hypothetical (not a scenario claim): Israel may ask every member, with the tie of
its letters, and a rival patron (the text's camp) asks every member for yes, offering early
warning, so both best-respond over all 192 members at every credibility each round.

Usage: .venv/bin/python benchmarks/bench_negotiate.py [--repeats 3] [--draws 1000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sim.io.scenario import parse_scenario
from sim.model.assembly import AssemblyModel
from sim.run.replay import prepare

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"

HEAVY = """
[negotiation.patrons.ARAB]
acts = ["yes"]
reach = ["all"]
tie = { dist = "uniform", low = 0.0, high = 1.0 }
source = "hypothetical, for the benchmark"

[[negotiation.patrons.ARAB.support]]
kind = "early_warning"
budget = 1.0
source = "hypothetical, for the benchmark"
"""


def timed[T](run: Callable[[], T], repeats: int) -> tuple[float, T]:
    """The median wall time of `repeats` calls of `run`, and the last call's result."""
    times, results = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        results.append(run())
        times.append(time.perf_counter() - t0)
    return statistics.median(times), results[-1]


def negotiation(setup: object) -> AssemblyModel:
    """One negotiation of the prepared episode (10 rounds)."""
    model = AssemblyModel(setup, rng=np.random.default_rng(1), mode="negotiate", rounds=10)
    model.run()
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    n, draws = args.repeats, args.draws
    prepare(ICJ, n_draws=50)  # warm-up
    t_prep, setup = timed(lambda: prepare(ICJ, n_draws=draws), n)
    t_neg, model = timed(lambda: negotiation(setup), n)
    print(
        f"ICJ as shipped, {len(setup.iso3)} members, {draws} draws, 10 rounds: prepare "
        f"{t_prep:.2f} s, negotiation {t_neg:.2f} s, total {t_prep + t_neg:.2f} s (medians of "
        f"{n}); {len(model.trades)} exchanges"
    )
    text = ICJ.read_text(encoding="utf-8")
    text = text.replace(
        "[principals.UKR]", '[principals.ARAB]\nname = "Arab Group"\n\n[principals.UKR]', 1
    )
    text = text.replace(
        'acts = ["no", "abstain"]\nsource',
        'acts = ["no", "abstain"]\nreach = ["all"]\ntie = { dist = "uniform", low = 0.0, '
        "high = 1.0 }\nsource",
        1,
    )
    text = text.replace("\n[outcome]", HEAVY + "\n[outcome]", 1)
    heavy = prepare(parse_scenario(text, path=ICJ), n_draws=draws)
    t_heavy, model = timed(lambda: negotiation(heavy), n)
    print(
        f"ICJ, both patrons free to ask all {len(heavy.iso3) - 1} other members: negotiation "
        f"{t_heavy:.2f} s (median of {n}); {len(model.trades)} exchanges"
    )


if __name__ == "__main__":
    main()
