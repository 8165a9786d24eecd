"""Leave-one-episode-out: learn the deal on every episode but one, replay that one, score it.

MODEL.md §6: an episode's replay is honest only when its deal was learnt from the other episodes.
:func:`leave_one_out` takes the episodes of a folder of scenarios (each file with an ``[outcome]``),
and for each one

1. calibrates the deal (value of support, evasion, the readings of absence by kind of ask;
   :func:`sim.estimate.deal.fit_deal`) on every *other* episode whose roll call is
   in the data (a vote in the holdout, such as A/RES/77/247, is never learnt from: it is scored
   only, on the acts and tally its ``[outcome]`` records);
2. replays it on its own bundle with that deal (:func:`sim.run.prepare.build_setup`), on pre-vote
   information only;
3. with ``attendance`` (``sim episodes --attendance``; off by default), refits each member's
   probability of absence by the vote's attendance layer (:mod:`sim.core.attendance`,
   :func:`sim.run.vote_attendance.episode_attendance`): its weights fitted, as ``sim validate``
   fits them, on the held-out predictions of the year before the vote's, its features (the
   meeting's calendar, the member's record over three years and its recent record) read from
   the roll calls before the vote's day; the votes keep their shares of presence, and the roll
   call's common attendance shock is drawn once per parameter draw. A vote past the data's end
   (the ICJ referral) has no roll calls before it to read the recent record from: there the
   layer is off;
4. scores every member's recorded act: the mean log-loss per member, against a baseline that is
   the best of persistence from each member's last public act on the item (the bundle's
   transition shares, measured on the window before the vote), the committee's shares where the
   scenario has a committee tally, and the window's base rates of the four acts.

``sim episodes`` writes ``scores.csv`` (one row per episode), ``deals.json`` (each deal learnt)
and, per episode, ``members.csv`` and ``acts.png`` (predicted against recorded acts).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.acts import ACTS, FloatArray, IntArray
from sim.core.tally import Tally
from sim.estimate.deal import EVASION, SUPPORT_VALUE, Episode, fit_deal
from sim.io.bundles import load_bundle
from sim.io.errors import DataError, ScenarioError
from sim.io.results import package_versions, write_json
from sim.io.scenario import Scenario, load_scenario
from sim.model.assembly import AssemblyModel
from sim.run.calibrate import load_episode, recorded_acts, without_principals
from sim.run.prepare import DEFAULT_SEED, build_setup
from sim.run.vote_attendance import (
    episode_attendance,
    find_roll_call_or_fail,
    in_data,
    replay_attendance,
)

__all__ = [
    "EpisodeScore", "deal_key", "leave_one_out", "scenario_episodes", "score_columns",
    "score_episode",
]  # fmt: skip

#: The columns of ``scores.csv``, in order.
score_columns = (
    "episode", "members", "log_loss", "baseline", "baseline_log_loss", "absent_members",
    "absent_log_loss", "tally_error",
)  # fmt: skip

#: Probability floor of a baseline (a transition share of 0 would make its log-loss infinite).
FLOOR = 1e-3


@dataclass(frozen=True)
class EpisodeScore:
    """One episode's leave-one-out replay and its scores.

    Attributes
    ----------
    name : str
    row : dict
        Its row of ``scores.csv`` (:data:`score_columns`), plus ``tally`` (expected counts),
        ``interval90`` per act, ``recorded`` tally, ``covered`` (recorded inside the 90%
        interval, per act) and ``baselines`` (each baseline's mean log-loss).
    members : pandas.DataFrame
        Per scored member: ``iso3``, ``recorded``, ``p_<act>``, ``log_loss``, ``baseline_log_loss``.
    deal : dict
        The deal learnt without this episode (:func:`sim.estimate.deal.fit_deal`).
    """

    name: str
    row: dict[str, Any]
    members: pd.DataFrame
    deal: dict[str, Any]


def scenario_episodes(folder: Path) -> list[Scenario]:
    """The scenarios of `folder` that record an outcome (``[outcome]``), oldest vote first."""
    loaded = [load_scenario(p) for p in sorted(Path(folder).glob("*.toml"))]
    episodes = [s for s in loaded if s.spec.outcome is not None]
    return sorted(episodes, key=lambda s: (s.spec.resolution.date, s.name))


def leave_one_out(
    scenarios: Sequence[Scenario],
    data: Any,
    *,
    n_draws: int = 2000,
    seed: int = DEFAULT_SEED,
    calibration: Path | None = None,
    progress: Callable[[str], None] | None = None,
    cache: Path | None = None,
    attendance: bool = False,
) -> list[EpisodeScore]:
    """Score every episode of `scenarios` on the deal learnt from the others (module docstring).

    Parameters
    ----------
    scenarios : sequence of Scenario
        The episodes (each with an ``[outcome]``).
    data : sim.io.data.RollCallData
        The roll calls: recorded acts of the episodes in the data.
    n_draws : int
        Parameter draws of each replay.
    seed : int
        Root seed of each replay.
    calibration : Path, optional
        Folder of the episodes' bundles (default: the package's).
    progress : callable, optional
        Called with a line of text at each step.
    cache : Path, optional
        Folder of deals already learnt (``<episode>.json``, keyed by :func:`deal_key`): a deal
        whose key matches is read instead of refitted, and every deal fitted is written there.
    attendance : bool, default False
        Refit absence by each episode's attendance layer (:func:`episode_attendance`). Off by
        default, as in ``sim replay``: it lowers the recorded-absent members' log-loss but
        raises the mean per member in four of the six episodes in the data
        (docs/episodes.md), and the scores should be those of the model users replay.

    Raises
    ------
    ScenarioError
        A resolution or committee symbol not in the data (for an episode the data should hold:
        dated before the data's end), or fewer than two episodes in the data.
    """
    say = progress or (lambda _line: None)
    end = pd.Timestamp(data.roll_calls["date"].max())
    learnable: dict[str, Episode] = {}
    for s in scenarios:
        _check_symbols(s, data, end)
        if in_data(s, data):
            learnable[s.name] = load_episode(s, data, calibration=calibration)
    if len(learnable) < 2:
        raise ScenarioError(
            f"leave-one-out needs at least two episodes whose roll call is in the data; got "
            f"{len(learnable)} ({', '.join(learnable) or 'none'})"
        )
    out = []
    held_out: dict[int, pd.DataFrame] = {}  # the attendance layer's, shared by episodes
    for s in scenarios:
        others = [e for name, e in learnable.items() if name != s.name]
        deal = _embedded_deal(s, others, calibration)
        cached = _cached_deal(cache, s.name, others)
        if deal is not None:
            say(f"{s.name}: its bundle's deal was learnt from exactly the other episodes")
        elif cached is not None:
            deal = cached
            say(f"{s.name}: the deal learnt from the other episodes, read from {cache}")
        else:
            say(f"{s.name}: learning the deal from {', '.join(e.name for e in others)}")
            deal = fit_deal(others, support_prior=SUPPORT_VALUE, evasion_prior=EVASION)
            if cache is not None:
                write_json(cache / f"{s.name}.json", {"key": deal_key(others), "deal": deal})
        out.append(
            score_episode(
                s,
                data,
                deal,
                n_draws=n_draws,
                seed=seed,
                calibration=calibration,
                attendance=held_out if attendance else None,
            )
        )
        say(f"{s.name}: log-loss {out[-1].row['log_loss']:.3f} (baseline "
            f"{out[-1].row['baseline']} {out[-1].row['baseline_log_loss']:.3f})")  # fmt: skip
    return out


def deal_key(episodes: Sequence[Episode]) -> str:
    """What a deal learnt from `episodes` depends on: their names and bundles (the deal a bundle
    carries aside: it does not enter another deal's likelihood), and the package version.
    """
    h = hashlib.sha256(package_versions()["sim"].encode())
    for e in sorted(episodes, key=lambda e: e.name):
        bundle = e.setup.bundle
        meta = {k: v for k, v in bundle.meta.items() if k != "deal"}
        h.update(e.name.encode() + b"\0")
        h.update(bundle.members.to_csv(lineterminator="\n").encode())
        h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _cached_deal(cache: Path | None, name: str, others: Sequence[Episode]) -> dict[str, Any] | None:
    if cache is None or not (cache / f"{name}.json").is_file():
        return None
    entry = json.loads((cache / f"{name}.json").read_text(encoding="utf-8"))
    return entry["deal"] if entry.get("key") == deal_key(others) else None


def _embedded_deal(
    s: Scenario, others: Sequence[Episode], calibration: Path | None
) -> dict[str, Any] | None:
    """The scenario's bundled deal when it was learnt (with every deal parameter) from exactly
    the episodes `others`, as ``sim calibrate`` fits it: the same fit, not redone.
    """
    try:
        deal = load_bundle(s.name, root=calibration, scenario_path=s.path).meta.get("deal")
    except DataError:
        return None
    if deal is None or "covariance" not in deal:
        return None
    return deal if sorted(deal["episodes"]) == sorted(e.name for e in others) else None


def _check_symbols(s: Scenario, data: Any, end: pd.Timestamp) -> None:
    """A resolution dated inside the data must be in it, and so must its committee vote."""
    where = s.path or s.name
    if pd.Timestamp(s.spec.resolution.date) <= end:
        find_roll_call_or_fail(data, s.spec.resolution.symbol, f"{where}: resolution.symbol")
    if s.spec.committee is not None and pd.Timestamp(s.spec.committee.date) <= end:
        find_roll_call_or_fail(data, s.spec.committee.symbol, f"{where}: committee.symbol")


def score_episode(
    scenario: Scenario,
    data: Any,
    deal: dict[str, Any],
    *,
    n_draws: int = 2000,
    seed: int = DEFAULT_SEED,
    calibration: Path | None = None,
    attendance: dict[int, pd.DataFrame] | None = None,
) -> EpisodeScore:
    """Replay `scenario` with `deal` and score its recorded acts against the baselines.

    With `attendance` (held-out predictions by year, filled in as they are made), absence is
    refitted by the episode's attendance layer (:func:`episode_attendance`; off for a vote the
    data do not hold): the row's ``attendance`` says which layer, or None.
    """
    name = scenario.spec.name
    bundle = load_bundle(name, root=calibration, scenario_path=scenario.path)
    bundle = replace(bundle, meta={**bundle.meta, "deal": deal})
    setup = build_setup(scenario, n_draws=n_draws, seed=seed, calibration=bundle)
    model = AssemblyModel(setup, rng=np.random.default_rng(seed))
    model.run()
    odds = model.odds
    layer = (
        episode_attendance(scenario, data, setup.iso3, held_out=attendance)
        if attendance is not None
        else None
    )
    if layer is not None:
        odds = replay_attendance(odds, layer, seed=seed)
    recorded = without_principals(_recorded(scenario, data, setup.iso3), scenario, setup)
    scored = np.flatnonzero(recorded >= 0)
    mean = odds.mean(axis=0)
    p_model = np.clip(mean[scored, recorded[scored]], 1e-300, None)
    baselines = _baselines(scenario, setup, bundle.meta)
    losses = {
        k: -np.log(np.clip(b[scored, recorded[scored]], FLOOR, None)) for k, b in baselines.items()
    }
    best = min(losses, key=lambda k: float(losses[k].mean()))
    absent = recorded[scored] == ACTS.index("absent")
    tally = Tally.from_probabilities(odds, rule=scenario.spec.resolution.rule)
    expected = tally.mean()
    record = scenario.spec.outcome.tally.counts()
    intervals = {act: [int(x) for x in tally.interval(act)] for act in ACTS}
    row = {
        "episode": name,
        "members": len(scored),
        "log_loss": float(-np.log(p_model).mean()),
        "baseline": best,
        "baseline_log_loss": float(losses[best].mean()),
        "absent_members": int(absent.sum()),
        "absent_log_loss": float(-np.log(p_model[absent]).mean()) if absent.any() else np.nan,
        "tally_error": float(np.mean([abs(expected[a] - record[a]) for a in ACTS])),
        "tally": {a: float(expected[a]) for a in ACTS},
        "interval90": intervals,
        "recorded": record,
        "covered": {a: intervals[a][0] <= record[a] <= intervals[a][1] for a in ACTS},
        "baselines": {k: float(v.mean()) for k, v in losses.items()},
        "attendance": None if layer is None else layer.fit,
    }
    members = pd.DataFrame({"iso3": [setup.iso3[i] for i in scored]})
    members["recorded"] = [ACTS[k] for k in recorded[scored]]
    for k, act in enumerate(ACTS):
        members[f"p_{act}"] = mean[scored, k]
    members["log_loss"] = -np.log(p_model)
    members["baseline_log_loss"] = losses[best]
    return EpisodeScore(name=name, row=row, members=members, deal=deal)


def _recorded(scenario: Scenario, data: Any, iso3: Sequence[str]) -> IntArray:
    """Every member's recorded act from the data, or, for a vote the data do not hold, the acts
    the scenario's ``[outcome]`` names (the others are not scored).
    """
    if in_data(scenario, data):
        return recorded_acts(data, scenario, iso3)
    named = scenario.spec.outcome.acts if scenario.spec.outcome else {}
    return np.array([ACTS.index(named[m]) if m in named else -1 for m in iso3])


def _baselines(scenario: Scenario, setup: Any, meta: dict[str, Any]) -> dict[str, FloatArray]:
    """Each baseline's odds per member, shape (n_members, 4): ``persistence`` (the window's
    transition shares from each member's last public act on the item; base rates where it has
    none), ``committee`` (the committee tally's shares) and ``base_rates``.
    """
    transitions = meta.get("transitions", {})
    counts = {prev: row.get("n", 0.0) for prev, row in transitions.items()}
    total = sum(counts.values()) or 1.0
    base = np.array(
        [sum(counts[p] * transitions[p].get(a, 0.0) for p in transitions) / total for a in ACTS]
    )
    if not transitions:
        base = np.full(len(ACTS), 1.0 / len(ACTS))
    n = len(setup.iso3)
    out = {"base_rates": np.tile(base, (n, 1))}
    previous = setup.previous
    if previous.ndim == 2:  # a new text by title: each member's commonest act on its likes
        counts = np.stack([(previous == k).sum(axis=0) for k in range(-1, len(ACTS))])
        previous = np.argmax(counts, axis=0) - 1
    if transitions and np.any(previous >= 0):
        rows = np.array([[transitions.get(ACTS[p], {}).get(a, 0.0) for a in ACTS]
                         if p >= 0 else base for p in previous])  # fmt: skip
        out["persistence"] = rows
    committee = scenario.spec.committee
    if committee is not None:
        shares = np.array(list(committee.tally.counts().values()), dtype=float)
        out["committee"] = np.tile(shares / shares.sum(), (n, 1))
    return out


def scores_table(scores: Sequence[EpisodeScore]) -> pd.DataFrame:
    """The rows of ``scores.csv``."""
    return pd.DataFrame([{k: s.row[k] for k in score_columns} for s in scores])
