"""``sim check`` against the data: the roll calls a scenario names must be there, and earlier.

:func:`sim.io.scenario.load_scenario` validates a file on its own; with the roll-call data at
hand, :func:`data_problems` also resolves the symbols the calibration and the replay will look
up (``[item] like``, ``[previous] like``, and ``[committee] symbol`` where the plenary record
holds it), so a typo is reported by ``sim check`` instead of minutes into a calibration.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sim.estimate.window import find_roll_call
from sim.io.errors import DataError
from sim.io.scenario import Scenario

__all__ = ["data_problems"]


def data_problems(scenario: Scenario, data: Any) -> list[str]:
    """The problems of `scenario`'s roll-call symbols in `data`, one line each (none: ``[]``).

    ``item.like`` and ``previous.like`` must name a roll call in the data dated before the
    resolution (a replay reads only the past). A committee's draft is not a plenary roll call,
    so ``committee.symbol`` is only checked when the data hold it: then its date must be the
    file's ``committee.date``.
    """
    spec = scenario.spec
    where = str(scenario.path or scenario.name)
    vote = pd.Timestamp(spec.resolution.date)
    found = []
    for key, symbol in (
        ("item.like", spec.item.like),
        ("previous.like", spec.previous.like if spec.previous else None),
    ):
        if symbol is None:
            continue
        try:
            rcid = find_roll_call(data, symbol, f"{where}: {key}")
        except DataError as exc:
            found.append(str(exc))
            continue
        date = pd.Timestamp(data.roll_calls.loc[rcid, "date"])
        if date >= vote:
            found.append(
                f"{where}: {key}: expected a roll call before the resolution "
                f"({vote.date()}); {symbol} was voted on {date.date()}"
            )
    committee = spec.committee
    if committee is not None:
        rc = data.roll_calls
        hits = rc.index[rc["symbol"].to_numpy() == committee.symbol]
        dates = {pd.Timestamp(d).date() for d in rc.loc[hits, "date"]}
        if len(hits) and committee.date not in dates:
            found.append(
                f"{where}: committee.date: the data record {committee.symbol} on "
                f"{', '.join(str(d) for d in sorted(dates))}; got {committee.date}"
            )
    return found
