"""``sim buy``: spend a budget of support across members (MODEL.md §4; Groseclose & Snyder 1996),
the games of :mod:`sim.game.buying` on a replayed episode.

:func:`buy_votes` prices every member's offer on a grid of credibilities, allocates the budget by
the cheapest expected vote gain and returns a :class:`Purchase`; a rival's event can answer the
allocation with its own budget, the patron can anticipate it, or spend for the outcome instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.acts import ACTS, BoolArray, FloatArray, IntArray
from sim.core.seeds import DEFAULT_SEED
from sim.core.tally import Tally
from sim.game.bargaining import DEFAULT_GRID
from sim.game.buying import (
    CONTEST_GRID,
    OUTCOME_MEMORY_GB,
    OUTCOME_TOL,
    Allocation,
    Contest,
    allocate,
    buy_outcome,
    p_wanted,
    solve_contest,
)
from sim.io.errors import ScenarioError
from sim.io.plots import plot_frontier
from sim.io.results import csv_text, describe, describe_html, game_manifest, json_text, write_run
from sim.io.scenario import Scenario, load_scenario
from sim.model.assembly import Replays
from sim.run.plans import Plan, Plans
from sim.run.prepare import ask_answers, complete_addressees


@dataclass(frozen=True)
class Purchase:
    """A patron's budget spread across members: the allocation and the assembly under it.

    Attributes
    ----------
    scenario, variant, event, patron, kind, event_kind : str
        ``kind`` is the kind of support offered; ``event_kind`` ``ask`` or ``threat``.
    acts : tuple of str
    rule : str
    budget : float
    reach : str
        ``event`` (the scenario's addressees, each asked) or ``all`` (any member with a vote).
    call_cost : float
    credibility : ndarray, shape (n_c,)
        The grid of credibilities the patron chooses among.
    iso3, names : tuple of str
        The candidates (members with a vote, not the patron), in the order of the members.
    need : ndarray, shape (n,)
    cost, gain : ndarray, shape (n, n_c)
        Each candidate's cost and gain of the offer at each credibility (module docstring).
    base, bought : ndarray, shape (n, 4)
        Each candidate's mean odds without the ask and under the patron's allocation.
    choice : ndarray of float, shape (n,)
        The credibility the allocation offers each candidate; NaN if not asked.
    in_scenario : ndarray of bool, shape (n,)
    frontier : DataFrame
        The allocation's path (:class:`Allocation`), with ISO3 codes and credibilities, after a
        step 0: nothing spent (with ``reach="event"``, every addressee asked with no
        commitment).
    plans : dict of name -> dict
        ``nobody``, ``scenario`` and ``model``: members asked, spend, compliance gained,
        expected tally with 90% intervals and probability of adoption; with a rival, ``rival``:
        the same after the rival's response (the patron's compliance gained then), with the
        rival's offers, spend and compliance gained.
    draws, seed : int
    rival : str or None
        The rival's event.
    rival_choice : ndarray of float, shape (n,), or None
        The credibility the rival offers each candidate after the allocation (NaN: not asked).
    after_rival : ndarray, shape (n, 4), or None
        Each candidate's mean odds after the rival's response.
    leader : ndarray, shape (n, 2), or None
        With ``anticipate``: the credibility the anticipating patron offers each candidate and
        the rival's answer (NaN: not asked).
    outcome : ndarray of float, shape (n,), or None
        With ``outcome``: the credibility offered to each candidate when the patron spends for
        the outcome (NaN: not asked); ``plans["outcome"]`` is the assembly under it.
    """

    scenario: str
    variant: str
    event: str
    patron: str
    kind: str
    event_kind: str
    acts: tuple[str, ...]
    rule: str
    budget: float
    reach: str
    call_cost: float
    credibility: FloatArray
    iso3: tuple[str, ...]
    names: tuple[str, ...]
    need: FloatArray
    cost: FloatArray
    gain: FloatArray
    base: FloatArray
    bought: FloatArray
    choice: FloatArray
    in_scenario: BoolArray
    frontier: pd.DataFrame
    plans: Plans
    draws: int
    seed: int
    rival: str | None = None
    rival_choice: FloatArray | None = None
    after_rival: FloatArray | None = None
    leader: FloatArray | None = None
    outcome: FloatArray | None = None
    scenario_sha256: str = ""
    calibration_sha256: str = ""

    def __repr__(self) -> str:
        """A short description: who spends how much of what, on whom."""
        return (f"<Purchase {self.scenario}/{self.variant}: {self.patron} spends {self.budget:g} "
                f"of {self.kind} ({self.event}, reach {self.reach}), {len(self.names)} members, "
                f"{self.draws} draws>")  # fmt: skip

    def _repr_html_(self) -> str:
        """The text summary and the head of the table, for notebooks."""
        return describe_html(self, self.summary_text())

    def summary_text(self) -> str:
        """What the budget bought, and the assembly under each plan."""
        offered = int(np.count_nonzero(self.choice > 0))
        lines = [f"offers to {offered} members, gain {float(np.sum(self.bought)):.2f}"]
        lines += [f"{name}: P(adopted) {plan['p_adopted']:.3f}"
                  for name, plan in self.plans.items() if "p_adopted" in plan]  # fmt: skip
        return describe(self, repr(self), lines)

    def table(self) -> pd.DataFrame:
        """One row per candidate, those the patron buys first (by gain), then the rest by ISO3:
        iso3, name, need, whether the scenario's event reaches it, the credibility offered
        (empty if not asked), its cost and gain, the odds without the ask and as bought.
        """
        asked = ~np.isnan(self.choice)
        k = np.searchsorted(self.credibility, np.nan_to_num(self.choice))
        rows = np.arange(len(self.iso3))
        cost = np.where(asked, self.cost[rows, k], 0.0)
        gain = np.where(asked, self.gain[rows, k], 0.0)
        frame = pd.DataFrame(
            {
                "iso3": self.iso3,
                "name": self.names,
                "need": self.need,
                "in_scenario": self.in_scenario,
                "asked": asked,
                "credibility": self.choice,
                "cost": cost,
                "gain": gain,
            }
        )
        for j, act in enumerate(ACTS):
            frame[f"p_{act}"] = self.base[:, j]
        for j, act in enumerate(ACTS):
            frame[f"p_{act}_bought"] = self.bought[:, j]
        if self.after_rival is not None and self.rival_choice is not None:
            frame["rival_credibility"] = self.rival_choice
            for j, act in enumerate(ACTS):
                frame[f"p_{act}_after_rival"] = self.after_rival[:, j]
        if self.leader is not None:
            frame["leader_credibility"] = self.leader[:, 0]
            frame["leader_rival_credibility"] = self.leader[:, 1]
        if self.outcome is not None:
            frame["outcome_credibility"] = self.outcome
        frame["_first"] = ~asked
        frame["_gain"] = -gain
        frame = frame.sort_values(["_first", "_gain", "iso3"], kind="mergesort")
        return frame.drop(columns=["_first", "_gain"]).reset_index(drop=True)

    def summary(self) -> dict[str, Any]:
        """The headline numbers, for ``summary.json``."""
        return {
            "scenario": self.scenario,
            "variant": self.variant,
            "event": self.event,
            "event_kind": self.event_kind,
            "patron": self.patron,
            "kind": self.kind,
            "acts": list(self.acts),
            "rule": self.rule,
            "budget": self.budget,
            "reach": self.reach,
            "call_cost": self.call_cost,
            "credibilities": [float(c) for c in self.credibility],
            "draws": self.draws,
            "seed": self.seed,
            "candidates": len(self.iso3),
            "rival": self.rival,
            "plans": dict(self.plans),
        }

    def manifest(self) -> dict[str, Any]:
        """Provenance (no wall-clock time: reruns give the same bytes)."""
        return game_manifest(
            scenario=self.scenario, scenario_sha256=self.scenario_sha256,
            calibration_sha256=self.calibration_sha256, seed=self.seed, draws=self.draws,
            variant=self.variant, event=self.event, budget=self.budget, reach=self.reach,
            call_cost=self.call_cost, rival=self.rival, anticipate=self.leader is not None,
            outcome=self.outcome is not None, credibilities=[float(c) for c in self.credibility],
        )  # fmt: skip

    def write(self, out_dir: str | Path, *, plots: bool = True) -> Path:
        """Write ``purchase.csv``, ``frontier.csv``, ``summary.json`` (and ``frontier.png``)
        atomically, everything rendered first; ``manifest.json`` last.
        """
        texts = {
            "purchase.csv": csv_text(self.table()),
            "frontier.csv": csv_text(self.frontier),
            "summary.json": json_text(self.summary()),
        }
        figures = {}
        if plots:
            figures["frontier.png"] = partial(plot_frontier, self)
        return write_run(Path(out_dir), texts, self.manifest(), figures=figures)


def _checked_options(
    scenario: Scenario,
    where: str,
    *,
    variant: str,
    event: str,
    credibilities: Sequence[float],
    call_cost: float,
    reach: str,
    budget: float | None,
    rival: str | None,
    rival_budget: float | None,
    anticipate: bool,
    outcome: bool,
) -> FloatArray:
    """:func:`buy_votes`' options checked before anything is computed; the credibility grid.

    Raises
    ------
    ScenarioError
        As listed in :func:`buy_votes`.
    """
    grid = np.array(sorted({0.0, *(float(c) for c in credibilities)}))
    if not np.all((grid >= 0.0) & (grid <= 1.0)):
        raise ScenarioError(f"{where}: credibilities must lie in [0, 1]; got {list(credibilities)}")
    if not call_cost >= 0:
        raise ScenarioError(f"{where}: call cost: expected a number >= 0; got {call_cost}")
    if reach not in ("event", "all"):
        raise ScenarioError(f"{where}: reach: expected event or all; got {reach!r}")
    if reach == "event" and call_cost != 0:
        raise ScenarioError(
            f"{where}: call cost: the event's calls are made as it happened (reach event); "
            "give a call cost with reach all"
        )
    if budget is not None and not budget >= 0:
        raise ScenarioError(f"{where}: budget: expected a number >= 0; got {budget}")
    if rival_budget is not None and not rival_budget >= 0:
        raise ScenarioError(f"{where}: rival budget: expected a number >= 0; got {rival_budget}")
    if rival_budget is not None and rival is None:
        raise ScenarioError(f"{where}: rival budget: name the rival's event too")
    if anticipate and rival is None:
        raise ScenarioError(f"{where}: anticipate: name the rival's event too")
    if outcome and rival is not None:
        raise ScenarioError(
            f"{where}: outcome: not with a rival (the contest's buyers count votes); drop one"
        )
    if rival is not None and rival == event:
        raise ScenarioError(f"{where}: rival: expected another principal's event; got {event!r}")
    if rival is not None:
        asks = [e.id for e in scenario.events(variant) if e.kind in ("ask", "threat")]
        if rival not in asks:
            raise ScenarioError(
                f"{where}: rival: expected another principal's ask or threat of variant "
                f"{variant!r} ({', '.join(asks) or 'the variant has none'}); got {rival!r}"
            )
    return grid


def buy_votes(
    scenario: Scenario | str | Path,
    *,
    event: str,
    budget: float | None = None,
    reach: str = "event",
    call_cost: float = 0.0,
    rival: str | None = None,
    rival_budget: float | None = None,
    anticipate: bool = False,
    outcome: bool = False,
    credibilities: Sequence[float] = DEFAULT_GRID,
    variant: str | None = None,
    n_draws: int = 1000,
    seed: int = DEFAULT_SEED,
    calibration: Path | None = None,
) -> Purchase:
    """Spread `budget` of the patron's support across members by the cheapest expected vote gain.

    Parameters
    ----------
    scenario : Scenario or path
    event : str
        Id of an ``ask`` or ``threat`` event of the variant with an ``offer``: its acts, its
        kind of support and its tie are what the patron offers to any member.
    budget : float, optional
        In firm commitments of a member's whole need (plus calls, at `call_cost` each); default:
        the expected spend of the event as the scenario writes it.
    reach : {"event", "all"}
        ``event`` (default): the members the event reaches in the scenario, each sent the ask
        as it happened; the budget decides how firm an offer each gets (0 included).
        ``all``: any member with a vote, each asked or not; an ask costs `call_cost` on top of
        its offer.
    call_cost : float
        With ``reach="all"``, what sending the ask costs whatever is offered (default 0: calls
        are free, and every member whose act an empty ask moves the patron's way is asked).
    rival : str, optional
        Id of another principal's ask or threat with an offer (Groseclose & Snyder's second
        buyer): after the patron's allocation, the rival spends `rival_budget` (default: its
        event's expected spend as written) by the cheapest expected vote gain against it, with
        the same `reach` and `call_cost`; ``plans["rival"]`` is the assembly after both. The
        patron does not anticipate the response.
    anticipate : bool
        With a rival, also solve the contest in which the patron anticipates the rival's
        response (:func:`solve_contest`, on :data:`CONTEST_GRID`): ``plans["naive"]`` (the
        patron ignoring the rival's money) and ``plans["leader"]`` (anticipating it), each with
        the rival's exact response.
    outcome : bool
        Also spend the same budget for the outcome (:func:`buy_outcome`): the probability that
        the resolution is adopted, if the event asks for yes, or rejected, if it asks against
        it. ``plans["outcome"]`` is the assembly under that allocation, or under the
        vote-counting one if that gives the outcome more; ``want``, ``p_want`` and
        ``source`` say which. Not with a rival.
    credibilities : sequence of float
        The patron's choices of credibility, each in [0, 1]; 0 is always added.
    variant, n_draws, seed, calibration
        As in :func:`sim.run.replay.prepare`.

    Raises
    ------
    ScenarioError
        If the event is not an ask or threat of the variant, offers nothing, or a number is out
        of range; if the rival is not another principal's ask or threat with an offer, or a
        rival budget or ``anticipate`` comes without a rival; if ``outcome`` comes with a
        rival, or the event's acts favour neither outcome.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    where = f"{scenario.path or scenario.name}"
    variant = variant or scenario.spec.default_variant
    grid = _checked_options(
        scenario, where, variant=variant, event=event, credibilities=credibilities,
        call_cost=call_cost, reach=reach, budget=budget, rival=rival, rival_budget=rival_budget,
        anticipate=anticipate, outcome=outcome,
    )  # fmt: skip
    scenario, _ = complete_addressees(scenario, variant, seed=seed, calibration=calibration)
    a = ask_answers(scenario, event, variant=variant, n_draws=n_draws, seed=seed,
                 calibration=calibration)  # fmt: skip
    setup, ask = a.setup, a.ask
    want = _wanted(ask.m, where, event) if outcome else None
    if outcome:
        size = len(grid) * n_draws * len(setup.iso3) * len(ACTS) * 8 / 1e9
        if size > OUTCOME_MEMORY_GB:
            raise ScenarioError(
                f"{where}: outcome: every member's odds at {len(grid)} offers for {n_draws} "
                f"draws take {size:.1f} GB (at most {OUTCOME_MEMORY_GB:g}); use fewer draws "
                f"(at most {int(n_draws * OUTCOME_MEMORY_GB / size)}) or credibilities"
            )
    side = _solve_side(
        a, grid=grid, budget=budget, reach=reach, call_cost=call_cost, seed=seed, where=where,
        variant=variant, keep_tables=outcome,
    )  # fmt: skip
    candidates, named, m = side.candidates, side.named, ask.m
    iso3 = tuple(setup.iso3[j] for j in candidates)
    rule = scenario.spec.resolution.rule

    def plan(probs: FloatArray, asked: BoolArray, spend: float) -> dict[str, Any]:
        # the tally first: it renormalises `probs` in place (copy=False), and the compliance
        # is read from the renormalised odds
        tally = Tally.from_probabilities(probs, rule=rule, copy=False).plan_fields()
        moved = (probs[:, candidates] - a.base[:, candidates]).mean(axis=0) @ m
        return {
            "members": sorted(iso3[j] for j in np.flatnonzero(asked)),
            "spend": float(spend),
            "compliance_gain": float(moved.sum()),
            **tally,
        }

    as_written = a.base.copy()
    as_written[:, candidates[named]] = a.with_ask[:, candidates[named]]
    choice = side.choice
    model_plan = plan(side.bought, ~np.isnan(choice), side.allocation.cost)
    model_plan["offers"] = {iso3[j]: float(choice[j]) for j in np.flatnonzero(~np.isnan(choice))}
    plans = {
        "nobody": plan(a.base, np.zeros(len(candidates), dtype=bool), 0.0),
        "scenario": plan(as_written, named, side.spend_as_written),
        "model": model_plan,
    }
    outcome_choice = None
    if want is not None and side.tables is not None:
        outcome_choice, plans["outcome"] = _outcome_plan(
            side,
            a.base,
            want=want,
            rule=rule,
            reach=reach,
            grid=grid,
            iso3=iso3,
            plan=plan,
            votes=model_plan,
        )
        plans["outcome"]["p_want_votes"] = p_wanted(model_plan["p_adopted"], want)
    after_rival, rival_choice, leader = None, np.full(len(candidates), np.nan), None
    if rival is not None:
        b, rival_side, rival_choice, plans["rival"] = _rival_plan(
            scenario, a, side, rival=rival, budget=rival_budget, grid=grid, reach=reach,
            call_cost=call_cost, variant=variant, n_draws=n_draws, seed=seed,
            calibration=calibration, where=where, iso3=iso3, plan=plan,
        )  # fmt: skip
        after_rival = rival_side.bought
        if anticipate:
            contest_solved, contest_plans = _contest_plans(
                scenario, a, b, budget_a=side.budget, budget_b=rival_side.budget, reach=reach,
                call_cost=call_cost, seed=seed, rule=rule,
            )  # fmt: skip
            plans.update(contest_plans)
            offered = np.concatenate([[np.nan], contest_solved.grid])
            oa, ob = contest_solved.leader
            leader = np.stack([offered[oa[candidates]], offered[ob[candidates]]], axis=1)
    return Purchase(
        scenario=scenario.name,
        variant=variant,
        event=event,
        patron=a.written.principal or "",
        kind=str(ask.offer_kind),
        event_kind=a.written.kind,
        acts=tuple(a.written.acts),
        rule=rule,
        budget=side.budget,
        reach=reach,
        call_cost=float(call_cost),
        credibility=grid,
        iso3=iso3,
        names=tuple(setup.members[j].name for j in candidates),
        need=side.need,
        cost=side.cost,
        gain=side.gain,
        base=a.base[:, candidates].mean(axis=0),
        bought=side.bought[:, candidates].mean(axis=0),
        choice=choice,
        rival=rival,
        rival_choice=rival_choice,
        leader=leader,
        outcome=outcome_choice,
        after_rival=None if after_rival is None else after_rival[:, candidates].mean(axis=0),
        in_scenario=named,
        frontier=_frontier(side, grid),
        plans=Plans(**plans),
        draws=n_draws,
        seed=seed,
        scenario_sha256=scenario.sha256,
        calibration_sha256=setup.bundle.sha256,
    )


def _rival_plan(
    scenario: Scenario,
    a: Any,
    side: _Side,
    *,
    iso3: tuple[str, ...],
    plan: Any,
    **response: Any,
) -> tuple[Any, _Side, FloatArray, Plan]:
    """The rival's answer to the patron's allocation `side` (:func:`_rival_response`): its
    answers, its side, its offer to each of the patron's candidates `iso3` (NaN: none) and the
    ``rival`` plan, the assembly after both buyers.
    """
    b, rival_side = _rival_response(scenario, a, side, **response)
    rival_iso3 = [a.setup.iso3[j] for j in rival_side.candidates]
    position = {c: k for k, c in enumerate(rival_iso3)}
    rival_choice = np.array(
        [rival_side.choice[position[c]] if c in position else np.nan for c in iso3]
    )
    moved_b = (rival_side.bought - rival_side.base).mean(axis=0)[rival_side.candidates] @ b.ask.m
    offers = {
        rival_iso3[j]: float(rival_side.choice[j])
        for j in np.flatnonzero(~np.isnan(rival_side.choice))
    }
    rival_plan = {
        **plan(rival_side.bought, ~np.isnan(side.choice), side.allocation.cost),
        "rival_event": response["rival"],
        "rival": b.written.principal or "",
        "rival_acts": list(b.written.acts),
        "rival_budget": rival_side.budget,
        "rival_spend": rival_side.allocation.cost,
        "rival_compliance_gain": float(moved_b.sum()),
        "rival_offers": offers,
    }
    return b, rival_side, rival_choice, rival_plan


def _frontier(side: _Side, grid: FloatArray) -> pd.DataFrame:
    """The path of the patron's allocation, one row per step from nothing asked: the member,
    the credibility offered, the step's cost and gain, and their running sums.
    """
    frontier = side.allocation.path.copy()
    frontier.insert(1, "credibility", grid[frontier["option"].to_numpy(dtype=np.int64)])
    frontier = frontier.drop(columns="option").rename(columns={"member": "iso3"})
    first_row = {"iso3": "", "credibility": np.nan, "cost_step": 0.0, "gain_step": 0.0,
                 "rate": np.nan, "cost": 0.0, "gain": side.start, "taken": True}  # fmt: skip
    frontier = pd.concat([pd.DataFrame([first_row]), frontier], ignore_index=True)
    frontier.insert(0, "step", np.arange(len(frontier)))
    return frontier


@dataclass(frozen=True)
class _Side:
    """One buyer's problem, solved: its candidates, their curves and the allocation."""

    candidates: IntArray  # member indices, in the setup's order
    named: BoolArray  # whether the buyer's event as written reaches each
    need: FloatArray
    gain: FloatArray  # (n, n_c)
    cost: FloatArray  # (n, n_c)
    allocation: Allocation
    choice: FloatArray  # the credibility offered to each candidate; NaN if not asked
    base: FloatArray  # (draw, member, act): every member's odds without the buyer's event
    bought: FloatArray  # (draw, member, act): every member's odds under the allocation
    budget: float
    spend_as_written: float
    start: float  # the frontier's first gain (reach event: every addressee asked at 0)
    tables: FloatArray | None = None  # (offer, draw, candidate, act), when kept


def _solve_side(
    a: Any,
    *,
    grid: FloatArray,
    budget: float | None,
    reach: str,
    call_cost: float,
    seed: int,
    where: str,
    variant: str,
    replays: Any = None,
    base: FloatArray | None = None,
    keep_tables: bool = False,
) -> _Side:
    """Steps 1-3 of the module docstring for the buyer of `a` (a :func:`ask_answers`), replayed by
    `replays` (default: of ``a.setup``, the event reaching every member) against `base`
    (default ``a.base``).
    """
    replays = Replays(a.setup, seed) if replays is None else replays
    setup = replays.setup
    base = a.base if base is None else base
    ask, candidates = a.ask, a.candidates
    event = a.written.id
    if ask.offer_kind is None:
        raise ScenarioError(
            f"{where}: event {event!r} offers nothing: a budget buys support; give the event an "
            "offer = { kind, size, credibility } (or rank free calls with `sim target`)"
        )
    threat = a.written.kind == "threat"
    m = ask.m
    columns = {int(j): k for k, j in enumerate(ask.targets)}
    need = np.array([ask.need[columns[int(j)]] for j in candidates])
    mine = next(x for x in setup.asks if x.event_id == event)

    def odds_at(c: float) -> FloatArray:
        """Every member's odds per draw with the ask to everyone at credibility `c`."""
        priced = ask.at_credibility(c, setup.support_value)
        return replays.odds(priced if x is mine else x for x in setup.asks)

    base_reading = base[:, candidates].mean(axis=0) @ m  # (n,)
    gain = np.empty((len(candidates), len(grid)))
    cost = np.empty_like(gain)
    kept = []
    for k, c in enumerate(grid):
        odds = odds_at(c)
        mean = odds[:, candidates].mean(axis=0)  # (n, act)
        if keep_tables:
            kept.append(odds[:, candidates].copy())
        gain[:, k] = mean @ m - base_reading
        spend = c * need * (mean @ np.maximum(-m, 0.0) if threat else 1.0)
        cost[:, k] = call_cost + spend

    named = np.array([setup.iso3[j] in a.named for j in candidates])
    if reach == "event":  # the scenario's addressees only, each asked: choices relative to c = 0
        keep = np.flatnonzero(named)
        if len(keep) == 0:
            raise ScenarioError(
                f"{where}: event {event!r} reaches no member with a vote in variant "
                f"{variant!r}; use reach all"
            )
        candidates, named, need = candidates[keep], named[keep], need[keep]
        gain, cost = gain[keep], cost[keep]
        kept = [t[:, keep] for t in kept]
    spend_as_written = _scenario_spend(a, candidates, named, call_cost, threat)
    budget = spend_as_written if budget is None else float(budget)
    iso3 = tuple(setup.iso3[j] for j in candidates)
    start = 0.0
    if reach == "event":
        start = float(gain[:, 0].sum())
        relative = allocate(cost[:, 1:] - cost[:, :1], gain[:, 1:] - gain[:, :1], budget,
                            names=iso3)  # fmt: skip
        allocation = replace(
            relative,
            choice=relative.choice + 1,  # -1 (nothing more than c = 0) -> grid[0]
            path=relative.path.assign(
                option=relative.path["option"] + 1, gain=relative.path["gain"] + start
            ),
            cost=relative.cost + float(cost[:, 0].sum()),
            gain=relative.gain + start,
        )
    else:
        allocation = allocate(cost, gain, budget, names=iso3)
    choice = np.where(allocation.choice >= 0, grid[np.maximum(allocation.choice, 0)], np.nan)
    bought = base.copy()
    for k in sorted(set(allocation.choice[allocation.choice >= 0].tolist())):
        at_k = candidates[allocation.choice == k]
        bought[:, at_k] = odds_at(grid[k])[:, at_k]
    return _Side(
        candidates=candidates, named=named, need=need, gain=gain, cost=cost,
        allocation=allocation, choice=choice, base=base, bought=bought, budget=budget,
        spend_as_written=spend_as_written, start=start,
        tables=np.stack(kept) if keep_tables else None,
    )  # fmt: skip


def _outcome_plan(
    side: _Side,
    base: FloatArray,
    *,
    want: str,
    rule: str,
    reach: str,
    grid: FloatArray,
    iso3: Sequence[str],
    plan: Any,
    votes: dict[str, Any],
) -> tuple[FloatArray, dict[str, Any]]:
    """The outcome buyer's allocation (:func:`buy_outcome`), or the vote-counting one (whose
    plan is `votes`) if that gives the wanted outcome more, as credibilities per candidate (NaN:
    not asked) and its plan (the assembly, the offers, the probability of the wanted outcome,
    which buyer it is).
    """
    tables = side.tables
    if tables is None:
        raise ValueError("the side was solved without keep_tables")
    probs = base.copy()
    start = None
    if reach == "event":  # every addressee starts asked with no commitment, as in `allocate`
        start = np.zeros(len(side.candidates), dtype=np.int64)
        probs[:, side.candidates] = tables[0]
    allocation, after = buy_outcome(
        tables, probs, side.candidates, side.cost, side.budget, rule=rule, want=want,
        start=start, names=list(iso3),
    )  # fmt: skip
    index = allocation.choice
    choice = np.where(index >= 0, grid[np.maximum(index, 0)], np.nan)
    ours = plan(after, index >= 0, allocation.cost)
    source = "outcome"
    if p_wanted(votes["p_adopted"], want) > p_wanted(ours["p_adopted"], want) + OUTCOME_TOL:
        ours, choice, source = votes, side.choice, "votes"
    offers = {iso3[j]: float(choice[j]) for j in np.flatnonzero(~np.isnan(choice))}
    return choice, {
        **ours,
        "offers": offers,
        "want": want,
        "p_want": p_wanted(ours["p_adopted"], want),
        "source": source,
        "moves": len(allocation.path),
    }


def _rival_response(
    scenario: Scenario,
    a: Any,
    side: _Side,
    *,
    rival: str,
    budget: float | None,
    grid: FloatArray,
    reach: str,
    call_cost: float,
    variant: str,
    n_draws: int,
    seed: int,
    calibration: Any,
    where: str,
) -> tuple[Any, _Side]:
    """The rival's best response to the patron's allocation (Groseclose & Snyder's second
    buyer): with the patron's offers fixed as allocated, the rival's event reaching every
    member at each credibility, and its budget spent by the cheapest expected vote gain.
    """
    b = ask_answers(scenario, rival, variant=variant, n_draws=n_draws, seed=seed,
                 calibration=calibration)  # fmt: skip
    if b.written.principal == a.written.principal:
        raise ScenarioError(
            f"{where}: rival {rival!r} is {a.written.principal}'s own event: a rival is another "
            "principal's ask or threat"
        )
    # The patron's allocation as one ask: the members it asks, each at its credibility.
    chosen = ~np.isnan(side.choice)
    column = {int(j): k for k, j in enumerate(a.ask.targets)}
    keep = np.array([column[int(j)] for j in side.candidates[chosen]], dtype=np.int64)
    allocated = a.ask.restricted(keep, side.choice[chosen], b.setup.support_value)
    asks = [x for x in b.setup.asks if x.event_id != a.written.id] + [allocated]
    replays = Replays(replace(b.setup, asks=tuple(asks)), seed)
    base = replays.odds(x for x in asks if x.event_id != rival).copy()
    answered = _solve_side(
        b, grid=grid, budget=budget, reach=reach, call_cost=call_cost, seed=seed, where=where,
        variant=variant, replays=replays, base=base,
    )  # fmt: skip
    return b, answered


def _contest_plans(
    scenario: Scenario,
    a: Any,
    b: Any,
    *,
    budget_a: float,
    budget_b: float,
    reach: str,
    call_cost: float,
    seed: int,
    rule: str,
) -> tuple[Contest, dict[str, dict[str, Any]]]:
    """Replay every pair of the two buyers' options on :data:`CONTEST_GRID` (each event to
    every member, or not sent), solve the contest (:func:`solve_contest`) and describe the
    naive and the anticipating allocations with their exact tallies.
    """
    grid = np.asarray(CONTEST_GRID)
    setup = b.setup  # the rival's event to every member; the patron's replaced below
    events = (a.written.id, b.written.id)
    others = tuple(x for x in setup.asks if x.event_id not in events)
    replays = Replays(setup, seed)

    def odds(ia: int, ib: int) -> FloatArray:
        """Every member's odds per draw with the patron's option `ia`, the rival's `ib`."""
        asks = list(others)
        if ia:
            asks.append(a.ask.at_credibility(grid[ia - 1], setup.support_value))
        if ib:
            asks.append(b.ask.at_credibility(grid[ib - 1], setup.support_value))
        return replays.odds(asks)

    width = len(grid) + 1
    n = len(setup.iso3)
    mean = np.empty((width, width, n, len(ACTS)))
    for ia in range(width):
        for ib in range(width):
            mean[ia, ib] = odds(ia, ib).mean(axis=0)

    def tables(x: Any, own: int) -> tuple[FloatArray, FloatArray, IntArray]:
        """One buyer's readings, costs and allowed options; `own` is its axis (0 or 1)."""
        reading = mean @ x.ask.m  # (ia, ib, n)
        need = np.zeros(n)
        need[x.ask.targets] = x.ask.need
        offered = np.concatenate([[0.0], grid])  # option 0: not asked
        level = offered[:, None, None] if own == 0 else offered[None, :, None]
        asked = (np.arange(width)[:, None, None] if own == 0 else
                 np.arange(width)[None, :, None]) > 0  # fmt: skip
        spend = level * need[None, None, :]
        if x.written.kind == "threat":
            spend = spend * (mean @ np.maximum(-x.ask.m, 0.0))
        cost = np.broadcast_to(np.where(asked, call_cost + spend, 0.0), reading.shape).copy()
        options = np.zeros((n, 2), dtype=np.int64)
        if reach == "event":
            chosen = [int(j) for j in x.candidates if setup.iso3[j] in x.named]
            options[chosen] = (1, width - 1)
        else:
            options[x.candidates] = (0, width - 1)
        return reading, cost, options

    reading_a, cost_a, options_a = tables(a, 0)
    reading_b, cost_b, options_b = tables(b, 1)
    solved = solve_contest(
        reading_a, reading_b, cost_a, cost_b, options_a, options_b, budget_a=budget_a,
        budget_b=budget_b, names=setup.iso3, grid=grid,
    )  # fmt: skip
    j = np.arange(n)
    plans = {}
    for name, (oa, ob) in (("naive", solved.naive), ("leader", solved.leader)):
        probs = np.empty((setup.n_draws, n, len(ACTS)))
        for ia, ib in sorted(set(zip(oa.tolist(), ob.tolist(), strict=True))):
            at = (oa == ia) & (ob == ib)
            probs[:, at] = odds(ia, ib)[:, at]
        offers = {
            "offers": {setup.iso3[k]: float(grid[oa[k] - 1]) for k in np.flatnonzero(oa)},
            "rival_offers": {setup.iso3[k]: float(grid[ob[k] - 1]) for k in np.flatnonzero(ob)},
        }
        plans[name] = {
            "spend": float(cost_a[oa, ob, j].sum()),
            "rival_spend": float(cost_b[oa, ob, j].sum()),
            "compliance_gain": float((reading_a[oa, ob, j] - reading_a[0, 0, j]).sum()),
            "rival_compliance_gain": float((reading_b[oa, ob, j] - reading_b[0, 0, j]).sum()),
            **Tally.from_probabilities(probs, rule=rule, copy=False).plan_fields(),
            **offers,
        }
    plans["leader"]["shadow_price"] = solved.shadow_price
    return solved, plans


def _scenario_spend(
    a: Any, candidates: IntArray, named: BoolArray, call_cost: float, threat: bool
) -> float:
    """Expected cost of the event as the scenario writes it: a call to each member it names,
    plus its credibility (drawn from its prior) times need, on expected defiance for a threat.
    """
    cols = {int(j): k for k, j in enumerate(a.ask.targets)}
    picked = candidates[named]
    if len(picked) == 0:
        return 0.0
    offer = a.ask.offer[:, [cols[int(j)] for j in picked]]  # (draw, n_named): credibility*need
    if threat:
        defiance = a.with_ask[:, picked] @ np.maximum(-a.ask.m, 0.0)  # (draw, n_named)
        offer = offer * defiance
    return float(call_cost * len(picked) + offer.mean(axis=0).sum())


def _wanted(m: FloatArray, where: str, event: str) -> str:
    """The outcome an ask favours: adopted if it reads yes above no, rejected if below."""
    yes, no = float(m[ACTS.index("yes")]), float(m[ACTS.index("no")])
    if yes == no:
        raise ScenarioError(
            f"{where}: outcome: event {event!r} reads yes and no alike, so it favours neither "
            "outcome; its acts should include yes or no"
        )
    return "adopted" if yes > no else "rejected"
