"""Which assumption matters: SALib's sensitivity indices of a designed sweep's outputs.

For a sweep on a ``sobol`` design, Sobol' first-order (``S1``: the share of an output's variance
a key explains alone) and total indices (``ST``: with all its interactions), each with its 95%
bootstrap confidence half-width; for a ``morris`` design, the elementary effects' ``mu_star``
(mean absolute effect of a key over its range, with its 95% half-width) and ``sigma`` (their
spread: interactions or non-linearity). Both by ``SALib.analyze``, on every output of the sweep:

- ``p_adopted``: the probability of adoption;
- ``expected_yes``, ..., ``expected_absent``: the expected tally;
- ``ISO3.p_yes``, ..., ``ISO3.p_absent``: each focal member's odds.

Outputs that do not vary over the design (a member no ask reaches) have no indices and are left
out. The bootstrap's seed is the sweep's, so the same sweep gives the same table.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.acts import ACTS
from sim.io.errors import ScenarioError
from sim.io.results import atomic_write_text, csv_text
from sim.io.sensitivity_plots import plot_sensitivity
from sim.run.designs import MORRIS_LEVELS, Design

__all__ = ["ANALYSES", "analyze", "analyze_folder", "folder_design", "sweep_outputs"]

#: The designs that have an analysis, and the columns of its table.
ANALYSES = {
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
    "morris": ("mu_star", "mu_star_conf", "sigma", "mu"),
}

#: Bootstrap resamples for the confidence intervals (SALib's default).
RESAMPLES = 100


def sweep_outputs(
    points: pd.DataFrame, members: pd.DataFrame, focal: list[str] | None = None
) -> pd.DataFrame:
    """The outputs of a sweep, one column each, one row per point (in point order).

    Parameters
    ----------
    points, members : DataFrame
        The tables of :func:`sim.run.sweep.run_sweep`.
    focal : list of str, optional
        The members whose odds are outputs, in this order (default: all, as in `members`).
    """
    out = {"p_adopted": points["p_adopted"].to_numpy(float)}
    for act in ACTS:
        out[f"expected_{act}"] = points[f"expected_{act}"].to_numpy(float)
    for iso3 in focal if focal is not None else dict.fromkeys(members["iso3"]):
        rows = members[members["iso3"] == iso3].sort_values("point")
        for act in ACTS:
            out[f"{iso3}.p_{act}"] = rows[f"p_{act}"].to_numpy(float)
    return pd.DataFrame(out, index=points["point"].to_numpy())


def analyze(design: Design, outputs: pd.DataFrame, *, seed: int) -> pd.DataFrame:
    """The sensitivity indices of each output to each key, ranked.

    Parameters
    ----------
    design : Design
        The sweep's design (``sobol`` or ``morris``); its points are the rows of `outputs`.
    outputs : DataFrame
        One column per output (:func:`sweep_outputs`).
    seed : int
        The bootstrap's seed.

    Returns
    -------
    DataFrame
        One row per output and key: ``output, parameter, rank`` (1: the key that matters most
        for that output, by ``ST`` or ``mu_star``), then the indices (:data:`ANALYSES`). Outputs
        in the order given, keys by rank. ``attrs["constant"]`` lists the outputs left out
        because they do not vary over the design.

    Raises
    ------
    ScenarioError
        If the design has no analysis, or its points do not match the outputs.
    """
    if design.kind not in ANALYSES:
        raise ScenarioError(
            f"sensitivity: a {design.kind} design has no sensitivity analysis; use --design "
            f"sobol (Sobol' indices) or morris (elementary effects)"
        )
    if len(outputs) != len(design.values):
        raise ScenarioError(
            f"sensitivity: {len(outputs)} outputs for a design of {len(design.values)} points"
        )
    from SALib.analyze import morris, sobol

    problem = design.problem
    x = design.matrix()
    rows: list[dict[str, Any]] = []
    constant = []
    for name in outputs.columns:
        y = outputs[name].to_numpy(float)
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0.0:
            constant.append(str(name))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if design.kind == "sobol":
                result = sobol.analyze(
                    problem,
                    y,
                    calc_second_order=False,
                    num_resamples=RESAMPLES,
                    conf_level=0.95,
                    seed=seed,
                )
                key = "ST"
            else:
                result = morris.analyze(
                    problem,
                    x,
                    y,
                    num_resamples=RESAMPLES,
                    conf_level=0.95,
                    num_levels=MORRIS_LEVELS,
                    seed=seed,
                )
                key = "mu_star"
        columns = ANALYSES[design.kind]
        block = [
            {"output": name, "parameter": p} | {c: float(np.asarray(result[c])[i]) for c in columns}
            for i, p in enumerate(design.names)
        ]
        block.sort(key=lambda r: -r[key] if np.isfinite(r[key]) else np.inf)
        for rank, row in enumerate(block, start=1):
            rows.append(
                {"output": row["output"], "parameter": row["parameter"], "rank": rank}
                | {c: row[c] for c in columns}
            )
    table = pd.DataFrame(rows, columns=["output", "parameter", "rank", *ANALYSES[design.kind]])
    table.attrs["constant"] = constant
    return table


def folder_design(out: str | Path) -> Design:
    """The design of the sweep in folder `out`, from its manifest and points' files.

    Raises
    ------
    ScenarioError
        If `out` holds no finished designed sweep.
    """
    out = Path(out)
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"{out}: no sweep here (manifest.json: {exc})") from None
    spec = manifest.get("design")
    if not spec:
        raise ScenarioError(
            f"{out}: a grid sweep (--set) has no sensitivity analysis; sweep with --param and "
            f"--design sobol or morris"
        )
    names = tuple(spec["names"])
    values = []
    for index in range(int(manifest["points"])):
        path = out / "points" / f"{index:04d}.json"
        if not path.is_file():
            raise ScenarioError(f"{path}: missing; finish the sweep first (rerun it to resume)")
        record = json.loads(path.read_text())
        values.append(tuple(record["values"][k] for k in names))
    return Design(
        kind=spec["kind"],
        names=names,
        bounds=tuple((float(lo), float(hi)) for lo, hi in spec["bounds"]),
        n=int(spec["n"]),
        values=tuple(values),
        seed=spec.get("seed"),
    )


def analyze_folder(out: str | Path) -> pd.DataFrame:
    """Compute the indices of the finished designed sweep in folder `out`.

    From its tables and design; written to ``sensitivity.csv`` and plotted
    (``sensitivity.png``: the probability of adoption and the first focal member's odds, those
    that vary).
    """
    out = Path(out)
    design = folder_design(out)
    points = pd.read_csv(out / "points.csv")
    members = pd.read_csv(out / "members.csv")
    focal_members = json.loads((out / "manifest.json").read_text()).get("focal")
    outputs = sweep_outputs(points, members, focal_members)
    table = analyze(design, outputs, seed=int(design.seed or 0))
    atomic_write_text(out / "sensitivity.csv", csv_text(table))
    focal = focal_members[0] if focal_members else None
    shown = ["p_adopted", *([f"{focal}.p_{act}" for act in ACTS] if focal else [])]
    plot_sensitivity(table, out / "sensitivity.png", outputs=shown)
    return table
