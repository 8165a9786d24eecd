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
import tomllib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from sim.core.acts import ACTS
from sim.core.seeds import DEFAULT_SEED
from sim.io.bundles import load_bundle
from sim.io.errors import ScenarioError
from sim.io.results import atomic_write_text, git_commit, package_versions, write_json
from sim.io.scenario import Scenario, load_scenario, read_scenario_toml, validate_scenario
from sim.run.calibrate import resolve_calibration
from sim.run.replay import replay

__all__ = ["Sweep", "grid_from_assignments", "override", "parse_assignment", "run_sweep"]

#: Bumped when the files a sweep writes change meaning (kept in the manifest).
FORMAT = 1
#: The interval's ends recorded per focal member (``p_yes_q05`` ... in ``members.csv``).
Q = ("q05", "q95")


@dataclass(frozen=True)
class Sweep:
    """A sweep: a scenario file, its variant, and the values each swept key takes.

    Attributes
    ----------
    scenario : Path
        The scenario file.
    grid : tuple of (key, values)
        Dotted keys and their values, in order; the last key varies fastest.
    variant : str or None
        The variant replayed at every point (default: the scenario's default).
    draws, seed : int
        As for :func:`sim.run.replay.replay`; the same at every point.
    calibration : Path or None
        Folder of calibration bundles (default: the committed ones).
    """

    scenario: Path
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    variant: str | None = None
    draws: int = 1000
    seed: int = DEFAULT_SEED
    calibration: Path | None = None
    _raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check the grid and the draws, and read the base scenario file (its size and nesting
        checked), before anything runs.
        """
        if not self.grid:
            raise ScenarioError("sweep: give at least one key to vary (KEY=VALUE,VALUE,...)")
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

    @cached_property
    def points(self) -> list[dict[str, Any]]:
        """Every combination of values, as ``{key: value}`` in grid order."""
        keys = [key for key, _ in self.grid]
        return [
            dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(values for _, values in self.grid))
        ]

    @property
    def sha256(self) -> str:
        """Hash of what determines the results: the file's content, grid, variant, draws,
        seed, and the calibration bundle's content (a resumed sweep refuses a recalibration
        between its points).
        """
        spec = {
            "scenario": self._raw,
            "grid": [[k, list(v)] for k, v in self.grid],
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
        try:
            parsed.append(tomllib.loads(f"v = {value}")["v"])
        except tomllib.TOMLDecodeError:
            parsed.append(value)
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


def _point_file(out: Path, index: int) -> Path:
    return out / "points" / f"{index:04d}.json"


def _finished(path: Path) -> bool:
    """The point's file holds a record: an empty or cut one (left by a crash) is unfinished."""
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return True


def _run_point(sweep: Sweep, index: int, out: Path) -> int:
    """Replay point `index` and write its file (run in a worker process)."""
    result = replay(
        sweep.scenario_at(index),
        variant=sweep.variant,
        n_draws=sweep.draws,
        seed=sweep.seed,
        calibration=sweep.calibration,
    )
    summary = result.summary()
    members = result.members.set_index("iso3")
    record = {
        "index": index,
        "values": sweep.points[index],
        "focal": summary["focal"],
        "focal_intervals": {  # 5-95% across draws: the bands of plot_sweep
            iso3: {f"{a}_{q}": float(members.loc[iso3, f"p_{a}_{q}"]) for a in ACTS for q in Q}
            for iso3 in summary["focal"]
        },
        "tally": summary["tally"],
        "prob_adopted": summary["prob_adopted"],
        "deal": summary["deal"],
    }
    write_json(_point_file(out, index), json.loads(json.dumps(record, default=float)))
    return index


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    *,
    workers: int = 1,
    restart: bool = False,
    on_point: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run (or resume) `sweep` into folder `out`; return the tables ``(points, members)``.

    Parameters
    ----------
    sweep : Sweep
    out : path
        The sweep's folder. Points already finished there by the same sweep are kept.
    workers : int, default 1
        Processes replaying points at once; the files do not depend on it.
    restart : bool, default False
        Discard another sweep's points found in `out` instead of refusing to run.
    on_point : callable, optional
        Called with each point's index as it finishes (a progress bar).

    Raises
    ------
    ScenarioError
        If a point's scenario is invalid (before anything is written), or `out` holds another
        sweep and `restart` is false.
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
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        previous = json.loads(manifest_path.read_text())
        if previous.get("sweep_sha256") != sweep.sha256:
            if not restart:
                raise ScenarioError(
                    f"{out}: holds another sweep (manifest.json differs in the scenario file, "
                    f"grid, variant, draws, seed or calibration bundle); use --restart to "
                    f"discard it, or another --out"
                )
            shutil.rmtree(out / "points", ignore_errors=True)
    write_json(manifest_path, _manifest(sweep, scenario))
    done = [_finished(_point_file(out, i)) for i in range(n)]
    todo = [i for i in range(n) if not done[i]]
    for index in range(n):
        if done[index] and on_point is not None:
            on_point(index)
    if workers == 1 or len(todo) <= 1:
        for index in todo:
            _run_point(sweep, index, out)
            if on_point is not None:
                on_point(index)
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            futures = [pool.submit(_run_point, sweep, index, out) for index in todo]
            for future in futures:
                index = future.result()
                if on_point is not None:
                    on_point(index)
    points, members = _tables(sweep, out)
    atomic_write_text(out / "points.csv", points.to_csv(index=False, lineterminator="\n"))
    atomic_write_text(out / "members.csv", members.to_csv(index=False, lineterminator="\n"))
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
        "grid": {key: list(values) for key, values in sweep.grid},
        "points": len(sweep.points),
        "draws": sweep.draws,
        "seed": sweep.seed,
        "calibration": {
            "folder": str(sweep.calibration) if sweep.calibration else "committed",
            "sha256": load_bundle(scenario.name, root=sweep.calibration).sha256,
        },
        "versions": package_versions(),
        "git_commit": git_commit(),
        "files": ["points/NNNN.json", "points.csv", "members.csv"],
    }


def _tables(sweep: Sweep, out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sweep's tables, from the points' files, in point order."""
    rows, member_rows = [], []
    keys = [key for key, _ in sweep.grid]
    for index in range(len(sweep.points)):
        record = json.loads(_point_file(out, index).read_text())
        values = {key: _cell(record["values"][key]) for key in keys}
        row: dict[str, Any] = {"point": index, **values}
        for act in ACTS:
            row[f"expected_{act}"] = record["tally"][act]["expected"]
        row["p_adopted"] = record["prob_adopted"]
        rows.append(row)
        for iso3, odds in record["focal"].items():
            bands = record.get("focal_intervals", {}).get(iso3, {})  # none in older points
            member_rows.append(
                {"point": index, **values, "iso3": iso3}
                | {f"p_{act}": odds[act] for act in ACTS}
                | {"most_likely": odds["most_likely"]}
                | {f"p_{a}_{q}": bands.get(f"{a}_{q}") for a in ACTS for q in Q}
            )
    return pd.DataFrame(rows), pd.DataFrame(member_rows)


def _cell(value: Any) -> Any:
    """A swept value as a table cell (tables and lists as compact JSON)."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def grid_from_assignments(assignments: Sequence[str]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """The grid of a sweep from ``KEY=V1,V2`` texts (the command line's ``--set``)."""
    pairs = [parse_assignment(text) for text in assignments]
    return tuple((key, tuple(values)) for key, values in pairs)
