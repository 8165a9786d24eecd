"""``sim target``: whom a patron should ask, by the cheapest expected vote gain (MODEL.md §4),
the game of :mod:`sim.game.targeting` on a replayed episode.

:func:`plan_targets` sends the event's ask to every member with a vote, ranks them by the votes
(or the adoption) it moves, and returns a :class:`Targeting` with the assembly under the
patron's best list, the scenario's own list and nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.acts import ACTS, BoolArray, FloatArray, IntArray
from sim.core.seeds import DEFAULT_SEED
from sim.core.tally import Tally
from sim.game.targeting import adoption_curve, adoption_gains, assembly_odds, outcome_order
from sim.io.errors import ScenarioError
from sim.io.plots import plot_targets
from sim.io.results import csv_text, describe, describe_html, game_manifest, json_text, write_run
from sim.io.scenario import Scenario, load_scenario
from sim.run.plans import Plans
from sim.run.prepare import ask_answers, complete_addressees


@dataclass(frozen=True)
class Targeting:
    """A solved targeting problem: every candidate's answer to the ask, ranked.

    Attributes
    ----------
    scenario, variant, event, patron : str
    acts : tuple of str
        The acts the ask wants.
    rule : str
        The resolution's decision rule.
    iso3, names : tuple of str
        The candidates (members with a vote, not the patron), best first.
    base, asked : ndarray, shape (n, 4)
        Each candidate's mean odds (``ACTS`` order) without and with the ask.
    gain : ndarray, shape (n,)
        ``(asked - base) @ m``: the ask's expected gain in the patron's reading of the act.
    adoption_gain, p_decisive : ndarray, shape (n,)
        The exact change in the probability of adoption if only this candidate were asked, and
        its probability of being decisive between yes and no without the ask
        (:func:`adoption_gains`).
    in_scenario : ndarray of bool, shape (n,)
        Whether the scenario's event reaches the candidate.
    curve : DataFrame
        One row per number of calls ``k`` along the ranking (0 to n): the member added, the
        expected counts of each act, the expected compliance gained and, every
        :data:`ADOPTION_STEP` calls and at the chosen and the scenario's numbers, the exact
        probability of adoption (empty elsewhere).
    plans : dict of name -> dict
        ``nobody``, ``scenario`` (the event as written) and ``model`` (the best ``calls``): the
        members asked, the expected compliance gained, the expected tally with 90% intervals
        and the probability of adoption.
    calls : int
        The size of the patron's list in ``plans["model"]``.
    draws, seed : int
    objective : str
        ``votes`` (the candidates ranked by `gain`) or ``outcome`` (the first `calls` picked
        greedily for the outcome the patron wants, :func:`outcome_order`).
    """

    scenario: str
    variant: str
    event: str
    patron: str
    acts: tuple[str, ...]
    rule: str
    iso3: tuple[str, ...]
    names: tuple[str, ...]
    base: FloatArray
    asked: FloatArray
    gain: FloatArray
    adoption_gain: FloatArray
    p_decisive: FloatArray
    in_scenario: BoolArray
    curve: pd.DataFrame
    plans: Plans
    calls: int
    draws: int
    seed: int
    objective: str = "votes"
    scenario_sha256: str = ""
    calibration_sha256: str = ""

    def __repr__(self) -> str:
        """A short description: whose ask, to how many, for what objective."""
        return (f"<Targeting {self.scenario}/{self.variant}: {self.patron}'s {self.event} to "
                f"{self.calls} of {len(self.iso3)} members ({self.objective}), "
                f"{self.draws} draws>")  # fmt: skip

    def _repr_html_(self) -> str:
        """The text summary and the head of the table, for notebooks."""
        return describe_html(self, self.summary_text())

    def summary_text(self) -> str:
        """The members the ask moves most, and the assembly under each plan."""
        top = self.table().head(10)
        lines = ["the ten members the ask moves most: " + ", ".join(top["iso3"])]
        lines += [f"{name}: P(adopted) {plan['p_adopted']:.3f}"
                  for name, plan in self.plans.items() if "p_adopted" in plan]  # fmt: skip
        return describe(self, repr(self), lines)

    def table(self) -> pd.DataFrame:
        """One row per candidate, best first: rank, iso3, name, gain, whether the scenario's
        event reaches it, whether the patron's best list does, the change in the probability of
        adoption if only it were asked and its probability of being decisive, and the odds
        without and with the ask.
        """
        frame = pd.DataFrame(
            {
                "rank": np.arange(1, len(self.iso3) + 1),
                "iso3": self.iso3,
                "name": self.names,
                "gain": self.gain,
                "in_scenario": self.in_scenario,
                "in_plan": np.arange(len(self.iso3)) < self.calls,
                "adoption_gain": self.adoption_gain,
                "p_decisive": self.p_decisive,
            }
        )
        for k, act in enumerate(ACTS):
            frame[f"p_{act}"] = self.base[:, k]
        for k, act in enumerate(ACTS):
            frame[f"p_{act}_asked"] = self.asked[:, k]
        return frame

    def summary(self) -> dict[str, Any]:
        """The headline numbers, for ``summary.json``."""
        chosen = set(self.iso3[: self.calls])
        named = {c for c, s in zip(self.iso3, self.in_scenario, strict=True) if s}
        return {
            "scenario": self.scenario,
            "variant": self.variant,
            "event": self.event,
            "patron": self.patron,
            "acts": list(self.acts),
            "rule": self.rule,
            "draws": self.draws,
            "seed": self.seed,
            "calls": self.calls,
            "objective": self.objective,
            "candidates": len(self.iso3),
            "overlap_with_scenario": len(chosen & named),
            "plans": dict(self.plans),
        }

    def manifest(self) -> dict[str, Any]:
        """Provenance (no wall-clock time: reruns give the same bytes)."""
        return game_manifest(
            scenario=self.scenario, scenario_sha256=self.scenario_sha256,
            calibration_sha256=self.calibration_sha256, seed=self.seed, draws=self.draws,
            variant=self.variant, event=self.event, calls=self.calls, objective=self.objective,
        )  # fmt: skip

    def write(self, out_dir: str | Path, *, plots: bool = True) -> Path:
        """Write ``targets.csv``, ``curve.csv``, ``summary.json`` (and ``targets.png``)
        atomically, everything rendered first; ``manifest.json`` last.
        """
        texts = {
            "targets.csv": csv_text(self.table()),
            "curve.csv": csv_text(self.curve),
            "summary.json": json_text(self.summary()),
        }
        figures = {}
        if plots:
            figures["targets.png"] = partial(plot_targets, self)
        return write_run(Path(out_dir), texts, self.manifest(), figures=figures)


def plan_targets(
    scenario: Scenario | str | Path,
    *,
    event: str,
    calls: int | None = None,
    objective: str = "votes",
    variant: str | None = None,
    n_draws: int = 1000,
    seed: int = DEFAULT_SEED,
    calibration: Path | None = None,
) -> Targeting:
    """Rank every member by what `event`'s ask would gain the patron if it reached it.

    Parameters
    ----------
    scenario : Scenario or path
    event : str
        Id of an ``ask`` or ``threat`` event of the variant.
    calls : int, optional
        How many members the patron asks in its best list (default: as many as the event
        reaches in the scenario).
    objective : {"votes", "outcome"}
        ``votes`` (default) ranks by the votes the ask moves; ``outcome`` picks the first
        `calls` members greedily by the exact change each makes to the patron's wanted outcome
        (adoption if it asks for yes, else defeat), recomputed after each pick
        (:func:`outcome_order`), then the rest by votes.
    variant, n_draws, seed, calibration
        As in :func:`sim.run.replay.prepare`.

    Raises
    ------
    ScenarioError
        If the event is not an ask or threat of the variant, `calls` is negative or more than
        the candidates, or the objective is unknown (or ``outcome`` for an ask that wants
        neither outcome).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    where = f"{scenario.path or scenario.name}"
    if objective not in ("votes", "outcome"):
        raise ScenarioError(f"{where}: objective: expected votes or outcome; got {objective!r}")
    variant = variant or scenario.spec.default_variant
    scenario, _ = complete_addressees(scenario, variant, seed=seed, calibration=calibration)
    a = ask_answers(scenario, event, variant=variant, n_draws=n_draws, seed=seed,
                 calibration=calibration)  # fmt: skip
    setup, ask, written, named = a.setup, a.ask, a.written, a.named
    with_ask, base, candidates, moved, gain = a.with_ask, a.base, a.candidates, a.moved, a.gain
    order = list(a.order)
    n_named = sum(setup.iso3[j] in named for j in candidates)
    if calls is None:
        calls = n_named
    if not 0 <= calls <= len(candidates):
        raise ScenarioError(
            f"{where}: calls: expected 0 to {len(candidates)} (the members with a vote other "
            f"than the patron); got {calls}"
        )
    rule = scenario.spec.resolution.rule
    if objective == "outcome":
        wants = float(np.sign(ask.m[ACTS.index("yes")]))  # +1: adoption, -1: defeat
        if wants == 0:
            raise ScenarioError(
                f"{where}: event {event!r} asks for {' or '.join(written.acts)}, which wants "
                f"neither the adoption nor the defeat: use the votes objective"
            )
        greedy = outcome_order(base, with_ask, candidates[order], wants=wants, calls=calls,
                               rule=rule)  # fmt: skip
        position = {int(j): k for k, j in enumerate(candidates)}
        order = [position[j] for j in greedy]
    ranked = candidates[order]
    in_scenario = np.array([setup.iso3[j] in named for j in ranked])

    def plan(asked: IntArray) -> dict[str, Any]:
        probs = assembly_odds(base, with_ask, asked)
        return {
            "members": sorted(setup.iso3[j] for j in asked),
            "compliance_gain": float((moved[asked] @ ask.m).sum()),
            **Tally.from_probabilities(probs, rule=rule, copy=False).plan_fields(),
        }

    plans = {
        "nobody": plan(np.array([], dtype=np.int64)),
        "scenario": plan(ranked[in_scenario]),
        "model": plan(ranked[:calls]),
    }
    curve = adoption_curve(
        base, with_ask, ranked, moved[ranked], ask.m, rule=rule, marks=(calls, n_named),
        iso3=setup.iso3,
    )  # fmt: skip
    adoption_gain, p_decisive = adoption_gains(base, with_ask, rule=rule)
    return Targeting(
        scenario=scenario.name,
        variant=variant,
        event=event,
        patron=written.principal or "",
        acts=tuple(written.acts),
        rule=rule,
        iso3=tuple(setup.iso3[j] for j in ranked),
        names=tuple(setup.members[j].name for j in ranked),
        base=base[:, ranked].mean(axis=0),
        asked=with_ask[:, ranked].mean(axis=0),
        gain=gain[order],
        adoption_gain=adoption_gain[ranked],
        p_decisive=p_decisive[ranked],
        in_scenario=in_scenario,
        curve=curve,
        plans=Plans(**plans),
        calls=calls,
        draws=n_draws,
        seed=seed,
        objective=objective,
        scenario_sha256=scenario.sha256,
        calibration_sha256=setup.bundle.sha256,
    )
