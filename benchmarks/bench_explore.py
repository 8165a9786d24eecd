"""Time what a slider move of ``sim explore`` costs on the server, at the page's 1,000 draws.

A move rebuilds the asks on the prepared episode, replays the rounds with the first model's calm
odds (``calm_from``) and computes what the page shows: every member's mean and 5-95% interval,
the exact tally and the margin's distribution (:meth:`sim.run.workbench.Workbench.view`); the
figures are then drawn (matplotlib, PNG). A move of the principal's weight also re-prepares the
file (the patron may pick other addressees), once per value. Medians of ``--repeats`` moves per
slider, wall clock by stage and the move's CPU time (all its threads: on a loaded machine the
wall clock overstates what a user's idle machine takes). Not a test.

Usage: .venv/bin/python benchmarks/bench_explore.py [--draws 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import time
from pathlib import Path

from sim.io.plots import margin_figure, odds_figure, strip_figure
from sim.run.workbench import Workbench

ROOT = Path(__file__).resolve().parents[1]


def move(bench: Workbench, settings) -> dict[str, float]:
    """One slider move, timed by stage (wall clock), and its whole CPU time (all threads)."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    model = bench.model(settings)
    t1 = time.perf_counter()
    view = bench.view(model)
    t2 = time.perf_counter()
    figures = [
        odds_figure(view.members, [settings.focal]),
        margin_figure(
            view.margins, view.margin_pmf, min_margin=view.rule.min_margin,
            no_weight=view.rule.no_weight, p_adopted=view.p_adopted,
        ),
        strip_figure(view.members, focal=settings.focal),
    ]  # fmt: skip
    for fig in figures:
        fig.savefig(io.BytesIO(), format="png")  # as solara.FigureMatplotlib does
    t3 = time.perf_counter()
    cpu = time.process_time() - c0
    return {"rounds": t1 - t0, "view": t2 - t1, "figures": t3 - t2, "total": t3 - t0, "cpu": cpu}


def main() -> None:
    """Time each slider's moves and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{args.draws} draws, median of {args.repeats} moves")  # fmt: skip
    t = time.perf_counter()
    bench = Workbench(ROOT / "scenarios" / "icj_referral_2022.toml", n_draws=args.draws)
    base = bench.defaults()
    move(bench, base)  # the page's first model: calm odds, kept for every later move
    print(f"open (prepare, first model, view, figures): {time.perf_counter() - t:.2f} s")
    sliders = {
        "credibility": lambda k: base.but(credibility=0.3 + 0.1 * k),
        "size": lambda k: base.but(size=0.9 - 0.1 * k),
        "value of support": lambda k: base.but(support_value=3.0 + k),
        "principal's weight": lambda k: base.but(tie=0.2 + 0.2 * k),
    }
    for name, at in sliders.items():
        runs = [move(bench, at(k)) for k in range(args.repeats)]
        medians = {part: statistics.median(r[part] for r in runs) for part in runs[0]}
        print(f"{name:>20}: " + ", ".join(f"{k} {v:.3f} s" for k, v in medians.items()))


if __name__ == "__main__":
    main()
