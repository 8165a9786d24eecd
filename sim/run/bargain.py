"""``sim bargain``: price one target's counter-ask (MODEL.md §4), the game of
:mod:`sim.game.bargaining` on a replayed episode.

:func:`price_offer` replays the target's exact quantal response at every credibility of the
offer (common random numbers) and returns a :class:`Bargain`: the offers the patron ever makes
by range of cost ratio, its best response at one ratio, and both sides' surpluses.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.acts import ABSENT, ACTS, FloatArray
from sim.core.seeds import DEFAULT_SEED
from sim.core.tremble import apply_tremble
from sim.game.bargaining import DEFAULT_GRID, logit_surplus, upper_hull
from sim.io.errors import ScenarioError
from sim.io.plots import plot_bargain
from sim.io.results import csv_text, describe, describe_html, game_manifest, json_text, write_run
from sim.io.scenario import Scenario, load_scenario
from sim.model.assembly import Replays
from sim.run.replay import prepare


@dataclass(frozen=True)
class Bargain:
    """A solved pricing game: the target's response at every offer and the patron's choices.

    Attributes
    ----------
    scenario, variant, event, patron, target, kind : str
    event_kind : str
        ``ask`` (the cost is the commitment's, paid whatever the target does) or ``threat``
        (paid when the threat is carried out, on defiance).
    need : float
        The target's need for the offered kind (0 to 1).
    credibility : ndarray, shape (n,)
        The grid of offers.
    odds : ndarray, shape (n, 4)
        The target's mean odds of each act (``ACTS`` order) at each offer.
    compliance : ndarray, shape (n,)
        ``G(c)``: the patron's expected reading of the target's act.
    cost : ndarray, shape (n,)
        The patron's expected cost in units of ``K`` (the cost of committing, or carrying out a
        threat on, the target's whole need): ``c * need`` for an ask, ``c * need * D(c)`` for a
        threat (module docstring).
    target_surplus : ndarray, shape (n,)
        Mean logit surplus of the target against no commitment (``c = 0``).
    target_surplus_interval : ndarray, shape (n, 2)
        Its 5% and 95% quantiles across draws.
    draws, seed : int
    """

    scenario: str
    variant: str
    event: str
    patron: str
    target: str
    kind: str
    event_kind: str
    need: float
    credibility: FloatArray
    odds: FloatArray
    compliance: FloatArray
    cost: FloatArray
    target_surplus: FloatArray
    target_surplus_interval: FloatArray
    draws: int
    seed: int
    scenario_sha256: str = ""
    calibration_sha256: str = ""

    @property
    def zero(self) -> int:
        """Index of the offer of nothing (``c = 0``) on the grid."""
        return int(np.flatnonzero(self.credibility == 0.0)[0])

    def __repr__(self) -> str:
        """A short description: who prices what for whom, on how many offers."""
        return (f"<Bargain {self.scenario}/{self.variant}: {self.patron} prices {self.kind} for "
                f"{self.target} ({self.event}), {len(self.credibility)} offers, "
                f"{self.draws} draws>")  # fmt: skip

    def _repr_html_(self) -> str:
        """The text summary and the head of the table, for notebooks."""
        return describe_html(self, self.summary_text())

    def summary_text(self) -> str:
        """The offers the patron ever makes, with the target's most likely act at each."""
        rows = self.switch_points
        lines = [f"{len(rows)} offers the patron ever makes (by range of cost ratio):"]
        for row in rows.to_dict("records"):
            lines.append(", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                   for k, v in row.items()))  # fmt: skip
        return describe(self, repr(self), lines)

    def table(self) -> pd.DataFrame:
        """One row per offer: credibility, the target's odds, ``compliance`` (G), the patron's
        ``gain`` over no commitment, the target's surplus, and ``on_hull`` (ever chosen).
        """
        frame = pd.DataFrame({"credibility": self.credibility})
        for k, act in enumerate(ACTS):
            frame[f"p_{act}"] = self.odds[:, k]
        frame["compliance"] = self.compliance
        frame["gain"] = self.compliance - self.compliance[self.zero]
        frame["cost"] = self.cost
        frame["target_surplus"] = self.target_surplus
        frame["target_surplus_q05"] = self.target_surplus_interval[:, 0]
        frame["target_surplus_q95"] = self.target_surplus_interval[:, 1]
        hull = set(upper_hull(self.cost, self.compliance))
        frame["on_hull"] = [i in hull for i in range(len(self.credibility))]
        return frame

    @property
    def switch_points(self) -> pd.DataFrame:
        """The offers the patron ever chooses, each with the range of the cost ratio ``r``
        (cost of committing, or carrying out a threat on, the whole need / value of a unit of
        compliance) on which it is the best response: ``cost_ratio_low <= r <=
        cost_ratio_high``.
        """
        hull = upper_hull(self.cost, self.compliance)
        slopes = [
            (self.compliance[b] - self.compliance[a]) / (self.cost[b] - self.cost[a])
            for a, b in itertools.pairwise(hull)
        ]
        highs = [float("inf"), *slopes]
        lows = [*slopes, 0.0]
        return pd.DataFrame(
            {
                "credibility": self.credibility[hull],
                "cost_ratio_low": lows,
                "cost_ratio_high": highs,
                "compliance": self.compliance[hull],
                "target_surplus": self.target_surplus[hull],
            }
        )

    def best_response(self, cost_ratio: float) -> pd.Series:
        """The equilibrium at one cost ratio: the offer maximising ``G(c) - r * c * need`` (ties:
        the smaller offer), the target's odds, and both sides' surpluses.
        """
        if not cost_ratio >= 0:
            raise ValueError(f"the cost ratio must be a number >= 0; got {cost_ratio!r}")
        payoff = self.compliance - cost_ratio * self.cost
        best = int(np.flatnonzero(payoff >= payoff.max() - 1e-12)[0])
        row = self.table().iloc[best].copy()
        row["cost_ratio"] = cost_ratio
        row["patron_surplus"] = float(payoff[best] - payoff[self.zero])
        return row

    def summary(self, cost_ratio: float | None = None) -> dict[str, Any]:
        """The headline numbers, for ``summary.json``."""
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "variant": self.variant,
            "event": self.event,
            "patron": self.patron,
            "target": self.target,
            "kind": self.kind,
            "event_kind": self.event_kind,
            "need": self.need,
            "draws": self.draws,
            "seed": self.seed,
            "switch_points": self.switch_points.to_dict(orient="records"),
        }
        if cost_ratio is not None:
            out["equilibrium"] = self.best_response(cost_ratio).to_dict()
        return out

    def manifest(self) -> dict[str, Any]:
        """Provenance (no wall-clock time: reruns give the same bytes)."""
        return game_manifest(
            scenario=self.scenario, scenario_sha256=self.scenario_sha256,
            calibration_sha256=self.calibration_sha256, seed=self.seed, draws=self.draws,
            variant=self.variant, event=self.event, target=self.target,
            grid=[float(c) for c in self.credibility],
        )  # fmt: skip

    def write(
        self, out_dir: str | Path, *, cost_ratio: float | None = None, plots: bool = True
    ) -> Path:
        """Write ``offers.csv``, ``switch_points.csv``, ``summary.json`` (and ``bargain.png``)
        atomically, everything rendered first; ``manifest.json`` last.
        """
        texts = {
            "offers.csv": csv_text(self.table()),
            "switch_points.csv": csv_text(self.switch_points),
            "summary.json": json_text(self.summary(cost_ratio)),
        }
        figures = {}
        if plots:
            figures["bargain.png"] = partial(plot_bargain, self, cost_ratio=cost_ratio)
        return write_run(Path(out_dir), texts, self.manifest(), figures=figures)


def price_offer(
    scenario: Scenario | str | Path,
    *,
    event: str,
    target: str,
    credibilities: Sequence[float] = DEFAULT_GRID,
    variant: str | None = None,
    n_draws: int = 1000,
    seed: int = DEFAULT_SEED,
    calibration: Path | None = None,
) -> Bargain:
    """Solve the pricing game of `event`'s offer to `target` (module docstring).

    Parameters
    ----------
    scenario : Scenario or path
    event : str
        Id of an ``ask`` or ``threat`` event with an ``offer`` that reaches `target`, and the
        patron's latest ask to it (a later one would supersede it).
    target : str
        ISO3 code of the member whose vote is priced.
    credibilities : sequence of float
        The patron's choices, each in [0, 1]; 0 (no commitment) is always added.
    variant, n_draws, seed, calibration
        As in :func:`sim.run.replay.prepare`.

    Raises
    ------
    ScenarioError
        If the event does not exist in the variant, has no offer, does not reach the target,
        is superseded, or a credibility is out of range.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    where = f"{scenario.path or scenario.name}"
    grid = np.array(sorted({0.0, *(float(c) for c in credibilities)}))
    if not np.all((grid >= 0.0) & (grid <= 1.0)):
        raise ScenarioError(f"{where}: credibilities must lie in [0, 1]; got {list(credibilities)}")
    setup = prepare(scenario, variant=variant, n_draws=n_draws, seed=seed, calibration=calibration)
    ask, event_kind = _priced_ask(setup, event, target, where)
    column = ask.target_iso3.index(target)
    need = float(ask.need[column])
    i = setup.iso3.index(target)

    replays = Replays(setup, seed)  # the first offer's calm odds serve them all

    def odds_at(c: float) -> FloatArray:
        priced = ask.at_credibility(c, setup.support_value)
        return replays.odds(priced if a is ask else a for a in setup.asks)[:, i, :].copy()

    per_draw = np.stack([odds_at(c) for c in grid])  # (offer, draw, act)
    untrembled = per_draw
    if setup.tremble is not None:
        eps, base = setup.tremble
        floor = apply_tremble(np.zeros(len(ACTS)), eps=eps, base=base, available=setup.available[i])
        untrembled = (per_draw - floor) / (1.0 - eps)
    absent = np.clip(untrembled[..., ABSENT], 1e-300, 1.0)
    zero = int(np.flatnonzero(grid == 0.0)[0])
    mean_odds = per_draw.mean(axis=1)  # (offer, act)
    cost = grid * need
    if event_kind == "threat":  # carried out, with probability c, on (partial) defiance
        cost = cost * (mean_odds @ np.maximum(-ask.m, 0.0))
    surplus = logit_surplus(absent[zero][None, :], absent)  # (offer, draw)
    # The patron reads absence as part compliance (its kind of ask's reading, MODEL.md §3): the
    # offer also raises U(absent), by the reading times the change in the ask's weight, which
    # the change in P(absent) alone does not show.
    m_absent = ask.m[ABSENT] if ask.m_draws is None else ask.m_draws[:, ABSENT]
    weights = np.stack(
        [ask.at_credibility(c, setup.support_value).weight[:, column] for c in grid]
    )  # (offer, draw)
    surplus = surplus + m_absent * (weights - weights[zero])
    # A member without a vote has no choice to gain from; a principal bound to its own ask
    # (sim.run.prepare.principal_acts) has no absence to measure its gain by: both report 0.
    if not setup.available[i].all():
        surplus = np.zeros_like(surplus)
    return Bargain(
        scenario=scenario.name,
        variant=setup.variant,
        event=event,
        patron=ask.principal,
        target=target,
        kind=str(ask.offer_kind),
        event_kind=event_kind,
        need=need,
        credibility=grid,
        odds=mean_odds,
        compliance=mean_odds @ ask.m,
        cost=cost,
        target_surplus=surplus.mean(axis=1),
        target_surplus_interval=np.quantile(surplus, [0.05, 0.95], axis=1).T,
        draws=n_draws,
        seed=seed,
        scenario_sha256=scenario.sha256,
        calibration_sha256=setup.bundle.sha256,
    )


def _priced_ask(setup: Any, event: str, target: str, where: str) -> tuple[Any, str]:
    """The ask of `event` to `target`, checked to be priceable, and the event's kind."""
    asks = {a.event_id: a for a in setup.asks}
    if event not in asks:
        known = ", ".join(sorted(asks)) or "none"
        raise ScenarioError(
            f"{where}: event {event!r}: expected an ask or threat of variant {setup.variant!r} "
            f"that reaches some member (these do: {known})"
        )
    ask = asks[event]
    kind = next(e.kind for e in setup.scenario.events(setup.variant) if e.id == event)
    if ask.offer_kind is None:
        raise ScenarioError(
            f"{where}: event {event!r} offers nothing: the game prices an offer's credibility; "
            f"give the event an offer = {{ kind, size, credibility }}"
        )
    if target not in ask.target_iso3:
        raise ScenarioError(
            f"{where}: event {event!r} does not reach {target!r} (it reaches "
            f"{', '.join(ask.target_iso3)})"
        )
    latest = setup.latest_ask(ask.principal, target)
    if latest is not ask:
        raise ScenarioError(
            f"{where}: event {event!r} is superseded for {target} by {latest.event_id!r}, the "
            f"principal's later ask; price that one"
        )
    column = ask.target_iso3.index(target)
    if ask.need[column] <= 0:
        raise ScenarioError(
            f"{where}: {target} has no need for {ask.offer_kind!r} (members.{target}."
            f"security_needs or [[needs]]): no credibility would move it"
        )
    return ask, kind
