"""What a scenario's calibration depends on, and the key that names it.

A calibration bundle (:mod:`sim.io.bundles`) is valid for the inputs it was fitted on, never for
a scenario's ``name``: a copy of a shipped scenario whose date, ``like`` roll call, dimension or
episodes were edited needs its own fit. The inputs are

- the sections of the file the fit reads (:func:`own_inputs`): the resolution's date and
  dimension (and title, for an item found by title), ``[calibration]``, ``[item]``,
  ``[previous]`` and ``[committee]``, sources left out;
- for each episode named in ``[calibration] episodes``, what its replay reads
  (:func:`episode_content`: its timeline as its default variant gives it, members, needs,
  principals, item, committee and priors; descriptions, titles, sources, other variants,
  ``[negotiation]`` and ``[outcome]`` left out) and its own calibration's inputs;
- the package's version;
- the roll-call data's SHA-256 (:func:`sim.io.data.data_sha256`), which enters the full key
  only: without the data a bundle is checked against the rest (:attr:`CalibrationInputs.sha256`).

An edit to an event's description, a source or a variant other than an episode's default changes
none of them, so it reuses the bundle.

Examples
--------
>>> key_of({"a": 1, "b": [1, 2]}) == key_of({"b": [1, 2], "a": 1})
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.io.errors import ScenarioError
from sim.io.results import package_versions
from sim.io.scenario import Scenario, load_scenario

__all__ = [
    "CalibrationInputs",
    "calibration_inputs",
    "changes",
    "episode_content",
    "episode_files",
    "key_of",
    "own_inputs",
]

#: Keys left out at any depth: they document, and no fit reads them.
COSMETIC = frozenset({"source", "description", "title", "name"})

#: Top-level sections of an episode that its replay as an episode does not read.
NOT_READ_AS_EPISODE = frozenset(
    {"schema_version", "focal", "variants", "default_variant", "negotiation", "outcome", "events"}
)


def key_of(value: Any) -> str:
    """SHA-256 (hex) of `value` written as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _strip(value: Any) -> Any:
    """`value` without the :data:`COSMETIC` keys, at any depth."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in COSMETIC}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def own_inputs(scenario: Scenario) -> dict[str, Any]:
    """The sections of `scenario` its own fit reads (window, dimension, item, previous...)."""
    spec = scenario.spec
    resolution: dict[str, Any] = {
        "date": spec.resolution.date.isoformat(),
        "dimension": spec.resolution.dimension,
    }
    if spec.item.by_title:  # the title finds the texts the item is drawn from
        resolution["title"] = spec.resolution.title
    sections = {
        name: getattr(spec, name).model_dump(mode="json") if getattr(spec, name) else None
        for name in ("calibration", "item", "previous", "committee")
    }
    return {"resolution": resolution, **_strip(sections)}


def episode_content(scenario: Scenario) -> dict[str, Any]:
    """What a replay of `scenario` as another scenario's episode reads (its default variant)."""
    raw = scenario.spec.model_dump(mode="json")
    content = {k: v for k, v in raw.items() if k not in NOT_READ_AS_EPISODE}
    content["events"] = [e.model_dump(mode="json") for e in scenario.events()]
    return _strip(content)


def episode_files(scenario: Scenario) -> dict[str, Path]:
    """The file of each episode a scenario names: ``<folder>/<name>.toml`` beside the scenario
    (``scenarios/`` for one not read from a file), whether or not it exists.
    """
    folder = scenario.path.parent if scenario.path is not None else Path("scenarios")
    return {name: folder / f"{name}.toml" for name in scenario.spec.calibration.episodes}


@dataclass(frozen=True)
class CalibrationInputs:
    """The inputs of one scenario's calibration (without the data), as a bundle records them.

    Attributes
    ----------
    sim : str
        The package's version.
    scenario : dict
        :func:`own_inputs`.
    episodes : dict
        Per episode name: ``inputs_sha256`` (its own calibration's :attr:`sha256`) and
        ``replay_sha256`` (:func:`episode_content`, hashed); ``{"missing": True}`` for an
        episode whose file is not beside the scenario and that no shipped bundle stands for.
    replay_sha256 : str
        This scenario's :func:`episode_content`, hashed: what it contributes as an episode.
    """

    sim: str
    scenario: dict[str, Any]
    episodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    replay_sha256: str = ""

    @property
    def sha256(self) -> str:
        """Hash of everything but the data: what a bundle is checked against without them."""
        return key_of({"sim": self.sim, "scenario": self.scenario, "episodes": self.episodes})

    def key(self, data_sha256: str) -> str:
        """The full key: :attr:`sha256` and the roll-call data's SHA-256."""
        return key_of({"inputs": self.sha256, "data": data_sha256})

    def record(self) -> dict[str, Any]:
        """The form stored in a bundle's ``calibration.json`` (``inputs``)."""
        return {
            "sim": self.sim,
            "scenario": self.scenario,
            "episodes": self.episodes,
            "replay_sha256": self.replay_sha256,
            "inputs_sha256": self.sha256,
        }


def calibration_inputs(
    scenario: Scenario,
    *,
    shipped: Callable[[str], Mapping[str, Any] | None] = lambda name: None,
    _seen: tuple[str, ...] = (),
) -> CalibrationInputs:
    """The inputs of `scenario`'s calibration, its episodes' followed recursively.

    Parameters
    ----------
    scenario : Scenario
    shipped : callable, optional
        Name -> the ``inputs`` record of the package's bundle of that name (or None): stands for
        an episode whose file is not beside the scenario (a shipped scenario copied elsewhere),
        as :func:`sim.run.calibrate.load_episodes` reads the package's bundle for it.

    Raises
    ------
    ScenarioError
        An episode file that does not validate, or episodes that name each other in a cycle.
    """
    episodes: dict[str, dict[str, Any]] = {}
    for name, path in episode_files(scenario).items():
        if name in _seen or name == scenario.name:
            raise ScenarioError(
                f"{scenario.path or scenario.name}: calibration.episodes: {name!r} names itself "
                "through its episodes; an episode must vote before the scenario"
            )
        if path.is_file():
            episode = load_scenario(path)
            inputs = calibration_inputs(episode, shipped=shipped, _seen=(*_seen, scenario.name))
            episodes[name] = {
                "inputs_sha256": inputs.sha256,
                "replay_sha256": inputs.replay_sha256,
            }
            continue
        record = shipped(name)
        if record is not None and "inputs_sha256" in record:
            episodes[name] = {
                "inputs_sha256": record["inputs_sha256"],
                "replay_sha256": record["replay_sha256"],
            }
        else:
            episodes[name] = {"missing": True}
    return CalibrationInputs(
        sim=package_versions()["sim"],
        scenario=own_inputs(scenario),
        episodes=episodes,
        replay_sha256=key_of(episode_content(scenario)),
    )


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out |= _flat(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    return {prefix: value}


def changes(recorded: Mapping[str, Any], current: CalibrationInputs, *, limit: int = 3) -> str:
    """What differs between a bundle's recorded ``inputs`` and `current`, in a few words.

    Examples
    --------
    >>> now = CalibrationInputs("0.1.0", {"resolution": {"date": "2099-12-31"}})
    >>> changes({"sim": "0.1.0", "scenario": {"resolution": {"date": "2022-12-30"}}}, now)
    'resolution.date: 2022-12-30 -> 2099-12-31'
    """
    if not recorded:
        return "the bundle records no inputs (made before calibrations were keyed)"
    found = []
    if recorded.get("sim") != current.sim:
        found.append(f"sim version: {recorded.get('sim')} -> {current.sim}")
    before, after = recorded.get("scenario", {}), current.scenario
    for section in sorted(before.keys() | after.keys()):
        if (before.get(section) is None) != (after.get(section) is None):
            found.append(f"[{section}] {'added' if before.get(section) is None else 'removed'}")
            continue
        old, new = _flat(before.get(section), section), _flat(after.get(section), section)
        for key in sorted(old.keys() | new.keys()):
            if old.get(key) != new.get(key):
                found.append(f"{key}: {_short(old.get(key))} -> {_short(new.get(key))}")
    old_ep, new_ep = recorded.get("episodes", {}), current.episodes
    for name in sorted(old_ep.keys() & new_ep.keys()):
        if old_ep[name] != new_ep[name]:
            what = "file missing" if new_ep[name].get("missing") else "content"
            found.append(f"episode {name}: {what} changed")
    if not found:
        return "the episodes' inputs"
    more = f" and {len(found) - limit} more" if len(found) > limit else ""
    return "; ".join(found[:limit]) + more


def _short(value: Any, limit: int = 40) -> str:
    text = "none" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
