"""A sweep's results as a labelled xarray Dataset (written as ``sweep.nc``).

Coordinates: ``point`` (the sweep's points, in order), ``member`` (the scenario's focal
members), ``act`` (yes, no, abstain, absent) and ``bound`` (``q05``, ``q95``: the 90% interval).
Variables:

- one per swept key, over ``point``, named by the key (dots kept): its value on a numeric axis
  (credibility words and prior tables as their means, :func:`sim.run.designs.numeric_value`),
  with the values as given in the attribute ``values`` when they were not numbers;
- ``p_adopted`` (point): the probability of adoption;
- ``expected`` (point, act) and ``interval90`` (point, act, bound): the tally;
- ``odds`` (point, member, act) and ``odds_interval90`` (point, member, act, bound): the focal
  members' odds and their 90% intervals across parameter draws; ``most_likely`` (point,
  member): the likeliest act.

Attributes name the scenario, variant, seed, draws and design.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from sim.core.acts import ACTS
from sim.run.designs import numeric_value

if TYPE_CHECKING:
    from sim.run.sweep import Sweep

__all__ = ["sweep_dataset"]


def sweep_dataset(sweep: Sweep, records: list[dict[str, Any]]) -> xr.Dataset:
    """The Dataset of `sweep` from its points' records (in point order).

    Parameters
    ----------
    sweep : Sweep
        The sweep (its keys, scenario and settings label the Dataset).
    records : list of dict
        Each point's record (``points/NNNN.json``).

    Returns
    -------
    xarray.Dataset
        See the module's description.
    """
    n = len(records)
    first = sweep.scenario_at(0)
    focal = [m for m in first.spec.focal if records and m in records[0]["focal"]]
    data: dict[str, Any] = {}
    for key in sweep.keys:
        raw = [record["values"][key] for record in records]
        numeric = np.array([numeric_value(key, v) for v in raw], dtype=float)
        attrs = {"long_name": key}
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
            attrs["values"] = json.dumps(raw, sort_keys=True)
        data[key] = xr.Variable("point", numeric, attrs=attrs)
    data["p_adopted"] = xr.Variable(
        "point", np.array([r["prob_adopted"] for r in records], dtype=float)
    )
    data["expected"] = xr.Variable(
        ("point", "act"),
        np.array([[r["tally"][a]["expected"] for a in ACTS] for r in records], dtype=float),
    )
    data["interval90"] = xr.Variable(
        ("point", "act", "bound"),
        np.array([[r["tally"][a]["interval90"] for a in ACTS] for r in records], dtype=np.int32),
    )
    odds = np.array(
        [[[r["focal"][m][a] for a in ACTS] for m in focal] for r in records], dtype=float
    ).reshape(n, len(focal), len(ACTS))
    bounds = np.array(
        [[[r["focal_interval90"][m][a] for a in ACTS] for m in focal] for r in records],
        dtype=float,
    ).reshape(n, len(focal), len(ACTS), 2)
    data["odds"] = xr.Variable(("point", "member", "act"), odds, attrs={"units": "probability"})
    data["odds_interval90"] = xr.Variable(("point", "member", "act", "bound"), bounds)
    data["most_likely"] = xr.Variable(
        ("point", "member"),
        np.array(
            [[r["focal"][m]["most_likely"] for m in focal] for r in records], dtype=str
        ).reshape(n, len(focal)),
    )
    design = sweep.design
    attrs = {
        "title": f"sweep of {sweep._raw.get('name', '')}",
        "scenario_file": Path(sweep.scenario).name,
        "variant": sweep.variant or first.spec.default_variant,
        "seed": int(sweep.seed),
        "draws": int(sweep.draws),
        "design": design.kind if design is not None else "grid",
        "design_n": int(design.n) if design is not None else 0,
        "keys": json.dumps(sweep.keys),
    }
    return xr.Dataset(
        data,
        coords={
            "point": np.arange(n, dtype=np.int32),
            "member": np.array(focal, dtype=str),
            "act": np.array(ACTS, dtype=str),
            "bound": np.array(["q05", "q95"], dtype=str),
        },
        attrs=attrs,
    )
