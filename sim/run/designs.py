"""Designed experiments for sweeps: ranges of keys, and SALib's designs over them.

A full grid (``sim sweep --set``) lists the values of each key; a design draws the points of a
sweep from ranges instead (``--param KEY=LOW:HIGH``), so that a sweep of many keys stays small
and its results answer "which assumption matters?" (:mod:`sim.run.sensitivity`). Sampling is
SALib's (Herman & Usher 2017; Iwanaga, Usher & Herman 2022), not hand-written:

``grid``
    ``N`` evenly spaced levels per key, every combination (``N ** D`` points).
``lhs``
    A Latin hypercube of ``N`` points (``SALib.sample.latin``).
``sobol``
    Saltelli's extension of the scrambled Sobol' sequence, ``N * (D + 2)`` points, ``N`` a power
    of two (``SALib.sample.sobol``): what Sobol' first-order and total indices need.
``morris``
    ``N`` Morris trajectories on a 4-level grid, ``N * (D + 1)`` points
    (``SALib.sample.morris``): elementary effects, mu* and sigma.

A range's ends are numbers, or credibility words (``talks``, ``firm``, ``none``), read as the
means of their priors (:data:`sim.io.scenario.CREDIBILITY_LEVELS`), so that credibility can be
swept on a numeric axis. The design's seed is the sweep's: the same arguments give the same
points.

Examples
--------
>>> parse_range("model.support_value=1:20")
('model.support_value', (1.0, 20.0))
>>> parse_range("events.netanyahu_call.offer.credibility=talks:firm")
('events.netanyahu_call.offer.credibility', (0.25, 0.9))
>>> design = make_design([("model.support_value", (1.0, 3.0))], "grid", 3, seed=1)
>>> [row[0] for row in design.values]
[1.0, 2.0, 3.0]
"""

from __future__ import annotations

import json
import math
import tomllib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.io.errors import ScenarioError
from sim.io.scenario import CREDIBILITY_LEVELS, Prior

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DESIGNS",
    "Design",
    "design_from_problem",
    "design_from_table",
    "make_design",
    "numeric_value",
    "parse_range",
    "toml_value",
]

#: The designs ``--design`` accepts.
DESIGNS = ("grid", "lhs", "sobol", "morris")

#: The most points a grid design may have (``N ** D``).
MAX_GRID = 100_000

#: Levels of the Morris grid (SALib's default; the analysis must use the same).
MORRIS_LEVELS = 4


@dataclass(frozen=True)
class Design:
    """The points of a designed sweep.

    Attributes
    ----------
    kind : str
        ``grid``, ``lhs``, ``sobol``, ``morris`` or ``table`` (points given by the user).
    names : tuple of str
        The dotted keys, in column order.
    bounds : tuple of (float, float)
        Each key's range (for a table: the least and greatest numeric value, or NaN).
    n : int
        The design's ``N`` (levels, samples or trajectories; rows for a table).
    values : tuple of tuples
        One row per point, one value per key.
    seed : int or None
        SALib's seed.
    """

    kind: str
    names: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    n: int
    values: tuple[tuple[Any, ...], ...]
    seed: int | None = None

    @property
    def problem(self) -> dict[str, Any]:
        """The SALib problem: ``num_vars``, ``names`` and ``bounds``."""
        return {
            "num_vars": len(self.names),
            "names": list(self.names),
            "bounds": [list(b) for b in self.bounds],
        }

    def matrix(self) -> np.ndarray:
        """The points as numbers, shape (n_points, n_keys) (words read as their means)."""
        return np.array(
            [
                [numeric_value(k, v) for k, v in zip(self.names, row, strict=True)]
                for row in self.values
            ],
            dtype=float,
        ).reshape(len(self.values), len(self.names))

    def spec(self) -> dict[str, Any]:
        """What defines the design, as JSON-ready data (for the sweep's hash and manifest)."""
        return {
            "kind": self.kind,
            "names": list(self.names),
            "bounds": [list(b) for b in self.bounds],
            "n": self.n,
            "seed": self.seed,
            "values": [list(row) for row in self.values],
        }


def numeric_value(key: str, value: Any) -> float:
    """Read `value` of `key` on a numeric axis.

    Numbers as they are, credibility words and prior tables as their means, anything else NaN.

    Examples
    --------
    >>> numeric_value("events.a.offer.credibility", "talks")
    0.25
    >>> numeric_value("model.support_value", {"dist": "uniform", "low": 2, "high": 4})
    3.0
    """
    if isinstance(value, bool):
        return float("nan")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value in CREDIBILITY_LEVELS:
        return float(CREDIBILITY_LEVELS[value].mean())
    if isinstance(value, Mapping) and isinstance(value.get("dist"), str):
        try:
            params = tuple((k, float(v)) for k, v in value.items() if k != "dist")
            return float(Prior(value["dist"], params).mean())
        except (KeyError, TypeError, ValueError, AssertionError):
            return float("nan")
    return float("nan")


def toml_value(text: str) -> Any:
    """Read `text` as a TOML value, or keep it as text if it is not one.

    ``0.5``, ``"firm"``, ``{dist = "beta", a = 2, b = 6}``; a bare word needs no quotes.

    Examples
    --------
    >>> toml_value("0.5"), toml_value("firm")
    (0.5, 'firm')
    """
    try:
        return tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def _bound(key: str, text: str, whole: str) -> float:
    text = text.strip()
    if text in CREDIBILITY_LEVELS:
        return float(CREDIBILITY_LEVELS[text].mean())
    try:
        x = float(text)
    except ValueError:
        words = ", ".join(CREDIBILITY_LEVELS)
        raise ScenarioError(
            f"sweep: {key}: expected LOW:HIGH with numbers or {words}; got {whole!r}"
        ) from None
    if not math.isfinite(x):
        raise ScenarioError(f"sweep: {key}: expected finite bounds; got {whole!r}")
    return x


def parse_range(text: str) -> tuple[str, tuple[float, float]]:
    """``"KEY=LOW:HIGH"`` -> ``(KEY, (LOW, HIGH))``; LOW must be less than HIGH.

    Raises
    ------
    ScenarioError
        If the text is malformed, a bound is not a number or credibility word, or the range is
        empty or reversed.
    """
    key, sep, rest = text.partition("=")
    key = key.strip()
    low, colon, high = rest.partition(":")
    if not sep or not key or not colon or not low.strip() or not high.strip():
        raise ScenarioError(
            f"sweep: expected KEY=LOW:HIGH (e.g. model.support_value=1:20); got {text!r}"
        )
    lo, hi = _bound(key, low, rest), _bound(key, high, rest)
    if not lo < hi:
        what = "empty" if lo == hi else "reversed"
        raise ScenarioError(f"sweep: {key}: the range {rest!r} is {what}; expected LOW < HIGH")
    return key, (lo, hi)


def make_design(
    ranges: Sequence[tuple[str, tuple[float, float]]], kind: str, n: int, *, seed: int
) -> Design:
    """SALib's design `kind` with `n` (levels, samples or trajectories) over `ranges`.

    Raises
    ------
    ScenarioError
        For an unknown design, a key given twice, or an `n` the design cannot be built with
        (grid: at least 2 levels; lhs: at least 2 points; sobol: a power of two, at least 2;
        morris: at least 2 trajectories), or anything SALib refuses or warns about.
    """
    if kind not in DESIGNS:
        raise ScenarioError(f"sweep: --design: expected one of {', '.join(DESIGNS)}; got {kind!r}")
    if not ranges:
        raise ScenarioError("sweep: give at least one --param KEY=LOW:HIGH for a design")
    names = tuple(key for key, _ in ranges)
    if len(set(names)) != len(names):
        raise ScenarioError(f"sweep: each key may be swept once; got {list(names)}")
    bounds = tuple((float(lo), float(hi)) for _, (lo, hi) in ranges)
    for key, (lo, hi) in zip(names, bounds, strict=True):
        if not lo < hi:
            raise ScenarioError(f"sweep: {key}: the range [{lo}, {hi}] is empty or reversed")
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ScenarioError(f"sweep: --n: the {kind} design needs N of at least 2; got {n!r}")
    if kind == "sobol" and n & (n - 1):
        raise ScenarioError(
            f"sweep: --n: the sobol design needs N a power of two (Saltelli's scheme); got {n}"
        )
    if kind == "grid" and n ** len(names) > MAX_GRID:
        raise ScenarioError(
            f"sweep: --n: a grid of {n} levels on {len(names)} keys has {n ** len(names)} points "
            f"(at most {MAX_GRID}); use fewer levels, or --design lhs or sobol"
        )
    problem = {"num_vars": len(names), "names": list(names), "bounds": [list(b) for b in bounds]}
    if kind == "grid":
        axes = [np.linspace(lo, hi, n) for lo, hi in bounds]
        mesh = np.meshgrid(*axes, indexing="ij")
        matrix = np.stack([m.ravel() for m in mesh], axis=1)
    else:
        matrix = _salib_sample(problem, kind, n, seed)
    values = tuple(tuple(float(x) for x in row) for row in matrix)
    return Design(kind=kind, names=names, bounds=bounds, n=n, values=values, seed=seed)


def _salib_sample(problem: dict[str, Any], kind: str, n: int, seed: int) -> np.ndarray:
    from SALib.sample import latin, morris, sobol

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            if kind == "lhs":
                return latin.sample(problem, n, seed=seed)
            if kind == "sobol":
                return sobol.sample(problem, n, calc_second_order=False, seed=seed)
            return morris.sample(problem, n, num_levels=MORRIS_LEVELS, seed=seed)
    except (ValueError, RuntimeError, UserWarning) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScenarioError(
            f"sweep: SALib cannot build the {kind} design with N={n}: {message}"
        ) from exc


def design_from_problem(
    problem: Mapping[str, Any], kind: str | None = None, n: int | None = None, *, seed: int
) -> Design:
    """A design from SALib's ``ProblemSpec`` (or its problem dict: ``names`` and ``bounds``).

    If the spec already holds samples (``spec.samples``, e.g. after ``spec.sample_sobol(64)``),
    they are the points and `kind` says how they were drawn (for the analysis); otherwise
    `kind` and `n` build them as :func:`make_design`. Only uniform distributions (SALib's
    default, ``unif``) are accepted: other ``dists`` would need SALib's own transform, and the
    scenario file is the place for priors.
    """
    names = list(problem.get("names") or [])
    bounds = problem.get("bounds") or []
    if not names or len(names) != len(bounds):
        raise ScenarioError("sweep: the problem needs names and one [low, high] bound per name")
    dists = problem.get("dists")
    if dists is not None and any(d != "unif" for d in dists):
        raise ScenarioError(f"sweep: only uniform ('unif') dists are supported; got {list(dists)}")
    ranges = [(str(k), (float(b[0]), float(b[1]))) for k, b in zip(names, bounds, strict=True)]
    samples = getattr(problem, "samples", None)
    if samples is not None:
        if kind not in DESIGNS[1:]:
            raise ScenarioError(
                "sweep: the problem holds samples: say how they were drawn (kind='sobol', "
                "'morris' or 'lhs')"
            )
        matrix = np.asarray(samples, dtype=float)
        if matrix.ndim != 2 or matrix.shape[1] != len(names):
            raise ScenarioError(
                f"sweep: samples: expected shape (n, {len(names)}); got {matrix.shape}"
            )
        values = tuple(tuple(float(x) for x in row) for row in matrix)
        return Design(
            kind=kind,
            names=tuple(k for k, _ in ranges),
            bounds=tuple(b for _, b in ranges),
            n=int(n) if n is not None else len(values),
            values=values,
            seed=seed,
        )
    if kind is None or n is None:
        raise ScenarioError("sweep: give the design's kind and N (or a problem with samples)")
    return make_design(ranges, kind, n, seed=seed)


def design_from_table(table: pd.DataFrame | str | Path) -> Design:
    """Make a design whose points are the rows of a table.

    A DataFrame, or a CSV file's path: one column per dotted key; cells are numbers or words
    (read as TOML values, as ``--set``).
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        try:
            table = pd.read_csv(table, dtype=str, keep_default_na=False)
        except (OSError, ValueError) as exc:
            raise ScenarioError(f"{table}: cannot read the table of points ({exc})") from exc
    names = tuple(str(c) for c in table.columns if str(c) != "point")
    if not names or table.empty:
        raise ScenarioError("sweep: the table of points needs at least one key column and one row")
    rows = []
    for _, record in table.iterrows():
        row = []
        for key in names:
            cell = record[key]
            if isinstance(cell, str):
                cell = toml_value(cell)
            elif isinstance(cell, np.generic):
                cell = cell.item()
            row.append(cell)
        rows.append(tuple(row))
    values = tuple(rows)
    numeric = np.array([[numeric_value(k, v) for k, v in zip(names, r, strict=True)] for r in rows])
    bounds = tuple(
        (float(np.nanmin(col)), float(np.nanmax(col)))
        if np.isfinite(col).any()
        else (math.nan, math.nan)
        for col in numeric.T
    )
    json.dumps([list(r) for r in values])  # JSON-ready, or TypeError now rather than later
    return Design(kind="table", names=names, bounds=bounds, n=len(values), values=values)
