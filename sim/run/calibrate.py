"""Calibrate a scenario: fit its window, learn its deal from its episodes, write its bundle.

The embedded default (committed calibrated parameters for each shipped scenario) and the bundles
of a user's own scenarios, cached on first use, are both made here.

``sim calibrate`` refits the embedded default in ``sim/defaults/calibration/<scenario>/``
(bundle format: :mod:`sim.io.bundles`); :func:`resolve_calibration` finds or makes the bundle of any
scenario, keyed by its file, its episodes' files and the package version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.acts import ACTS, IntArray
from sim.estimate.camps import own_causes
from sim.estimate.deal import EPISODE_DRAWS, EPISODE_SEED, EVASION, SUPPORT_VALUE, Episode, fit_deal
from sim.estimate.validate import held_out_tremble
from sim.estimate.window import bundle_from_fit, find_roll_call, fit_window, title_item
from sim.io.bundles import Bundle, bundle_dir, has_bundle, load_bundle, write_bundle
from sim.io.data import cache_root, load_roll_calls, resolve_data_dir
from sim.io.errors import DataError, ScenarioError
from sim.io.registry import load_members
from sim.io.results import package_versions
from sim.io.scenario import Scenario, load_scenario
from sim.run.prepare import build_setup, principal_acts

__all__ = ["calibrate_scenario", "calibration_cache_dir", "calibration_key", "resolve_calibration"]


def calibrate_scenario(
    scenario: Scenario, data: Any, *, progress: bool = False, calibration: Path | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Fit the calibration a scenario asks for on `data` (a :class:`sim.io.data.RollCallData`).

    The window is the ``calibration.years`` before the resolution's date (the vote itself and
    anything later excluded), on the scenario's dimension; the tremble (:mod:`sim.core.tremble`) is
    measured on the year before the vote's, predicted from its own window. With
    ``calibration.episodes``, the
    deal parameters are calibrated on those earlier episodes (:mod:`sim.estimate.deal`), whose
    bundles are read from `calibration` first, then from the package's defaults. Returns the
    members table and the metadata that :func:`write_bundle` stores.
    """

    spec = scenario.spec
    end = pd.Timestamp(spec.resolution.date)
    start = end - pd.DateOffset(years=spec.calibration.years)
    dimension = spec.calibration.dimension or spec.resolution.dimension
    # The episodes first: a missing file or bundle is reported before a long fit, not after.
    deal = calibrate_deal(scenario, data, calibration=calibration)
    fit = fit_window(
        data, start=start, end=end, dimension=dimension, dynamic=spec.calibration.dynamic,
        on=spec.resolution.date, progress=progress,
    )  # fmt: skip
    by_title = (
        title_item(fit, data, spec.resolution.title, issue=spec.resolution.dimension)
        if spec.item.by_title
        else None
    )
    members, meta = bundle_from_fit(
        fit,
        like=spec.item.like,
        by_title=by_title,
        previous=spec.previous.like if spec.previous else None,
        name=spec.name,
        where=str(scenario.path or spec.name),
        data_sha256=getattr(data, "sha256", None),
    )
    # Who has its own cause before the Assembly (a title naming it, voted yes): a tie to the
    # camps it is on record with (sim.estimate.camps), from the window's roll calls.
    names = load_members(spec.resolution.date)["name"].to_dict()
    causes = own_causes(data.roll_calls, data.votes, names, start=start, end=end)
    members["own_cause"] = causes.reindex(members.index).fillna(0.0).to_numpy()
    if deal is not None:
        meta["deal"] = deal
    # What the model misses out of sample: measured on the last complete year before the vote,
    # predicted from the window before that year (sim.tremble).
    meta["tremble"] = held_out_tremble(
        data, year=end.year - 1, window=spec.calibration.years, dimension=dimension,
        dynamic=spec.calibration.dynamic,
    )  # fmt: skip
    return members, meta


def calibration_cache_dir() -> Path:
    """Where bundles calibrated on first use are kept: :func:`sim.io.data.cache_root`
    ``/calibration`` (``SIM_CACHE_DIR``, else the user's cache folder)."""

    return cache_root() / "calibration"


def calibration_key(scenario: Scenario) -> str:
    """What a scenario's calibration depends on, hashed: its file, the files of the episodes it
    names (looked up beside it, as :func:`sim.run.calibrate.load_episodes` does) and the package's
    version. An edited file gets a fresh calibration; an unchanged one reuses its bundle."""

    h = hashlib.sha256(package_versions()["sim"].encode())
    h.update(scenario.sha256.encode())
    for name, path in episode_files(scenario).items():
        h.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b""))
    return h.hexdigest()[:16]


def resolve_calibration(
    scenario: Scenario, calibration: Path | Bundle | None, *, progress: bool = True
) -> Path | Bundle | None:
    """The calibration a replay of `scenario` reads: a user's own scenario is calibrated on
    first use.

    An explicit `calibration` (a folder or a bundle) is returned as given, and so is None when
    the package's defaults hold the scenario's bundle (the shipped scenarios: no data needed).
    Otherwise the bundle is looked up in :func:`calibration_cache_dir` under the scenario's
    :func:`calibration_key`, and made there by :func:`calibrate_scenario` if it is missing and
    the roll-call data can be found (``SIM_DATA_DIR`` or ``sim data fetch``'s cache): what
    ``sim calibrate FILE --out DIR`` then ``--calibration DIR`` would do, in one step. Without
    the data None is returned, and :func:`load_bundle` says what to run.
    """

    if calibration is not None:
        return calibration
    name = scenario.spec.name
    if has_bundle(bundle_dir() / name):
        return None
    root = calibration_cache_dir() / f"{name}-{calibration_key(scenario)}"
    if has_bundle(root / name):
        return root
    try:
        data_dir = resolve_data_dir()
    except DataError:
        return None
    import sys

    print(
        f"{scenario.path or name}: no calibration for {name!r} yet; fitting it to the roll calls "
        f"in {data_dir} (a minute or two, once: kept in {root})",
        file=sys.stderr,
    )
    data = load_roll_calls(data_dir)
    members, meta = calibrate_scenario(scenario, data, progress=progress, calibration=root)
    write_bundle(members, meta, root / name)
    return root


def episode_files(scenario: Scenario) -> dict[str, Path]:
    """The file of each episode a scenario names: ``<folder>/<name>.toml`` beside the scenario
    (``scenarios/`` for one not read from a file), whether or not it exists."""
    folder = scenario.path.parent if scenario.path is not None else Path("scenarios")
    return {name: folder / f"{name}.toml" for name in scenario.spec.calibration.episodes}


def recorded_acts(data: Any, scenario: Scenario, iso3: Sequence[str]) -> IntArray:
    """The acts of `iso3` on the scenario's own roll call, found in `data` by its symbol."""

    where = f"{scenario.path or scenario.name}: resolution.symbol"
    rcid = find_roll_call(data, scenario.spec.resolution.symbol, where)
    votes = data.votes
    acts = votes.loc[votes["rcid"] == rcid].set_index("iso3")["act"].astype(str)
    return np.array([ACTS.index(acts[m]) if m in acts.index else -1 for m in iso3])


def load_episodes(
    scenario: Scenario, data: Any, *, calibration: Path | None = None
) -> list[Episode]:
    """The episodes a scenario names, each replayed on its own bundle, with recorded acts.

    Episode files are looked up beside the scenario (``<folder>/<name>.toml``); their bundles in
    `calibration` first (where ``sim calibrate`` is writing), then in the package's defaults.
    """

    spec = scenario.spec
    where = f"{scenario.path or scenario.name}: calibration.episodes"
    out = []
    for name, path in episode_files(scenario).items():
        if not path.is_file():
            raise ScenarioError(f"{where}: {name!r}: expected a scenario file {path}; none there")
        episode = load_scenario(path)
        if episode.spec.resolution.date >= spec.resolution.date:
            raise ScenarioError(
                f"{where}: {name!r} votes on {episode.spec.resolution.date}, not before this "
                f"scenario's vote ({spec.resolution.date}): a replay learns only from the past"
            )
        out.append(load_episode(episode, data, calibration=calibration, where=where))
    return out


def load_episode(
    episode: Scenario, data: Any, *, calibration: Path | None = None, where: str = ""
) -> Episode:
    """One episode replayed on its own bundle (in `calibration` first, then the package's, else
    made on first use), with its members' recorded acts."""
    name = episode.spec.name
    path = episode.path
    bundle = None
    if calibration is not None and (calibration / name).is_dir():
        bundle = load_bundle(name, root=calibration)
    else:
        # The package's bundle, else one made on first use (an episode of the user's own).
        root = resolve_calibration(episode, None)
        try:
            bundle = load_bundle(name, root=root)
        except DataError as exc:
            raise DataError(
                f"{where or path}: {name!r} has no calibration bundle yet; run `sim calibrate "
                f"{path}` first"
            ) from exc
    setup = build_setup(episode, n_draws=EPISODE_DRAWS, seed=EPISODE_SEED, calibration=bundle)
    # One episode measures credibility x value: its offers are scored at their prior mean
    # credibility, and the spread of that prior widens the value's posterior (fit_deal).
    setup = replace(setup, asks=tuple(ask.at_mean_credibility() for ask in setup.asks))
    acts = recorded_acts(data, episode, setup.iso3)
    # A principal's own vote is not an answer to pressure (it votes as it asks others,
    # sim.run.prepare.principal_acts): it is left out of the score, which also keeps a principal
    # that broke its own line from making the likelihood zero.
    own = principal_acts(episode.spec.principals, episode.events(setup.variant))
    acts[[i for i, m in enumerate(setup.iso3) if m in own]] = -1
    return Episode(name, setup, acts)


def calibrate_deal(
    scenario: Scenario, data: Any, *, calibration: Path | None = None
) -> dict[str, Any] | None:
    """The deal posterior of a scenario from its ``[calibration] episodes`` (None if none)."""

    if not scenario.spec.calibration.episodes:
        return None
    episodes = load_episodes(scenario, data, calibration=calibration)
    return fit_deal(episodes, support_prior=SUPPORT_VALUE, evasion_prior=EVASION)
