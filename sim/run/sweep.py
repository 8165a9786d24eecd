"""Parameter sweeps: replay one scenario over a grid of changes to its file, resumably.

A sweep varies keys of a scenario file, e.g. the credibility of an offer or the value of
support, over a full factorial grid, and replays every point with the same seed (common random
numbers: differences between points are the changes', not the draws'). Keys are dotted paths
into the TOML file; an element of ``events`` is addressed by its ``id``::

    events.netanyahu_call.offer.credibility = [0.0, 0.25, "talks", 0.5, "firm"]
    model.support_value = [2.0, 5.0]
    members.UKR.security_needs.air_defence = [0.5, 1.0]

Every point's file is validated before anything runs (a bad value names the point, the key and
what was expected, and nothing is written). Each finished point is written at once, atomically,
to ``OUT/points/NNNN.json``; a rerun of the same sweep into the same folder skips the finished
points, so an interrupted sweep resumes without losing any (``manifest.json`` holds the sweep's
hash; another sweep in that folder is refused). The tables ``points.csv`` (one row per point:
the values swept, the expected tally, the probability of adoption) and ``members.csv`` (one row
per point and focal member: its odds) are rebuilt from the points' files, so they are the same
bytes whatever the number of worker processes and however often the sweep was interrupted.

Instead of a grid, a sweep can take a designed experiment (:mod:`sim.run.designs`: SALib's
Latin hypercube, Sobol' or Morris points over ranges of keys, or a table of points), whose
results :mod:`sim.run.sensitivity` analyses. Besides the CSV tables, the results are written as a
labelled xarray Dataset to ``sweep.nc`` (netCDF3, scipy's engine: no extra library; points,
members and acts as coordinates, the swept keys as variables, the odds with their 90%
intervals). Points run in this process, in a process pool (``workers``), or on any
``concurrent.futures``-style executor, e.g. a dask.distributed cluster
(:mod:`sim.run.executors`): the files are the same bytes whichever.

Examples
--------
>>> grid = parse_assignment("model.support_value=1,2.5")
>>> grid
('model.support_value', [1, 2.5])
>>> override({"model": {}}, "model.support_value", 2.5)
{'model': {'support_value': 2.5}}
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from sim.core.acts import ACTS
from sim.core.seeds import DEFAULT_SEED
from sim.core.threads import single_blas_thread
from sim.io.bundles import load_bundle
from sim.io.errors import ScenarioError
from sim.io.netcdf import netcdf_bytes
from sim.io.results import (
    atomic_write_bytes,
    atomic_write_text,
    git_commit,
    package_versions,
    write_json,
)
from sim.io.scenario import Scenario, load_scenario, read_scenario_toml, validate_scenario
from sim.run.calibrate import resolve_calibration
from sim.run.designs import Design, design_from_problem, design_from_table, toml_value
from sim.run.executors import open_executor
from sim.run.labelled import sweep_dataset
from sim.run.replay import replay

__all__ = ["Sweep", "grid_from_assignments", "override", "parse_assignment", "run_sweep"]

#: Bumped when the files a sweep writes change meaning (kept in the manifest). 2: designs, the
#: focal members' 90% intervals, sweep.nc.
FORMAT = 2


@dataclass(frozen=True)
class Sweep:
    """A sweep: a scenario file, its variant, and the values each swept key takes.

    Attributes
    ----------
    scenario : Path
        The scenario file.
    grid : tuple of (key, values)
        Dotted keys and their values, in order; the last key varies fastest. Empty with a
        `design`.
    variant : str or None
        The variant replayed at every point (default: the scenario's default).
    draws, seed : int
        As for :func:`sim.run.replay.replay`; the same at every point.
    calibration : Path or None
        Folder of calibration bundles (default: the committed ones).
    design : Design or None
        The points of a designed experiment (:mod:`sim.run.designs`) instead of a grid.
    """

    scenario: Path
    grid: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    variant: str | None = None
    draws: int = 1000
    seed: int = DEFAULT_SEED
    calibration: Path | None = None
    design: Design | None = None
    _raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check the grid or design and the draws, and read the base scenario file (its size and
        nesting checked), before anything runs.
        """
        if self.design is not None and self.grid:
            raise ScenarioError("sweep: give either a grid (--set) or a design (--param), not both")
        if not self.grid and self.design is None:
            raise ScenarioError(
                "sweep: give at least one key to vary (--set KEY=V1,V2,... or --param KEY=LOW:HIGH)"
            )
        for key, values in self.grid:
            if not values:
                raise ScenarioError(f"sweep: {key}: expected at least one value")
        keys = [key for key, _ in self.grid]
        if len(set(keys)) != len(keys):
            raise ScenarioError(f"sweep: each key may be swept once; got {keys}")
        if self.draws < 1:
            raise ScenarioError(f"sweep: draws must be at least 1; got {self.draws}")
        raw, _ = read_scenario_toml(self.scenario)  # size cap, byte-order mark, nesting depth
        self._raw.update(raw)

    @classmethod
    def from_problem(
        cls,
        scenario: str | Path,
        problem: Mapping[str, Any] | pd.DataFrame | str | Path,
        *,
        design: str | None = None,
        n: int | None = None,
        **options: Any,
    ) -> Sweep:
        """A sweep of `scenario` over a SALib problem or a table of points.

        Parameters
        ----------
        scenario : path
            The scenario file.
        problem : SALib ``ProblemSpec`` or dict, DataFrame, or path of a CSV file
            A problem (``names``: dotted keys, ``bounds``: their ranges), sampled with `design`
            and `n` unless it already holds samples (then `design` says how they were drawn);
            or a table with one column per dotted key and one row per point.
        design : {"grid", "lhs", "sobol", "morris"}, optional
        n : int, optional
            The design's N (see :func:`sim.run.designs.make_design`).
        **options
            ``variant``, ``draws``, ``seed``, ``calibration`` as for :class:`Sweep`; the seed is
            also SALib's.

        Examples
        --------
        >>> plan = Sweep.from_problem(
        ...     "scenarios/icj_referral_2022.toml",
        ...     {"names": ["model.support_value"], "bounds": [[1, 20]]},
        ...     design="lhs", n=4, seed=3,
        ... )
        >>> len(plan.points), plan.keys
        (4, ['model.support_value'])
        """
        seed = int(options.get("seed", cls.seed))
        if isinstance(problem, Mapping):
            made = design_from_problem(problem, design, n, seed=seed)
        else:
            made = design_from_table(problem)
        return cls(scenario=Path(scenario), design=made, **options)

    @property
    def keys(self) -> list[str]:
        """The swept keys, in order."""
        if self.design is not None:
            return list(self.design.names)
        return [key for key, _ in self.grid]

    @cached_property
    def points(self) -> list[dict[str, Any]]:
        """Every point, as ``{key: value}``.

        The design's rows, or every combination of the grid's values in grid order.
        """
        keys = self.keys
        if self.design is not None:
            return [dict(zip(keys, row, strict=True)) for row in self.design.values]
        return [
            dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(values for _, values in self.grid))
        ]

    @property
    def sha256(self) -> str:
        """Hash of what determines the results.

        The file's content, grid or design, variant, draws, seed, and the calibration bundle's
        content (a resumed sweep refuses a recalibration between its points).
        """
        spec = {
            "scenario": self._raw,
            "grid": [[k, list(v)] for k, v in self.grid],
            "design": self.design.spec() if self.design is not None else None,
            "variant": self.variant,
            "draws": self.draws,
            "seed": self.seed,
            "calibration": load_bundle(str(self._raw.get("name")), root=self.calibration).sha256,
            "format": FORMAT,
        }
        text = json.dumps(spec, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    @cached_property
    def scenarios(self) -> list[Scenario]:
        """Every point's validated scenario, validated once (errors name the point and key)."""
        return [self._validate(index) for index in range(len(self.points))]

    def scenario_at(self, index: int) -> Scenario:
        """The validated scenario of point `index` (validating every point on first use)."""
        return self.scenarios[index]

    def _validate(self, index: int) -> Scenario:
        point = self.points[index]
        raw = copy.deepcopy(self._raw)
        for key, value in point.items():
            raw = override(raw, key, value, where=f"{self.scenario}: sweep point {index}")
        label = ", ".join(f"{k}={v!r}" for k, v in point.items())
        content = json.dumps(raw, sort_keys=True, default=str).encode()
        return validate_scenario(
            raw,
            sha256=hashlib.sha256(content).hexdigest(),
            path=Path(self.scenario),
            where=f"{self.scenario} (sweep point {index}: {label})",
        )


def parse_assignment(text: str) -> tuple[str, list[Any]]:
    """``"KEY=V1,V2,..."`` -> ``(KEY, [V1, V2, ...])``; each value is read as a TOML value
    (``0.5``, ``"firm"``, ``{dist = "beta", a = 2, b = 6}``), or kept as text if it is not one
    (so ``firm`` needs no quotes). Commas inside brackets or braces do not split values.
    """
    key, sep, rest = text.partition("=")
    key = key.strip()
    if not sep or not key or not rest.strip():
        raise ScenarioError(f"sweep: expected KEY=VALUE,VALUE,... ; got {text!r}")
    values, depth, current = [], 0, ""
    for char in rest:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            values.append(current)
            current = ""
        else:
            current += char
    values.append(current)
    parsed = []
    for value in (v.strip() for v in values):
        if not value:
            raise ScenarioError(f"sweep: {key}: empty value in {rest!r}")
        parsed.append(toml_value(value))
    return key, parsed


def override(raw: dict[str, Any], key: str, value: Any, *, where: str = "sweep") -> dict[str, Any]:
    """Set dotted `key` of a scenario mapping to `value` (in place; returns `raw`).

    Tables on the way are created if missing; in ``events`` the next part is an event id.
    """
    parts = key.split(".")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            matches = [e for e in node if isinstance(e, dict) and e.get("id") == part]
            if not matches:
                ids = [e.get("id") for e in node if isinstance(e, dict)]
                raise ScenarioError(f"{where}: {key}: no event with id {part!r}; ids are {ids}")
            node = matches[0]
            continue
        if not isinstance(node, dict):
            raise ScenarioError(f"{where}: {key}: {'.'.join(parts[:i])} is not a table")
        node = node.setdefault(part, {})
    if not isinstance(node, dict):
        raise ScenarioError(f"{where}: {key}: {'.'.join(parts[:-1])} is not a table")
    node[parts[-1]] = value
    return raw


# --------------------------------------------------------------------------- running


def _finished(path: Path) -> bool:
    """The point's file holds a record: an empty or cut one (left by a crash) is unfinished."""
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return True


def _point_file(out: Path, index: int) -> Path:
    return out / "points" / f"{index:04d}.json"


@single_blas_thread
def _replay_point(
    index: int,
    scenario: Scenario,
    variant: str | None,
    draws: int,
    seed: int,
    calibration: Path | None,
) -> tuple[int, dict[str, Any]]:
    """Replay one point and return ``(index, record)``.

    Run by a worker: a process of the pool, a dask worker, or this process. The record's file
    is written by the caller, so workers need no access to the sweep's folder.
    """
    result = replay(scenario, variant=variant, n_draws=draws, seed=seed, calibration=calibration)
    summary = result.summary()
    members = result.members.set_index("iso3")
    intervals = {
        iso3: {
            act: [float(members.at[iso3, f"p_{act}_q05"]), float(members.at[iso3, f"p_{act}_q95"])]
            for act in ACTS
        }
        for iso3 in summary["focal"]
    }
    record = {
        "index": index,
        "focal": summary["focal"],
        "focal_interval90": intervals,
        "tally": summary["tally"],
        "prob_adopted": summary["prob_adopted"],
        "deal": summary["deal"],
    }
    return index, json.loads(json.dumps(record, default=float))


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    *,
    workers: int = 1,
    restart: bool = False,
    on_point: Callable[[int], None] | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run (or resume) `sweep` into folder `out`; return the tables ``(points, members)``.

    Parameters
    ----------
    sweep : Sweep
        The sweep.
    out : path
        The sweep's folder. Points already finished there by the same sweep are kept.
    workers : int, default 1
        Points replayed at once: processes of a pool, or the workers of a local dask cluster
        (``scheduler="local"``); the files do not depend on it.
    restart : bool, default False
        Discard another sweep's points found in `out` instead of refusing to run.
    on_point : callable, optional
        Called with each point's index as it finishes (a progress bar).
    scheduler : str, optional
        A dask.distributed scheduler's address (``tcp://host:port``) to run the points on, or
        ``"local"`` to start a local cluster of `workers` processes (needs ``sim[cluster]``).
    executor : concurrent.futures.Executor, optional
        Run the points on this executor instead (left open; `workers` and `scheduler` unused).

    Raises
    ------
    ScenarioError
        If a point's scenario is invalid, or the scheduler cannot be reached (before anything
        is written), or `out` holds another sweep and `restart` is false.
    """
    if workers < 1:
        raise ScenarioError(f"sweep: workers must be at least 1; got {workers}")
    out = Path(out)
    n = len(sweep.points)
    for scenario in sweep.scenarios:  # all valid before anything runs
        scenario.events(sweep.variant)  # the variant exists (a sweep may patch variants)
    scenario = sweep.scenarios[0]
    if sweep.calibration is None:  # a user's own scenario: calibrated once, before any point
        root = resolve_calibration(load_scenario(sweep.scenario), None)
        if isinstance(root, Path):
            sweep = replace(sweep, calibration=root)
    with open_executor(workers, scheduler, given=executor) as pool:  # reachable, or nothing
        manifest_path = out / "manifest.json"
        if manifest_path.exists():
            previous = json.loads(manifest_path.read_text())
            if previous.get("sweep_sha256") != sweep.sha256:
                if not restart:
                    raise ScenarioError(
                        f"{out}: holds another sweep (manifest.json differs in the scenario "
                        f"file, grid or design, variant, draws, seed or calibration bundle); use "
                        f"--restart to discard it, or another --out"
                    )
                shutil.rmtree(out / "points", ignore_errors=True)
        write_json(manifest_path, _manifest(sweep, scenario))
        done = [_finished(_point_file(out, i)) for i in range(n)]
        todo = [i for i in range(n) if not done[i]]
        for index in range(n):
            if done[index] and on_point is not None:
                on_point(index)

        def finish(index: int, record: dict[str, Any]) -> None:
            write_json(_point_file(out, index), {**record, "values": sweep.points[index]})
            if on_point is not None:
                on_point(index)

        args = (sweep.variant, sweep.draws, sweep.seed, sweep.calibration)
        if pool is None or len(todo) <= 1:
            for index in todo:
                finish(*_replay_point(index, sweep.scenario_at(index), *args))
        else:
            futures = [
                pool.submit(_replay_point, index, sweep.scenario_at(index), *args) for index in todo
            ]
            for future in as_completed(futures):  # written as they finish: a kill loses none
                finish(*future.result())
    records = [json.loads(_point_file(out, i).read_text()) for i in range(n)]
    points, members = _tables(sweep, records)
    atomic_write_text(out / "points.csv", points.to_csv(index=False, lineterminator="\n"))
    atomic_write_text(out / "members.csv", members.to_csv(index=False, lineterminator="\n"))
    atomic_write_bytes(out / "sweep.nc", netcdf_bytes(sweep_dataset(sweep, records)))
    return points, members


def _manifest(sweep: Sweep, scenario: Scenario) -> dict[str, Any]:
    return {
        "sweep_sha256": sweep.sha256,
        "format": FORMAT,
        "scenario": {
            "name": scenario.name,
            "file": Path(sweep.scenario).name,
            "sha256": hashlib.sha256(Path(sweep.scenario).read_bytes()).hexdigest(),
        },
        "variant": sweep.variant or scenario.spec.default_variant,
        "focal": list(scenario.spec.focal),
        "grid": {key: list(values) for key, values in sweep.grid},
        "design": (
            {k: v for k, v in sweep.design.spec().items() if k != "values"}
            if sweep.design is not None
            else None
        ),
        "points": len(sweep.points),
        "draws": sweep.draws,
        "seed": sweep.seed,
        "calibration": {
            "folder": str(sweep.calibration) if sweep.calibration else "committed",
            "sha256": load_bundle(scenario.name, root=sweep.calibration).sha256,
        },
        "versions": package_versions(),
        "git_commit": git_commit(),
        "files": ["points/NNNN.json", "points.csv", "members.csv", "sweep.nc"],
    }


def _tables(sweep: Sweep, records: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sweep's tables, from the points' records, in point order."""
    rows, member_rows = [], []
    keys = sweep.keys
    for index, record in enumerate(records):
        values = {key: _cell(record["values"][key]) for key in keys}
        row: dict[str, Any] = {"point": index, **values}
        for act in ACTS:
            row[f"expected_{act}"] = record["tally"][act]["expected"]
        row["p_adopted"] = record["prob_adopted"]
        rows.append(row)
        for iso3, odds in record["focal"].items():
            interval = record["focal_interval90"][iso3]
            member_rows.append(
                {"point": index, **values, "iso3": iso3}
                | {f"p_{act}": odds[act] for act in ACTS}
                | {"most_likely": odds["most_likely"]}
                | {f"p_{act}_q05": interval[act][0] for act in ACTS}
                | {f"p_{act}_q95": interval[act][1] for act in ACTS}
            )
    return pd.DataFrame(rows), pd.DataFrame(member_rows)


def _cell(value: Any) -> Any:
    """A swept value as a table cell (tables and lists as compact JSON)."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def grid_from_assignments(assignments: Sequence[str]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """The grid of a sweep from ``KEY=V1,V2`` texts (the command line's ``--set``)."""
    pairs = [parse_assignment(text) for text in assignments]
    return tuple((key, tuple(values)) for key, values in pairs)
