"""Calibration bundles: the fitted parameters a replay runs on, as two plain-text files.

A replay must run on a fresh machine without the roll-call data, so ``sim calibrate`` writes a small
*bundle* per scenario into ``sim/defaults/calibration/<scenario>/`` (the embedded default) or the
user's cache (:mod:`sim.run.calibrate`):

``members.csv``
    ``iso3, ideal_point, ideal_point_se, participation, participation_se, n_cells, n_votes,
    previous_act`` (the member's act on the scenario's ``[previous]`` roll call, or empty).
``calibration.json``
    The period and dimension, the persistence costs with standard errors, the item parameters of
    the scenario's ``[item] like`` roll call, fit diagnostics, the input files' SHA-256 and the
    package versions.

Both are written deterministically (no pickle), so a refit on the same data gives the same bytes
and ``git diff`` shows what changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.acts import ACTS
from sim.core.likelihood import ITEM_PARAMS
from sim.io.data import NEWER_VOTES_HINT
from sim.io.errors import DataError
from sim.io.results import atomic_write_bytes, json_text

#: The item parameters a bundle records (:data:`sim.core.likelihood.ITEM_PARAMS`).
ITEM_KEYS = ITEM_PARAMS


MEMBER_COLUMNS = (
    "ideal_point",
    "ideal_point_se",
    "participation",
    "participation_se",
    "n_cells",
    "n_votes",
    "previous_act",
)


@dataclass(frozen=True)
class Bundle:
    """Calibrated parameters for one scenario.

    Attributes
    ----------
    members : DataFrame indexed by iso3
        Columns ``MEMBER_COLUMNS``.
    meta : dict
        The content of ``calibration.json`` (period, dimension, ``persistence``, ``item``...).
    sha256 : str
        Hash of the two files' bytes, for manifests.
    """

    members: pd.DataFrame
    meta: dict[str, Any]
    sha256: str

    @property
    def item(self) -> dict[str, float]:
        """The ``like`` roll call's item parameters."""
        return {k: float(self.meta["item"][k]) for k in ITEM_KEYS}

    @property
    def absence(self) -> dict[str, float]:
        """Strategic-absence slope ``gamma`` and its ``gamma_se`` (0 in older bundles)."""
        return {
            k: float(v)
            for k, v in self.meta.get("absence", {"gamma": 0.0, "gamma_se": 0.0}).items()
        }

    @property
    def group_shock(self) -> dict[str, float]:
        """Sd ``tau`` (and ``tau_se``) of the common shock per UN group (0 in older bundles)."""
        return {
            k: float(v)
            for k, v in self.meta.get("group_shock", {"tau": 0.0, "tau_se": 0.0}).items()
        }

    @property
    def persistence(self) -> dict[str, float]:
        """Persistence costs ``reversal``, ``leave``, ``return`` and their ``_se``."""
        return {k: float(v) for k, v in self.meta["persistence"].items() if k[0] != "n"}


def _serialise(members: pd.DataFrame, meta: dict[str, Any]) -> tuple[bytes, bytes]:
    """The bytes of ``members.csv`` (full float precision) and ``calibration.json``."""
    table = members.copy()
    table.index.name = "iso3"
    members_bytes = table.to_csv(float_format="%.17g", lineterminator="\n").encode()
    meta_bytes = json_text(meta).encode()
    return members_bytes, meta_bytes


def _digest(members_bytes: bytes, meta_bytes: bytes) -> str:
    return hashlib.sha256(members_bytes + b"\0" + meta_bytes).hexdigest()


def bundle_from_frames(members: pd.DataFrame, meta: dict[str, Any]) -> Bundle:
    """A bundle held in memory (as :func:`write_bundle` would store it, same hash)."""
    members_bytes, meta_bytes = _serialise(members, meta)
    table = members.copy()
    table.index.name = "iso3"
    return Bundle(
        members=table, meta=json.loads(meta_bytes), sha256=_digest(members_bytes, meta_bytes)
    )


def bundle_dir(root: Path | None = None) -> Path:
    """Folder holding the bundles: `root`, or the package's ``defaults/calibration``."""
    if root is not None:
        return Path(root)
    return Path(str(resources.files("sim").joinpath("defaults", "calibration")))


#: The files of a bundle (:func:`write_bundle`).
BUNDLE_FILES = ("members.csv", "calibration.json")


def has_bundle(folder: Path) -> bool:
    """Whether `folder` holds both files of a calibration bundle."""
    return all((folder / f).is_file() for f in BUNDLE_FILES)


def load_bundle(
    scenario_name: str, *, root: Path | None = None, scenario_path: Path | str | None = None
) -> Bundle:
    """Read a scenario's bundle (`scenario_path`, if given, names the file in the hint).

    Raises
    ------
    DataError
        If the files are missing, with the command that makes them.
    """
    folder = bundle_dir(root) / scenario_name
    members_path, meta_path = (folder / f for f in BUNDLE_FILES)
    for path in (members_path, meta_path):
        if not path.is_file():
            source = scenario_path or f"scenarios/{scenario_name}.toml"
            if root is not None:
                raise DataError(
                    f"{path}: no calibrated parameters for scenario {scenario_name!r}; run "
                    f"`sim calibrate {source} --out {root}` (then replay with `--calibration "
                    f"{root}`); it needs the roll-call data (set SIM_DATA_DIR, or "
                    f"{NEWER_VOTES_HINT})"
                )
            raise DataError(
                f"{path}: no calibrated parameters for scenario {scenario_name!r}, and no "
                f"roll-call data to fit them to: set SIM_DATA_DIR, or {NEWER_VOTES_HINT}; and "
                "replay again, which calibrates it once; or `sim calibrate "
                f"{source} --out DIR` and replay with `--calibration DIR`"
            )
    members_bytes, meta_bytes = members_path.read_bytes(), meta_path.read_bytes()
    members = pd.read_csv(
        members_path,
        index_col="iso3",
        keep_default_na=False,
        na_values={"ideal_point": [""]},
        dtype={"previous_act": str},
    )
    meta = json.loads(meta_bytes)
    return Bundle(members=members, meta=meta, sha256=_digest(members_bytes, meta_bytes))


def write_bundle(members: pd.DataFrame, meta: dict[str, Any], folder: Path) -> None:
    """Write a bundle atomically (``members.csv`` at full float precision, ``calibration.json``)."""
    members_bytes, meta_bytes = _serialise(members, meta)
    atomic_write_bytes(folder / "members.csv", members_bytes)
    atomic_write_bytes(folder / "calibration.json", meta_bytes)


def previous_codes(members: pd.DataFrame, iso3: list[str]) -> np.ndarray:
    """Index into ``ACTS`` of each member's previous act (-1 where none)."""
    prev = members["previous_act"].reindex(iso3).fillna("").astype(str).to_numpy()
    return np.array([ACTS.index(a) if a in ACTS else -1 for a in prev], dtype=np.int64)
