"""Figures of a replay: the focal members' odds and the exact tally (matplotlib, files only).

Written next to the result files; PNGs carry no timestamp, so reruns give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from sim.core.acts import ACTS
from sim.io.results import atomic_write_bytes

__all__ = [
    "plot_bargain",
    "plot_calibration",
    "plot_episode_acts",
    "plot_frontier",
    "plot_member_odds",
    "plot_sweep",
    "plot_tally",
    "plot_targets",
    "plot_variants",
]

COLOURS = {"yes": "#1b9e77", "no": "#d95f02", "abstain": "#7570b3", "absent": "#999999"}
METADATA = {"Software": None}


def save_figure(fig: plt.Figure, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata=METADATA, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def _stacked(ax: plt.Axes, labels: Sequence[str], odds: np.ndarray) -> None:
    left = np.zeros(len(labels))
    for k, act in enumerate(ACTS):
        ax.barh(labels, odds[:, k], left=left, color=COLOURS[act], label=act)
        left += odds[:, k]
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("probability")
    ax.legend(ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.15), frameon=False)


def plot_member_odds(result: Any, path: Path) -> None:
    """Stacked bars: each focal member's probability of yes, no, abstain, absent."""
    s = result.setup
    members = result.members.set_index("iso3").loc[list(s.focal)]
    odds = members[[f"p_{a}" for a in ACTS]].to_numpy()
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(s.focal) + 1.5))
    _stacked(ax, [f"{i} {n}" for i, n in zip(s.focal, members["name"], strict=True)], odds)
    spec = s.scenario.spec
    ax.set_title(f"{spec.resolution.symbol}, variant {s.variant}: odds of each act")
    save_figure(fig, path)


def plot_tally(result: Any, path: Path) -> None:
    """The exact distribution of each act's count; the recorded tally, if any, as a line."""
    spec = result.setup.scenario.spec
    fig, axes = plt.subplots(1, 4, figsize=(12, 2.8), sharey=False)
    recorded = None
    if spec.outcome is not None:
        t = spec.outcome.tally
        recorded = {"yes": t.yes, "no": t.no, "abstain": t.abstain, "absent": t.not_voting}
    for ax, act in zip(axes, ACTS, strict=True):
        pmf = result.tally.marginal(act)
        lo, hi = result.tally.interval(act, 0.999)
        counts = np.arange(len(pmf))
        ax.bar(counts[lo : hi + 1], pmf[lo : hi + 1], width=1.0, color=COLOURS[act])
        if recorded is not None:
            ax.axvline(recorded[act], color="black", linestyle="--", linewidth=1,
                       label="recorded (not an input)")  # fmt: skip
        ax.set_title(act)
        ax.set_xlabel("members")
    axes[0].set_ylabel("probability")
    if recorded is not None:
        axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle(
        f"{spec.resolution.symbol}, variant {result.setup.variant}: exact tally; "
        f"P(adopted) = {result.tally.prob_pass():.3f}",
        y=1.06,
    )
    save_figure(fig, path)


def plot_variants(results: Sequence[Any], iso3: str, path: Path) -> None:
    """One member's odds under each variant, stacked bars (e.g. Ukraine in the ICJ episode)."""
    labels = [r.setup.variant for r in results]
    odds = np.array([[r.member(iso3)[f"p_{a}"] for a in ACTS] for r in results])
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(results) + 1.5))
    _stacked(ax, labels, odds)
    name = results[0].member(iso3)["name"]
    ax.set_title(f"{name}: odds of each act by variant")
    save_figure(fig, path)


def plot_calibration(predictions: Any, path: Path, *, methods: Sequence[str] = ("model",)) -> None:
    """Predicted vs observed frequency of each act (10 bins), one panel per act."""
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.3))
    bins = np.linspace(0, 1, 11)
    for ax, act in zip(axes, ACTS, strict=True):
        observed = (predictions["act"] == act).to_numpy()
        for method in methods:
            p = predictions[f"{method}_{act}"].to_numpy()
            which = np.clip(np.digitize(p, bins) - 1, 0, 9)
            x = [p[which == b].mean() for b in range(10) if (which == b).any()]
            y = [observed[which == b].mean() for b in range(10) if (which == b).any()]
            ax.plot(x, y, marker="o", label=method)
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
        ax.set_title(act)
        ax.set_xlabel("predicted")
    axes[0].set_ylabel("observed frequency")
    axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle("Calibration of member-vote predictions (rolling origin)", y=1.04)
    save_figure(fig, path)


def plot_sweep(points: Any, members: Any, key: str, iso3: str, path: Path) -> None:
    """One focal member's odds (top) and the probability of adoption (bottom) along a sweep of
    one key (``points`` and ``members``: the tables of :func:`sim.run.sweep.run_sweep`)."""
    rows = members[members["iso3"] == iso3]
    labels = [str(v) for v in rows[key]]
    x = np.arange(len(labels))
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6.5, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    for act in ACTS:
        top.plot(x, rows[f"p_{act}"], marker="o", label=act, color=COLOURS[act])
    top.set_ylabel(f"{iso3}: probability of each act")
    top.set_ylim(0, 1)
    top.legend(ncol=4, fontsize="small", loc="upper center")
    bottom.plot(x, points["p_adopted"], marker="o", color="black")
    bottom.set_ylabel("P(adopted)")
    bottom.set_ylim(-0.05, 1.05)
    bottom.set_xticks(x, labels, rotation=30, ha="right")
    bottom.set_xlabel(key)
    save_figure(fig, path)


def plot_bargain(bargain: Any, path: Path, *, cost_ratio: float | None = None) -> None:
    """The target's odds along the patron's offers (top) and the patron's expected compliance
    with the offers it ever chooses marked (bottom; the equilibrium at `cost_ratio` circled)."""
    c = bargain.credibility
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6.5, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    for k, act in enumerate(ACTS):
        top.plot(c, bargain.odds[:, k], marker=".", label=act, color=COLOURS[act])
    top.set_ylabel(f"{bargain.target}: probability of each act")
    top.set_ylim(0, 1)
    top.legend(ncol=4, fontsize="small", loc="center right")
    what = "its threat to withhold " if bargain.event_kind == "threat" else ""
    top.set_title(
        f"{bargain.patron} prices {what}{bargain.kind} for {bargain.target} ({bargain.event})",
        fontsize="medium",
    )
    table = bargain.table()
    bottom.plot(c, table["compliance"], color="black", marker=".")
    hull = table[table["on_hull"]]
    bottom.plot(hull["credibility"], hull["compliance"], "s", color="black", fillstyle="none",
                label="offers the patron ever makes")  # fmt: skip
    if cost_ratio is not None:
        best = bargain.best_response(cost_ratio)
        label = f"best response, cost ratio {cost_ratio:g}"
        bottom.plot([best["credibility"]], [best["compliance"]], "o", color="red", markersize=10,
                    fillstyle="none", label=label)  # fmt: skip
    bottom.set_ylabel("patron's expected reading")
    bottom.set_xlabel(
        f"credibility of the {'threat' if bargain.event_kind == 'threat' else 'offer'}"
    )
    bottom.legend(fontsize="small", loc="lower right")
    save_figure(fig, path)


def plot_targets(targeting: Any, path: Path) -> None:
    """Change in the expected count of each act as the patron works down its ranking (top; its
    list dotted, the scenario's list circled) and the exact probability of adoption where
    computed (bottom)."""
    curve = targeting.curve
    k = curve["calls"].to_numpy()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6.5, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    named = targeting.plans["scenario"]
    n_named = len(named["members"])
    nobody = targeting.plans["nobody"]
    for act in ACTS:
        change = curve[f"expected_{act}"] - curve[f"expected_{act}"].iloc[0]
        top.plot(k, change, label=act, color=COLOURS[act])
        top.plot([n_named], [named[f"expected_{act}"] - nobody[f"expected_{act}"]], "o",
                 color=COLOURS[act], fillstyle="none")  # fmt: skip
    top.axhline(0.0, color="black", linewidth=0.5)
    top.axvline(targeting.calls, color="black", linestyle=":", linewidth=1)
    top.set_ylabel("change in expected members")
    top.legend(ncol=4, fontsize="small", loc="lower left")
    top.set_title(
        f"{targeting.patron} sends {targeting.event} to its best {targeting.calls} "
        f"(dotted; circles: the scenario's {n_named})",
        fontsize="medium",
    )
    known = curve.dropna(subset=["p_adopted"])
    bottom.plot(known["calls"], known["p_adopted"], color="black", marker=".")
    bottom.set_ylim(-0.02, 1.02)
    bottom.set_ylabel("P(adopted)")
    bottom.set_xlabel("members asked, best first")
    save_figure(fig, path)


def plot_frontier(purchase: Any, path: Path) -> None:
    """Expected compliance the patron buys against what it spends, along the cheapest expected
    vote gain (the frontier), with the budget (dotted), its allocation and the scenario's own
    event (circle)."""
    frontier = purchase.frontier
    cost, gain = frontier["cost"].to_numpy(), frontier["gain"].to_numpy()
    finite = np.isfinite(cost)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.plot(cost[finite], gain[finite], color="black", label="cheapest expected vote gain")
    model, own = purchase.plans["model"], purchase.plans["scenario"]
    ax.plot([model["spend"]], [model["compliance_gain"]], "o", color="black",
            label=f"allocation ({len(model['members'])} members)")  # fmt: skip
    ax.plot([own["spend"]], [own["compliance_gain"]], "o", color="black", fillstyle="none",
            label=f"the scenario's {purchase.event} ({len(own['members'])})")  # fmt: skip
    ax.axvline(purchase.budget, color="black", linestyle=":", linewidth=1)
    ax.set_xlabel(f"spend (firm commitments of a member's whole need for {purchase.kind})")
    ax.set_ylabel(f"{purchase.patron}'s expected compliance gained")
    ax.set_title(
        f"{purchase.patron} spends a budget of {purchase.budget:.3g} on {purchase.event}",
        fontsize="medium",
    )
    ax.legend(fontsize="small", loc="lower right")
    save_figure(fig, path)


def plot_episode_acts(members: Any, path: Path, *, title: str = "") -> None:
    """Predicted against recorded acts: per recorded act (with its count), the members' mean
    predicted probability of each act (``members``: columns ``recorded`` and ``p_<act>``)."""
    rows = [act for act in ACTS if (members["recorded"] == act).any()]
    odds = np.array(
        [members.loc[members["recorded"] == act, [f"p_{a}" for a in ACTS]].mean() for act in rows]
    )
    labels = [f"recorded {act} ({int((members['recorded'] == act).sum())})" for act in rows]
    fig, ax = plt.subplots(figsize=(6.5, 0.5 + 0.45 * len(rows)))
    _stacked(ax, labels, odds)
    ax.set_xlabel("mean predicted probability (leave-one-out deal)")
    ax.set_title(title, fontsize=10)
    save_figure(fig, path)
