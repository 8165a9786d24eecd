"""The attendance layer of one recorded vote, for a replay on pre-vote information.

:func:`episode_attendance` fits ``sim validate``'s attendance layer (:mod:`sim.core.attendance`)
for a scenario's vote: its weights on the held-out predictions of the year before the vote's
(every roll call of that year, predicted from the :data:`ATTENDANCE_WINDOW` years before it,
each member's recent record read on each roll call's own day), the members' features
(:mod:`sim.estimate.attendance`) from the roll calls dated before the vote's day.
:func:`replay_attendance` applies it to a replay's odds, the votes keeping their shares of
presence and the roll call's common shock drawn once per parameter draw. ``sim episodes
--attendance`` and ``sim replay --attendance`` use it; a vote past the data's end gets none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.core.acts import ACTS, FloatArray
from sim.core.attendance import apply_attendance
from sim.core.seeds import named_stream
from sim.core.threads import single_blas_thread
from sim.estimate.attendance import attendance_features
from sim.estimate.validate import fit_attendance_layer, year_predictions
from sim.estimate.window import find_roll_call
from sim.io.errors import DataError, ScenarioError
from sim.io.scenario import Scenario

__all__ = [
    "ATTENDANCE_WINDOW", "EpisodeAttendance", "episode_attendance", "find_roll_call_or_fail",
    "in_data", "replay_attendance", "roll_call_of",
]  # fmt: skip

#: Years of roll calls of the fit whose held-out predictions the attendance layer is fitted on
#: (as ``sim validate`` fits it, on every roll call of the year before the vote's).
ATTENDANCE_WINDOW = 10


@dataclass(frozen=True)
class EpisodeAttendance:
    """The attendance layer of one episode (:func:`episode_attendance`).

    Attributes
    ----------
    fit : dict
        The layer (:func:`sim.estimate.validate.fit_attendance_layer`): ``weights``, ``sd``,
        ``recent_days``, ``year`` (the held-out year it was fitted on), ``n``, ``loglik_gain``.
    iso3 : tuple of str
        The members its features are for.
    features : ndarray, shape (n_members, k)
        Each member's features on the vote, from the roll calls before its day.
    """

    fit: dict[str, Any]
    iso3: tuple[str, ...]
    features: FloatArray


@single_blas_thread
def episode_attendance(
    scenario: Scenario,
    data: Any,
    iso3: Sequence[str],
    *,
    held_out: dict[int, pd.DataFrame] | None = None,
) -> EpisodeAttendance | None:
    """The attendance layer of `scenario`'s vote for members `iso3`, from pre-vote information
    only: fitted on the held-out predictions of the year before the vote's (every roll call of
    that year, predicted from the :data:`ATTENDANCE_WINDOW` years before it, with each member's
    recent record read on each roll call's own day, as the replay reads it on the vote's day),
    and the members' features from the roll calls dated before the vote's day. None for a vote
    the data do not hold (nothing before it to read the recent record from; :func:`in_data`).

    Parameters
    ----------
    scenario : Scenario
    data : sim.io.data.RollCallData
    iso3 : sequence of str
    held_out : dict, optional
        Held-out predictions already made, by year (filled in as they are made).
    """
    rcid = roll_call_of(scenario, data)
    if rcid is None:
        return None
    day = pd.Timestamp(scenario.spec.resolution.date)
    year = day.year - 1
    held = held_out if held_out is not None else {}
    if year not in held:
        held[year] = year_predictions(data, year, window=ATTENDANCE_WINDOW, dimension="all")
    rows = held[year]
    if rows.empty:
        return None
    asof = data.roll_calls.loc[rows["rcid"].to_numpy(), "date"].to_numpy()
    fit, _ = fit_attendance_layer(
        data, rows, cutoff=pd.Timestamp(f"{year}-01-01"), window=ATTENDANCE_WINDOW, asof=asof
    )
    features = attendance_features(
        data, np.full(len(iso3), rcid), np.asarray(iso3, dtype=str), cutoff=day,
        window=ATTENDANCE_WINDOW, recent_days=fit["recent_days"], asof=day,
    )  # fmt: skip
    return EpisodeAttendance(fit={**fit, "year": year}, iso3=tuple(iso3), features=features)


def replay_attendance(odds: FloatArray, layer: EpisodeAttendance, *, seed: int) -> FloatArray:
    """A replay's odds (shape (n_draws, n_members, 4)) with absence refitted by `layer`, the
    votes keeping their shares of presence; the roll call's common attendance shock is drawn
    once per parameter draw (the stream ``attendance.shock`` of `seed`), so the tally carries
    its spread.

    Raises
    ------
    ValueError
        Odds whose members do not match the layer's features.
    """
    odds = np.asarray(odds, dtype=float)
    if odds.ndim != 3 or odds.shape[1] != len(layer.iso3):
        raise ValueError(f"attendance layer: odds of shape {odds.shape} for "
                         f"{len(layer.iso3)} members")  # fmt: skip
    n_draws, n_members, _ = odds.shape
    shock = named_stream(seed, "attendance.shock").standard_normal(n_draws)
    out = apply_attendance(
        odds.reshape(-1, len(ACTS)), np.tile(layer.features, (n_draws, 1)), layer.fit,
        shock=np.repeat(shock, n_members),
    )  # fmt: skip
    return out.reshape(odds.shape)


def roll_call_of(scenario: Scenario, data: Any) -> int | None:
    """The rcid of the scenario's roll call, or None if the data do not hold it."""
    try:
        return int(find_roll_call(data, scenario.spec.resolution.symbol, ""))
    except DataError:
        return None


def in_data(scenario: Scenario, data: Any) -> bool:
    """Whether the scenario's roll call is in the data (else it is scored on its outcome only)."""
    return roll_call_of(scenario, data) is not None


def find_roll_call_or_fail(data: Any, symbol: str, where: str) -> int:
    """The roll call's id, or a :class:`ScenarioError` naming the file and key."""
    try:
        return int(find_roll_call(data, symbol, where))
    except DataError as exc:
        raise ScenarioError(str(exc).splitlines()[0]) from exc
