"""Replay an episode: scenario + calibration -> every member's odds, the exact tally, the outcome.

The pipeline (MODEL.md §3, §5):

1. :func:`prepare` reads the scenario's variant and the calibrated bundle
   (:mod:`sim.run.calibrate`), places the resolution on the dimension (the ``[item] like`` roll
   call,
   re-estimated from the committee tally when the scenario gives one), and draws every uncertain
   parameter up front, each from its own stream keyed by name (ideal points and participation
   from their standard errors, persistence costs, credibilities, ties, the value of support).
2. :class:`sim.model.assembly.AssemblyModel` runs the negotiation rounds of the timeline and returns
   the odds of each act for each member and draw.
3. :class:`ReplayResult` labels them, builds the exact :class:`sim.core.tally.Tally` and writes
   ``members.csv``, ``tally.csv``, ``rounds.csv``, ``summary.json`` and ``manifest.json``.

The model reads only what was known before the vote: the roll calls before its date (through the
bundle), the committee tally and the scenario's cited events. ``[outcome]`` is copied into the
summary for comparison after everything is computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from sim.core.acts import ACTS, FloatArray
from sim.core.choice import ASK_KINDS
from sim.core.seeds import DEFAULT_SEED
from sim.core.tally import Tally, decision_rule
from sim.core.threads import single_blas_thread
from sim.io.bundles import Bundle
from sim.io.plots import plot_member_odds, plot_tally
from sim.io.results import (
    csv_text,
    describe,
    describe_html,
    git_commit,
    json_text,
    package_versions,
    tally_text,
    write_run,
)
from sim.io.scenario import Scenario, load_scenario
from sim.model.assembly import AssemblyModel
from sim.model.setup import Setup
from sim.run.calibrate import resolve_calibration
from sim.run.prepare import build_setup
from sim.run.vote_attendance import episode_attendance, replay_attendance

__all__ = ["ReplayResult", "prepare", "replay"]


INTERVAL = (0.05, 0.95)

#: Threads for the exact tally (results do not depend on it; the machines here have 2 cores).
TALLY_WORKERS = 2


def _item_summary(s: Setup) -> dict[str, Any]:
    """The item for summary.json: its parameters, or, drawn by title, the mixture's largest
    weights (the whole mixture is in the calibration).
    """
    mixture = s.bundle.meta["item"].get("by_title")
    if not (s.scenario.spec.item.by_title and s.scenario.spec.committee is None and mixture):
        return {k: float(v) for k, v in s.item.items()}
    top = np.argsort(-np.asarray(mixture["weight"]), kind="stable")[:10]
    return {
        "by_title": {
            "title": mixture["title"],
            "issue": mixture["issue"],
            "sharpness": mixture["sharpness"],
            "place_weight": mixture.get("place_weight", 1.0),
            "n_texts": len(mixture["weight"]),
            "nearest": [{k: mixture[k][j] for k in ("rcid", "symbol", "weight")} for j in top],
        }
    }


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class ReplayResult:
    """What a replay gives: labelled odds, the exact tally, the rounds, a summary.

    Attributes
    ----------
    setup : Setup
    odds : ndarray, shape (n_draws, n_members, 4)
        Final act probabilities per draw.
    tally : Tally
    rounds : DataFrame
        One row per negotiation round (Mesa ``DataCollector``).
    counter_asks : list of dict
    """

    setup: Setup
    odds: FloatArray
    tally: Tally
    rounds: pd.DataFrame
    counter_asks: tuple[dict[str, str], ...]

    def table(self) -> pd.DataFrame:
        """Every member's odds with their intervals: :attr:`members` (``members.csv``)."""
        return self.members

    def __repr__(self) -> str:
        """A short description: scenario, variant, draws, expected tally, P(adopted)."""
        s = self.setup
        return (f"<ReplayResult {s.scenario.name}/{s.variant}: {s.n_draws} draws, "
                f"{len(s.iso3)} members, {tally_text(self.tally)}>")  # fmt: skip

    def _repr_html_(self) -> str:
        """The text summary and the head of the table, for notebooks."""
        return describe_html(self, self.summary_text())

    def summary_text(self) -> str:
        """The replay as text: the focal members' odds and the tally (as ``sim replay`` prints)."""
        members = self.members.set_index("iso3")
        lines = [f"{iso3}: " + ", ".join(f"{a} {members.loc[iso3, f'p_{a}']:.3f}" for a in ACTS)
                 for iso3 in self.setup.focal if iso3 in members.index]  # fmt: skip
        mean = self.tally.mean()
        lines.append("expected tally: " + ", ".join(f"{a} {mean[a]:.1f}" for a in ACTS))
        lines.append(f"P(adopted) = {self.tally.prob_pass():.3f}")
        return describe(self, repr(self), lines)

    @property
    def members(self) -> pd.DataFrame:
        """One row per member: ``iso3, name, p_yes, p_no, p_abstain, p_absent``, then 90%
        intervals across draws (``p_yes_q05``, ``p_yes_q95``...) and ``previous_act``.
        """
        mean = self.odds.mean(axis=0)
        mean = mean / mean.sum(axis=1, keepdims=True)  # exact to rounding: rows sum to 1
        lo, hi = np.quantile(self.odds, INTERVAL, axis=0)
        s = self.setup
        frame = pd.DataFrame({"iso3": s.iso3, "name": [m.name for m in s.members]})
        for k, act in enumerate(ACTS):
            frame[f"p_{act}"] = mean[:, k]
        for k, act in enumerate(ACTS):
            frame[f"p_{act}_q05"] = lo[:, k]
            frame[f"p_{act}_q95"] = hi[:, k]
        # Per draw (a new text by title): no one previous act; the mixture is in the bundle.
        frame["previous_act"] = (
            [ACTS[p] if p >= 0 else "" for p in s.previous] if s.previous.ndim == 1 else ""
        )
        frame["no_vote"] = [m.no_vote for m in s.members]
        return frame

    def member(self, iso3: str) -> pd.Series:
        """The odds of one member (a row of :attr:`members`)."""
        return self.members.set_index("iso3").loc[iso3]

    def to_xarray(self) -> xr.Dataset:
        """The run as a labelled ``Dataset``: ``act_probability`` (draw, member, act), the odds
        per draw (what this returned as a ``DataArray`` before: ``ds["act_probability"]``);
        ``p_adopted_draw`` (draw); ``tally`` (act, count), the exact pmf of each act's count;
        ``expected`` (act); the probability of adoption in the attributes.
        """
        s = self.setup
        attrs = {"scenario": s.scenario.name, "variant": s.variant, "seed": s.seed}
        t = self.tally
        return xr.Dataset(
            {
                "act_probability": (
                    ("draw", "member", "act"), self.odds, {"units": "probability"}
                ),
                "p_adopted_draw": ("draw", np.asarray(t.prob_pass_draws), {"units": "probability"}),
                "tally": (("act", "count"), np.asarray(t.marginals), {"units": "probability"}),
                "expected": ("act", np.array([t.mean()[a] for a in ACTS])),
            },
            coords={
                "draw": np.arange(s.n_draws),
                "member": list(s.iso3),
                "act": list(ACTS),
                "count": np.arange(t.n_members + 1),
            },
            attrs={**attrs, "rule": t.rule.name, "p_adopted": t.prob_pass()},
        )  # fmt: skip

    def deal(self) -> dict[str, Any]:
        """The deal parameters of the run: median and 90% interval across draws of the value of
        support, the evasion elasticity and the readings of absence by kind of ask
        (``reading_not_support``, ``reading_positive``; absent from setups without readings),
        and where their priors came from.
        """
        s = self.setup

        def spread(x: FloatArray | None) -> dict[str, float]:
            values = np.ones(s.n_draws) if x is None else np.asarray(x, float)
            lo, mid, hi = np.quantile(values, [INTERVAL[0], 0.5, INTERVAL[1]])
            return {"median": float(mid), "q05": float(lo), "q95": float(hi)}

        out = {"support_value": spread(s.support_value), "evasion": spread(s.evasion)}
        if s.readings is not None:
            for k, kind in enumerate(ASK_KINDS):
                out[f"reading_{kind}"] = spread(s.readings[:, k])
        return {**out, "source": s.deal_source}

    def score(self) -> dict[str, Any] | None:
        """How the replay fares against the scenario's recorded outcome (None without one).

        Computed after the fact, for comparison: the replay never reads ``[outcome]``. Per act
        of the recorded tally: the expected count, the 90% interval, whether the record falls
        in it, and the exact marginal probability of the recorded count; the mean absolute
        error of the four counts; the probability of adoption against what happened (Brier
        score and log-score); for the members whose acts the outcome records, the probability
        the replay gave each act and their log-loss (mean of ``-log p``, the proper scoring rule
        of MODEL.md §7).
        """
        spec = self.setup.scenario.spec
        if spec.outcome is None:
            return None
        o = spec.outcome
        counts = o.tally.counts()
        means = self.tally.mean()
        acts_score: dict[str, Any] = {}
        for act, count in counts.items():
            pmf = self.tally.marginal(act)
            lo, hi = self.tally.interval(act)
            acts_score[act] = {
                "recorded": count,
                "expected": means[act],
                "interval90": [lo, hi],
                "inside": bool(lo <= count <= hi),
                "p_recorded": float(pmf[count]) if count < len(pmf) else 0.0,
            }
        adopted = bool(decision_rule(spec.resolution.rule).adopts(yes=o.tally.yes, no=o.tally.no))
        p = self.tally.prob_pass()
        p_happened = p if adopted else 1.0 - p
        members = self.members.set_index("iso3")
        recorded = {
            iso3: {"act": act, "p": float(members.loc[iso3, f"p_{act}"])}
            for iso3, act in sorted(o.acts.items())
            if iso3 in members.index
        }
        losses = [-np.log(max(r["p"], 1e-300)) for r in recorded.values()]
        return {
            "tally": acts_score,
            "tally_mae": float(np.mean([abs(means[a] - c) for a, c in counts.items()])),
            "adopted": adopted,
            "p_adopted": p,
            "adoption_brier": (p - float(adopted)) ** 2,
            "adoption_log_score": float(-np.log(max(p_happened, 1e-300))) + 0.0,  # not -0.0
            "acts": recorded,
            "acts_log_loss": float(np.mean(losses)) if losses else None,
        }

    def most_likely(self, iso3: str) -> str:
        """The act with the highest mean probability for `iso3`."""
        row = self.member(iso3)
        return max(ACTS, key=lambda a: row[f"p_{a}"])

    def summary(self) -> dict[str, Any]:
        """The run's headline numbers (and, apart, the recorded outcome for comparison)."""
        s = self.setup
        spec = s.scenario.spec
        members = self.members.set_index("iso3")
        tally = {
            act: {"expected": self.tally.mean()[act], "interval90": list(self.tally.interval(act))}
            for act in ACTS
        }
        out: dict[str, Any] = {
            "scenario": s.scenario.name,
            "variant": s.variant,
            "resolution": {
                "symbol": spec.resolution.symbol,
                "date": spec.resolution.date.isoformat(),
                "rule": spec.resolution.rule,
            },
            "draws": s.n_draws,
            "seed": s.seed,
            "focal": {
                iso3: {
                    **{act: float(members.loc[iso3, f"p_{act}"]) for act in ACTS},
                    "most_likely": self.most_likely(iso3),
                }
                for iso3 in s.focal
            },
            "tally": tally,
            "prob_adopted": self.tally.prob_pass(),
            "deal": self.deal(),
            "item": _item_summary(s),
            "counter_asks": list(self.counter_asks),
            "picked_addressees": {k: list(v) for k, v in s.picked.items()},
            "notes": list(s.notes),
        }
        if spec.outcome is not None:
            o = spec.outcome
            out["recorded_outcome_for_comparison"] = {
                "tally": o.tally.counts(),
                "acts": dict(o.acts),
                "source": o.source,
                "score": self.score(),
            }
        return out

    def manifest(self) -> dict[str, Any]:
        """Provenance of the run (no wall-clock time, so reruns give the same bytes)."""
        s = self.setup
        return {
            "scenario": {
                "name": s.scenario.name,
                "sha256": s.scenario.sha256,
                "file": s.scenario.path.name if s.scenario.path else None,
            },
            "variant": s.variant,
            "seed": s.seed,
            "draws": s.n_draws,
            "calibration": {
                "sha256": s.bundle.sha256,
                "window": s.bundle.meta.get("window"),
                "dimension": s.bundle.meta.get("dimension"),
            },
            "versions": package_versions(),
            "git_commit": git_commit(),
        }

    def write(self, out_dir: str | Path, *, plots: bool = True) -> Path:
        """Write the result files atomically into `out_dir` (and, with `plots`, ``odds.png`` and
        ``tally.png``); return it.

        Every table and JSON file is rendered before the first is written, so a run that fails
        while rendering leaves no file behind; ``manifest.json``, listing the files, is written
        last (:func:`sim.io.results.write_run`).
        """
        figures = self.figures() if plots else {}
        return write_run(Path(out_dir), self.texts(), self.manifest(), figures=figures)

    def texts(self) -> dict[str, str]:
        """The replay's tables and summary, rendered: ``members.csv``, ``tally.csv``,
        ``rounds.csv``, ``summary.json`` (what :meth:`write` writes, in its order).
        """
        return {
            "members.csv": csv_text(self.members),
            "tally.csv": csv_text(pd.DataFrame(self.tally.columns())),
            "rounds.csv": csv_text(self.rounds),
            "summary.json": json_text(self.summary()),
        }

    def figures(self) -> dict[str, Callable[[Path], None]]:
        """The replay's figures, each a function drawing it to a path: ``odds.png`` and
        ``tally.png``.
        """
        return {"odds.png": partial(plot_member_odds, self), "tally.png": partial(plot_tally, self)}


def prepare(
    scenario: Scenario | str | Path,
    *,
    variant: str | None = None,
    n_draws: int = 1000,
    seed: int = DEFAULT_SEED,
    calibration: Path | Bundle | None = None,
) -> Setup:
    """The arrays of a replay (no Mesa yet), on the scenario's calibration.

    :func:`sim.run.prepare.build_setup` on the bundle :func:`sim.run.calibrate.resolve_calibration`
    finds: the committed default for a shipped scenario, or for a scenario of the user's own the
    bundle made on its first use (if the data are here). Parameters as for ``build_setup``.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    calibration = resolve_calibration(scenario, calibration)
    return build_setup(
        scenario, variant=variant, n_draws=n_draws, seed=seed, calibration=calibration
    )


@single_blas_thread
def replay(
    scenario: Scenario | str | Path,
    *,
    variant: str | None = None,
    n_draws: int = 1000,
    seed: int = DEFAULT_SEED,
    calibration: Path | Bundle | None = None,
    attendance: Any = None,
) -> ReplayResult:
    """Replay a scenario's variant: the odds of every member and the exact tally.

    Parameters are those of :func:`prepare`, and

    attendance : sim.io.data.RollCallData, optional
        The roll calls: absence is then refitted by the attendance layer of the vote
        (:func:`sim.run.vote_attendance.episode_attendance`: fitted on the held-out predictions
        of the year before the vote's, the members' features read from the roll calls before its
        day; a window fit and a year's predictions, about half a minute with the fit cached), noted
        in the setup's notes. A vote the data do not hold (past their end) gets no layer, and
        neither does a replay without the data (the embedded bundles carry no roll calls).

    Examples
    --------
    >>> result = replay("scenarios/icj_referral_2022.toml", n_draws=50, seed=1)
    >>> odds = result.members[["p_yes", "p_no", "p_abstain", "p_absent"]]
    >>> bool(abs(odds.sum(axis=1) - 1).max() < 1e-9)
    True
    """
    setup = prepare(scenario, variant=variant, n_draws=n_draws, seed=seed, calibration=calibration)
    model = AssemblyModel(setup, rng=np.random.default_rng(np.random.SeedSequence(seed)))
    model.run()
    odds = model.odds
    if attendance is not None:
        layer = episode_attendance(setup.scenario, attendance, setup.iso3)
        note = "attendance layer: off (the vote is not in the data)"
        if layer is not None:
            odds = replay_attendance(odds, layer, seed=seed)
            note = (f"attendance layer: fitted on {layer.fit['year']}'s held-out predictions, "
                    f"recent record over {layer.fit['recent_days']} days")  # fmt: skip
        setup = replace(setup, notes=(*setup.notes, note))
    tally = Tally.from_probabilities(  # copy=False: the model's odds are handed over
        odds, rule=setup.scenario.spec.resolution.rule, workers=TALLY_WORKERS, copy=False
    )
    rounds = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    return ReplayResult(
        setup=setup,
        odds=tally.probabilities,
        tally=tally,
        rounds=rounds,
        counter_asks=tuple(model.counter_asks),
    )
