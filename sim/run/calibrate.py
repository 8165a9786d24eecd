"""Calibrate a scenario: fit its window, learn its deal from its episodes, write its bundle.

The embedded default (committed calibrated parameters for each shipped scenario) and the bundles
of a user's own scenarios, cached on first use, are both made here.

``sim calibrate`` refits the embedded default in ``sim/defaults/calibration/<scenario>/``
(bundle format: :mod:`sim.io.bundles`); :func:`resolve_calibration` finds or makes the bundle of any
scenario, keyed by what its fit reads (:mod:`sim.io.calibration_inputs`: the file's calibration
sections, its episodes', the package version and the roll-call data's SHA-256), never by name.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.acts import ACTS, IntArray
from sim.core.threads import one_blas_thread
from sim.estimate.deal import EPISODE_DRAWS, EPISODE_SEED, EVASION, SUPPORT_VALUE, Episode, fit_deal
from sim.estimate.validate import held_out_tremble
from sim.estimate.window import bundle_from_fit, find_roll_call, fit_window, title_item
from sim.io.bundles import BUNDLE_FILES, Bundle, bundle_dir, has_bundle, load_bundle, write_bundle
from sim.io.calibration_inputs import CalibrationInputs, calibration_inputs, changes, episode_files
from sim.io.data import NEWER_VOTES_HINT, cache_root, data_sha256, load_roll_calls, resolve_data_dir
from sim.io.errors import DataError, ScenarioError
from sim.io.scenario import Scenario, load_scenario
from sim.run.prepare import build_setup, principal_acts

__all__ = [
    "calibrate_scenario",
    "calibration_cache_dir",
    "calibration_key",
    "inputs_of",
    "keyed",
    "resolve_calibration",
]


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
    # One BLAS thread: the bundle does not depend on the machine's cores (sim.core.threads).
    with one_blas_thread():
        return _calibrate(scenario, data, progress=progress, calibration=calibration)


def _calibrate(
    scenario: Scenario, data: Any, *, progress: bool, calibration: Path | None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    spec = scenario.spec
    inputs = inputs_of(scenario)
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
    if deal is not None:
        meta["deal"] = deal
    # What the model misses out of sample: measured on the last complete year before the vote,
    # predicted from the window before that year (sim.tremble).
    meta["tremble"] = held_out_tremble(
        data, year=end.year - 1, window=spec.calibration.years, dimension=dimension,
        dynamic=spec.calibration.dynamic,
    )  # fmt: skip
    keyed(meta, inputs, getattr(data, "sha256", None))
    return members, meta


def keyed(meta: dict[str, Any], inputs: CalibrationInputs, data: str | None) -> dict[str, Any]:
    """Record in a bundle's `meta` what it was fitted on: ``inputs`` (what
    :func:`sim.io.calibration_inputs.calibration_inputs` gives), ``data_sha256`` and the
    ``calibration_key`` made of both (None without the data's SHA-256). Returns `meta`.
    """
    meta["inputs"] = inputs.record()
    meta["data_sha256"] = data
    meta["calibration_key"] = inputs.key(data) if data is not None else None
    return meta


def calibration_cache_dir() -> Path:
    """Where bundles calibrated on first use are kept: :func:`sim.io.data.cache_root`
    ``/calibration`` (``SIM_CACHE_DIR``, else the user's cache folder).
    """
    return cache_root() / "calibration"


def shipped_inputs(name: str) -> Mapping[str, Any] | None:
    """The ``inputs`` the package's bundle `name` records (None if no bundle or none recorded)."""
    meta = _meta(bundle_dir() / name)
    return None if meta is None else meta.get("inputs")


def _meta(folder: Path) -> dict[str, Any] | None:
    """A bundle's ``calibration.json`` (None if there is no bundle in `folder`)."""
    if not has_bundle(folder):
        return None
    try:
        meta = json.loads((folder / BUNDLE_FILES[1]).read_bytes())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _inputs_sha256(meta: Mapping[str, Any] | None) -> str | None:
    return ((meta or {}).get("inputs") or {}).get("inputs_sha256")


def _fits(meta: Mapping[str, Any] | None, scenario: Scenario, data: Any) -> bool:
    """Whether the bundle of `meta` was fitted on `scenario`'s inputs and on `data` (on the same
    inputs whatever the data, for data of unknown SHA-256).
    """
    if meta is None:
        return False
    inputs = inputs_of(scenario)
    sha = getattr(data, "sha256", None)
    if sha is None:
        return _inputs_sha256(meta) == inputs.sha256
    return meta.get("calibration_key") == inputs.key(sha)


def inputs_of(scenario: Scenario) -> CalibrationInputs:
    """What `scenario`'s calibration reads (:func:`sim.io.calibration_inputs.calibration_inputs`;
    an episode not beside it stands for the package's bundle of that name).
    """
    return calibration_inputs(scenario, shipped=shipped_inputs)


def calibration_key(scenario: Scenario, data: str) -> str:
    """The key of `scenario`'s calibration on the roll-call data of SHA-256 `data`
    (:func:`sim.io.data.data_sha256`): its inputs (the file's calibration sections, its
    episodes', the package version) and the data, hashed. An edit to any of them gets a fresh
    calibration; an edit to a description, a source or a variant reuses the bundle.
    """
    return inputs_of(scenario).key(data)


def resolve_calibration(
    scenario: Scenario, calibration: Path | Bundle | None, *, progress: bool = True
) -> Path | Bundle | None:
    """The calibration a replay of `scenario` reads, keyed by its inputs, never by its name.

    An explicit `calibration` (a folder or a bundle) is returned as given. Otherwise the bundle
    must have been fitted on the scenario's inputs (:func:`inputs_of`) and, when the roll-call
    data are here, on these data (``calibration_key`` in its ``calibration.json``):

    - the package's bundle of the scenario's name, if so (None is returned: the defaults);
    - else the bundle in :func:`calibration_cache_dir` ``/<name>-<key>/``, made there by
      :func:`calibrate_scenario` if missing (what ``sim calibrate FILE --out DIR`` then
      ``--calibration DIR`` would do, in one step);
    - without the data, a cached bundle fitted on the same inputs (whatever data); a shipped
      scenario edited since its bundle was made is refused, saying what changed; any other
      gives None, and :func:`load_bundle` says what to run.

    Raises
    ------
    DataError
        Without the data: a shipped scenario's inputs differ from its bundle's, or several
        cached bundles fit the inputs on different data.
    """
    if calibration is not None:
        return calibration
    name = scenario.spec.name
    inputs = inputs_of(scenario)
    shipped = _meta(bundle_dir() / name)
    where = scenario.path or name
    try:
        data_dir = resolve_data_dir()
    except DataError:
        data_dir = None
    if data_dir is None:
        if shipped is not None and _inputs_sha256(shipped) == inputs.sha256:
            return None
        cached = sorted(
            folder.parent
            for folder in calibration_cache_dir().glob(f"{name}-*/{name}")
            if _inputs_sha256(_meta(folder)) == inputs.sha256
        )
        if len(cached) == 1:
            return cached[0]
        if len(cached) > 1:
            raise DataError(
                f"{where}: {len(cached)} calibrations of {name!r} on different roll-call data "
                f"in {calibration_cache_dir()}; set SIM_DATA_DIR to the data to use"
            )
        if shipped is not None:
            raise DataError(
                f"{where}: the package's calibration of {name!r} was fitted on other inputs "
                f"({changes(shipped.get('inputs') or {}, inputs)}); without the roll-call data "
                f"it cannot be refitted: set SIM_DATA_DIR, or {NEWER_VOTES_HINT}; and replay "
                "again, which calibrates it once; or undo the change"
            )
        return None
    key = inputs.key(data_sha256(data_dir))
    if shipped is not None and shipped.get("calibration_key") == key:
        return None
    root = calibration_cache_dir() / f"{name}-{key[:16]}"
    if has_bundle(root / name):
        return root
    if shipped is None:
        why = f"no calibration for {name!r} yet"
    elif _inputs_sha256(shipped) == inputs.sha256:
        why = f"the package's calibration of {name!r} was fitted on other roll-call data"
    else:
        why = (
            f"the package's calibration of {name!r} was fitted on other inputs "
            f"({changes(shipped.get('inputs') or {}, inputs)})"
        )
    print(
        f"{where}: {why}; fitting it to the roll calls in {data_dir} (once: kept in {root})",
        file=sys.stderr,
    )
    loaded = load_roll_calls(data_dir)
    members, meta = calibrate_scenario(scenario, loaded, progress=progress, calibration=root)
    write_bundle(members, meta, root / name)
    return root


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
    `calibration` first (where ``sim calibrate`` is writing) if fitted on the episode's inputs
    and `data`, else as :func:`resolve_calibration` finds or makes them.
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
    made on first use), with its members' recorded acts.
    """
    name = episode.spec.name
    path = episode.path
    # Where `sim calibrate` is writing, then the package's: a bundle fitted on the episode's
    # inputs and these data; else the one made on first use.
    roots = [
        root for root in (calibration, None) if _fits(_meta(bundle_dir(root) / name), episode, data)
    ]
    if roots:
        bundle = load_bundle(name, root=roots[0])
    else:
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
    acts = without_principals(recorded_acts(data, episode, setup.iso3), episode, setup)
    return Episode(name, setup, acts)


def without_principals(acts: IntArray, scenario: Scenario, setup: Any) -> IntArray:
    """`acts` (one per member of `setup`) with the principals' own left out (-1, not scored).

    A principal's own vote is not an answer to pressure (it votes as it asks others,
    :func:`sim.run.prepare.principal_acts`): scoring it would also let a principal that broke
    its own line make the likelihood zero.
    """
    own = principal_acts(scenario.spec.principals, scenario.events(setup.variant))
    out = np.array(acts, copy=True)
    out[[i for i, m in enumerate(setup.iso3) if m in own]] = -1
    return out


def calibrate_deal(
    scenario: Scenario, data: Any, *, calibration: Path | None = None
) -> dict[str, Any] | None:
    """The deal posterior of a scenario from its ``[calibration] episodes`` (None if none)."""
    if not scenario.spec.calibration.episodes:
        return None
    episodes = load_episodes(scenario, data, calibration=calibration)
    return fit_deal(episodes, support_prior=SUPPORT_VALUE, evasion_prior=EVASION)
