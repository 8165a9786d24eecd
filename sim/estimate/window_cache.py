"""Fitted windows kept on disk, keyed by what the fit reads, so scenarios that share a window
and a dimension share one fit.

A static ideal-point fit (:class:`sim.estimate.ideal_points.IdealPoints`) of ten years of roll
calls, with the steps after it (strategic absence, the participation walk, group shocks,
persistence), is most of a calibration's time, and the same window is fitted again by every
scenario voting on the same day and dimension. :func:`static_fit` keeps each ideal-point fit,
and :func:`save_window` each window's whole fit for a vote, in :func:`window_cache_dir` under a
key made of the data's SHA-256 (:func:`sim.io.data.data_sha256`), the window's roll-call ids,
the dimension, the estimator's settings, the package version and the fitting code's source
(:func:`code_sha256`), as :func:`sim.estimate.ideal_points.save_calibration` writes it (floats
at 17 significant digits: read back bit for bit). Data of unknown origin (no SHA-256) are
never cached; dynamic fits are not cached.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.estimate.ideal_points import IdealPoints, load_calibration, save_calibration
from sim.io.calibration_inputs import key_of
from sim.io.data import cache_root
from sim.io.errors import DataError
from sim.io.results import atomic_write_text, json_text, package_versions

__all__ = [
    "kept_persistence",
    "load_window",
    "save_window",
    "static_fit",
    "window_cache_dir",
    "window_key",
]

#: File stem of a cached fit in its folder.
STEM = "window"


def window_cache_dir() -> Path:
    """Where fitted windows are kept: :func:`sim.io.data.cache_root` ``/windows``."""
    return cache_root() / "windows"


def window_key(window: Any, est: IdealPoints) -> str | None:
    """The key of fitting `est` (unfitted, its settings) to `window` (None: data of unknown
    origin, not cached).
    """
    sha = getattr(window, "sha256", None)
    if sha is None:
        return None
    return key_of(
        {
            "data": sha,
            "rcids": key_of([int(r) for r in window.roll_calls.index]),
            "dimension": est.dimension,
            "max_iter": est.max_iter,
            "tol": est.tol,
            "persistence_key": est.persistence_key,
            "strategic": est.strategic,
            "sim": package_versions()["sim"],
            "code": code_sha256(),
        }
    )


@functools.cache
def code_sha256() -> str:
    """SHA-256 of the source of the fitting code (``sim/core``, ``sim/estimate``): a change to
    the model between releases (same version) does not read back fits the old code made.
    """
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted([*root.glob("core/*.py"), *root.glob("estimate/*.py")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def static_fit(window: Any, *, dimension: str, progress: bool = False) -> IdealPoints:
    """``IdealPoints(dimension=dimension).fit(window)``, read from :func:`window_cache_dir` when
    the same window was fitted before (by any scenario), else fitted and kept there.
    """
    est = IdealPoints(dimension=dimension, progress=progress)
    key = window_key(window, est)
    if key is None:
        return est.fit(window)
    folder = window_cache_dir() / key[:32]
    try:
        return load_calibration(folder, STEM)
    except (DataError, OSError, ValueError, KeyError):
        pass  # not there, or half written by an interrupted run: fit it
    est.fit(window)
    with contextlib.suppress(OSError):  # a read-only cache slows the next run, nothing else
        save_calibration(est, folder, name=STEM)
    return est


def kept_persistence(
    window: Any, *, dimension: str, fit: Callable[[], dict[str, float]]
) -> dict[str, float]:
    """The text persistence of `window` (:func:`sim.estimate.window.fit_window`'s, a function of
    the window's static fit alone, not of the vote it is carried to): read from
    :func:`window_cache_dir` if kept there, else ``fit()``, kept. Fits of one window for several
    votes (a forecast's dates, ``sim validate --lead``) share it; JSON keeps its floats bit for
    bit.
    """
    key = window_key(window, IdealPoints(dimension=dimension))
    if key is None:
        return fit()
    path = window_cache_dir() / key[:32] / "persistence.json"
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        # kept before the members' hold on their record was fitted (``hold_sd``): fit it again
        if isinstance(kept, dict) and "hold_sd" in kept:
            return {str(k): float(v) for k, v in kept.items()}
    except (OSError, ValueError, TypeError):
        pass  # not there, or half written: fit it
    value = fit()
    with contextlib.suppress(OSError):
        atomic_write_text(path, json_text(value))
    return value


#: File stem of a window's fit after :func:`sim.estimate.window.fit_window`'s steps.
DONE = "done"


def _done_folder(key: str, target: dict[str, Any]) -> Path:
    return window_cache_dir() / key[:32] / f"{DONE}-{key_of(target)[:16]}"


def load_window(
    window: Any, *, dimension: str, target: dict[str, Any]
) -> tuple[IdealPoints, dict[str, Any]] | None:
    """The estimator and the fitted dicts (``absence``, ``group_shock``, ``persistence``,
    ``presence_carryover``) :func:`sim.estimate.window.fit_window` kept for `window` and
    `target` (the vote's session and date it carries the fit to), or None.
    """
    key = window_key(window, IdealPoints(dimension=dimension))
    if key is None:
        return None
    folder = _done_folder(key, target)
    try:
        est = load_calibration(folder, STEM)
        parts = json.loads((folder / "parts.json").read_text(encoding="utf-8"))
    except (DataError, OSError, ValueError, KeyError):
        return None
    if "hold_sd" not in parts.get("persistence", {}):  # kept before the members' hold was fitted
        return None
    return est, parts


def save_window(
    window: Any, est: IdealPoints, parts: dict[str, Any], *, target: dict[str, Any]
) -> None:
    """Keep what :func:`load_window` reads (nothing for data of unknown origin)."""
    key = window_key(window, IdealPoints(dimension=est.dimension))
    if key is None:
        return
    folder = _done_folder(key, target)
    with contextlib.suppress(OSError):
        save_calibration(est, folder, name=STEM)
        atomic_write_text(folder / "parts.json", json_text(parts))
