"""Whom should a patron ask? Targeting by the cheapest expected vote gain (MODEL.md §4).

A patron's ask (an ``ask`` or ``threat`` event of the scenario: the acts it wants, its offer
and the standing tie it invokes) reaches the members the scenario names. Here the patron may
send the same ask to any member with a vote instead. Every call costs the patron the same (a
leader's call or letter: Israel lobbied some 50-60 governments before A/RES/77/247, FACTS.md
§1), so the cheapest expected vote gain is the largest one, and the patron's best list of
``K`` calls is the ``K`` members whose act the ask moves most:

1. **Each member's answer.** One replay in which the event reaches every member, one in which
   it reaches none, at the same parameter draws. An ask changes only the utilities of the
   member it reaches (:mod:`sim.model.assembly`: members no ask reaches keep their calm odds), so
   member *j*'s odds when asked are its row of the first replay, whoever else is asked.
2. **Gains.** The patron reads the act as in MODEL.md §3 (``m``: +1 asked, -1 the opposite,
   0 absent). Member *j*'s gain is ``E[m(act) | asked] - E[m(act) | not asked]``, averaged
   over draws; the expected compliance of a list is the sum of its members' gains, so the
   greedy list (members by decreasing gain) is the best list of every size.
3. **The assembly.** For the patron's best list, the scenario's own list and nobody, the exact
   tally and probability of adoption (:mod:`sim.core.tally`) from the per-draw odds with the listed
   members' rows taken from the first replay; along the ranking, the expected counts for every
   number of calls and the probability of adoption at a grid of them.
4. **Decisive members.** The probability of adoption is linear in each member's odds, so the
   exact change that asking one member alone makes to it follows from the probability of
   adoption given that member's vote (:func:`sim.core.tally.conditional_adoption`):
   :func:`adoption_gains`. It is reported beside the ranking (``adoption_gain``), with each
   member's probability of being decisive between yes and no (``p_decisive``); in a close vote
   it says whose call could change the outcome.

A scenario can also leave the choice to the patron inside a replay: an event whose sources name
only some of the members it reached (``addressees`` above the number of ``targets``, e.g. Lapid's
letters to "more than 50 leaders", 13 named) is completed by the head of this ranking among the
members not named (:func:`complete_addressees`), before the replay runs.

By default the ranking maximises votes moved: most recorded votes are not close, and the
patrons on record counted votes (Israel's foreign ministry took pride in raising the no votes
from 17 to 26). ``objective="outcome"`` picks the list for the outcome instead: greedily, the
member whose call moves the chance of the outcome the patron wants most given the calls before
it (:func:`outcome_order`; greedy, not the best list of its size in general). Offers that cost
(a budget spread across members by credibility) are :mod:`sim.game.buying`; competing buyers
(Groseclose & Snyder 1996) are not done yet.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.acts import ACTS, BoolArray, FloatArray, IntArray
from sim.core.tally import Tally, conditional_adoption, prob_adopted
from sim.io.errors import ScenarioError
from sim.io.results import csv_text, game_manifest, json_text, write_run
from sim.io.scenario import Scenario, Variant, load_scenario

__all__ = [
    "PATRON_DRAWS",
    "Targeting",
    "adoption_gains",
    "complete_addressees",
    "outcome_order",
    "plan_targets",
]

#: Calls between the points at which the probability of adoption is computed along the ranking.
ADOPTION_STEP = 10


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
    plans: dict[str, dict[str, Any]]
    calls: int
    draws: int
    seed: int
    objective: str = "votes"
    scenario_sha256: str = ""
    calibration_sha256: str = ""

    def table(self) -> pd.DataFrame:
        """One row per candidate, best first: rank, iso3, name, gain, whether the scenario's
        event reaches it, whether the patron's best list does, the change in the probability of
        adoption if only it were asked and its probability of being decisive, and the odds
        without and with the ask."""
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
            "plans": self.plans,
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
        atomically, everything rendered first; ``manifest.json`` last."""
        texts = {
            "targets.csv": csv_text(self.table()),
            "curve.csv": csv_text(self.curve),
            "summary.json": json_text(self.summary()),
        }
        figures = {}
        if plots:
            from sim.io.plots import plot_targets

            figures["targets.png"] = partial(plot_targets, self)
        return write_run(Path(out_dir), texts, self.manifest(), figures=figures)


@dataclass(frozen=True)
class _Answers:
    """Every candidate's answer to one ask, with and without it (same draws)."""

    setup: Any  # sim.run.replay.Setup with the event reaching every member
    ask: Any  # its AskSpec
    written: Any  # the event as the scenario writes it
    named: frozenset[str]  # the members the scenario's event reaches
    with_ask: FloatArray  # (draw, member, act)
    base: FloatArray
    candidates: IntArray  # member indices with a vote, not the patron
    moved: FloatArray  # (member, act): mean change in odds
    gain: FloatArray  # (candidate,): change in the patron's expected reading
    order: tuple[int, ...]  # positions in `candidates`, best first (ties by ISO3)


def _answers(
    scenario: Scenario, event: str, *, variant: str, n_draws: int, seed: int, calibration: Any
) -> _Answers:
    """Replay `variant` with `event` reaching every member and with it reaching none (MODEL.md
    §4, step 1 of the module docstring) and rank the candidates by their gain."""
    from sim.model.assembly import Replays
    from sim.run.replay import committee_acts, event_targets, prepare

    where = f"{scenario.path or scenario.name}"
    events = scenario.events(variant)
    written = next((e for e in events if e.id == event), None)
    if written is None or written.kind not in ("ask", "threat"):
        asks = [e.id for e in events if e.kind in ("ask", "threat")]
        what = "is not an event" if written is None else f"is a {written.kind}"
        raise ScenarioError(
            f"{where}: event {event!r} {what} of variant {variant!r}: expected an ask or a "
            f"threat ({', '.join(asks) or 'the variant has none'})"
        )
    # The same variant with the event reaching every member; the patron is left out by the
    # replay itself (nobody lobbies itself).
    widened = [e.model_copy(update={"targets": ["all"]}) if e.id == event else e for e in events]
    setup = prepare(
        _reduced(scenario, variant, widened, description=f"{variant}, {event} to every member"),
        variant=variant,
        n_draws=n_draws,
        seed=seed,
        calibration=calibration,
    )
    without = replace(setup, asks=tuple(a for a in setup.asks if a.event_id != event))
    ask = next(a for a in setup.asks if a.event_id == event)

    replays = Replays(setup, seed)
    with_ask = replays.odds(setup.asks).copy()  # (draw, member, act)
    base = replays.odds(without.asks).copy()
    index = {c: i for i, c in enumerate(setup.iso3)}
    candidates = np.array(
        [index[c] for c in ask.target_iso3 if setup.available[index[c], :3].any()], dtype=np.int64
    )
    moved = (with_ask - base).mean(axis=0)  # (member, act): what the ask moves, per member
    gain = (moved @ ask.m)[candidates]
    order = sorted(
        range(len(candidates)), key=lambda k: (-round(gain[k], 12), setup.iso3[candidates[k]])
    )
    principal = scenario.spec.principals[written.principal or ""]
    named = event_targets(
        written, setup.members, principal_iso3=principal.iso3, known=committee_acts(scenario)
    )
    return _Answers(
        setup=setup, ask=ask, written=written, named=frozenset(named), with_ask=with_ask,
        base=base, candidates=candidates, moved=moved, gain=gain, order=tuple(order),
    )  # fmt: skip


#: Parameter draws behind a patron's choice of addressees (:func:`complete_addressees`): its
#: beliefs, the same whatever the number of draws of the replay that uses the choice.
PATRON_DRAWS = 1000


def complete_addressees(
    scenario: Scenario, variant: str, *, seed: int = 20221230, calibration: Any = None
) -> tuple[Scenario, dict[str, tuple[str, ...]]]:
    """Fill in the addressees a source did not name, by the patron's best response.

    An ask or threat with ``addressees = N`` reached N members, of which the scenario names
    some (``targets``). The patron picks the rest as :func:`plan_targets` ranks them (the most
    votes moved, MODEL.md §4), among the members with a vote it does not already reach, given
    the variant's other events, at :data:`PATRON_DRAWS` draws of the root `seed`. Events are
    completed in timeline order, each given the lists completed before it.

    Returns
    -------
    (Scenario, dict)
        The scenario reduced to `variant` (its events resolved, every list complete, no
        ``addressees`` left), and for each completed event the members the patron picked, best
        first. The scenario comes back unchanged (and the dict empty) when no event of the
        variant has ``addressees``.

    Raises
    ------
    ScenarioError
        If an event names more members than its ``addressees``, or wants more than there are.
    """
    events = list(scenario.events(variant))
    if all(e.addressees is None for e in events):
        return scenario, {}
    where = f"{scenario.path or scenario.name}"
    resolved = [e.model_copy(update={"addressees": None}) for e in events]
    picked: dict[str, tuple[str, ...]] = {}
    for k, e in enumerate(events):
        if e.addressees is None:
            continue
        current = _reduced(scenario, variant, resolved)
        a = _answers(current, e.id, variant=variant, n_draws=PATRON_DRAWS, seed=seed,
                     calibration=calibration)  # fmt: skip
        ranked = [a.setup.iso3[a.candidates[j]] for j in a.order]
        rest = [c for c in ranked if c not in a.named]
        wanted = e.addressees - len(a.named)
        if wanted < 0 or wanted > len(rest):
            ids = [x.id for x in scenario.spec.events]
            key = f"events[{ids.index(e.id)}]" if e.id in ids else f"variants.{variant}.add"
            raise ScenarioError(
                f"{where}: {key} ({e.id}).addressees: expected {len(a.named)} (the members its "
                f"targets name) to {len(a.named) + len(rest)} (every member with a vote but "
                f"the patron); got {e.addressees}"
            )
        picked[e.id] = tuple(rest[:wanted])
        resolved[k] = resolved[k].model_copy(update={"targets": [*e.targets, *picked[e.id]]})
    return _reduced(scenario, variant, resolved), picked


def _reduced(
    scenario: Scenario, variant: str, events: list[Any], *, description: str | None = None
) -> Scenario:
    """`scenario` with only `variant`, whose events (already resolved) are `events`; the
    variant keeps its description unless one is given."""
    if description is None:
        declared = scenario.spec.variants.get(variant)
        description = declared.description if declared else ""
    spec = scenario.spec.model_copy(update={
        "events": events,
        "variants": {variant: Variant(description=description)},
        "default_variant": variant,
    })  # fmt: skip
    return replace(scenario, spec=spec)


def plan_targets(
    scenario: Scenario | str | Path,
    *,
    event: str,
    calls: int | None = None,
    objective: str = "votes",
    variant: str | None = None,
    n_draws: int = 1000,
    seed: int = 20221230,
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
    a = _answers(scenario, event, variant=variant, n_draws=n_draws, seed=seed,
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
        probs = _assembly(base, with_ask, asked)
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
    curve = _curve(
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
        plans=plans,
        calls=calls,
        draws=n_draws,
        seed=seed,
        objective=objective,
        scenario_sha256=scenario.sha256,
        calibration_sha256=setup.bundle.sha256,
    )


def adoption_gains(
    base: FloatArray, asked: FloatArray, *, rule: str, workers: int = 2
) -> tuple[FloatArray, FloatArray]:
    """Per member, the exact change in the probability of adoption if only that member's odds
    went from `base` to `asked` (everyone else at `base`), and its probability of being decisive
    between yes and no at `base`.

    Parameters
    ----------
    base, asked : ndarray, shape (n_draws, n_members, 4)
        Odds per draw (``ACTS`` order) without and with the ask.
    rule : str
        The decision rule.
    workers : int
        Threads for the DP (the result does not depend on it).

    Returns
    -------
    adoption_gain, p_decisive : ndarray, shape (n_members,)
        Means over draws of ``sum_a (asked - base)_a P(adopted | the member does a)`` (exact:
        the probability of adoption is linear in one member's odds) and of
        ``P(adopted | yes) - P(adopted | no)``.
    """
    given = conditional_adoption(base, rule=rule, workers=workers)  # (draw, member, 3)
    delta = asked - base
    moved = delta[..., :2] * given[..., :2]
    change = moved.sum(axis=-1) + (delta[..., 2] + delta[..., 3]) * given[..., 2]
    return change.mean(axis=0), (given[..., 0] - given[..., 1]).mean(axis=0)


def outcome_order(
    base: FloatArray,
    asked: FloatArray,
    by_votes: IntArray,
    *,
    wants: float,
    calls: int,
    rule: str,
    workers: int = 2,
) -> list[int]:
    """Members in the order a patron that wants adoption (``wants = 1``) or defeat (-1) would
    ask them: greedily, each pick the member whose ask moves the probability of that outcome
    most given the picks before it (exact, :func:`adoption_gains`), for `calls` picks; ties,
    and every member once no call moves the outcome any more, in the order `by_votes`.

    Parameters
    ----------
    base, asked : ndarray, shape (n_draws, n_members, 4)
    by_votes : ndarray of int
        The candidates (member indices), ranked by votes moved.
    wants : {1.0, -1.0}
    calls : int
    rule : str
    workers : int

    Returns
    -------
    list of int
        Every candidate once, the greedy picks first.
    """
    current = base.copy()
    picked: list[int] = []
    rest = [int(j) for j in by_votes]
    for _ in range(calls):
        gains, _ = adoption_gains(current, asked, rule=rule, workers=workers)
        scores = [wants * gains[j] for j in rest]
        best = int(np.argmax(scores))  # the first of equals: the better by votes
        if scores[best] <= 1e-12:
            break  # no call moves the outcome: the rest by votes
        j = rest.pop(best)
        picked.append(j)
        current[:, j] = asked[:, j]
    return picked + rest


def _assembly(base: FloatArray, with_ask: FloatArray, asked: IntArray) -> FloatArray:
    """Every member's odds per draw when the patron asks the members `asked`: their rows from
    `with_ask`, everyone else's from `base` (an ask moves only the member it reaches)."""
    probs = base.copy()
    probs[:, asked] = with_ask[:, asked]
    return probs


def _curve(
    base: FloatArray,
    with_ask: FloatArray,
    ranked: IntArray,
    moved: FloatArray,
    m: FloatArray,
    *,
    rule: str,
    marks: tuple[int, ...],
    iso3: tuple[str, ...],
) -> pd.DataFrame:
    """Expected counts and compliance after each call along the ranking (`moved`: what asking
    each ranked member moves, shape (n, act)); the probability of adoption every
    :data:`ADOPTION_STEP` calls, at the last and at `marks`."""
    steps = np.vstack([np.zeros(len(ACTS)), np.cumsum(moved, axis=0)])  # (n + 1, act)
    counts = base.mean(axis=0).sum(axis=0) + steps
    frame = pd.DataFrame(
        {
            "calls": np.arange(len(ranked) + 1),
            "added": ["", *(iso3[j] for j in ranked)],
            "compliance_gain": steps @ m,
        }
    )
    for k, act in enumerate(ACTS):
        frame[f"expected_{act}"] = counts[:, k]
    at = sorted({*range(0, len(ranked) + 1, ADOPTION_STEP), len(ranked), *marks})
    p = np.full(len(frame), np.nan)
    for k in at:
        probs = _assembly(base, with_ask, ranked[:k])
        p[k] = float(prob_adopted(probs, rule=rule, workers=2).mean())
    frame["p_adopted"] = p
    return frame
