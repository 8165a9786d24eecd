"""Scenario files: TOML in, a validated, frozen :class:`Scenario` out.

A scenario is data, never code: it is read with :mod:`tomllib` (a safe loader) and validated on
load with pydantic. Every problem in a file is reported at once, each as one line naming the
file, the key and what was expected::

    scenarios/bad.toml: events[1] (netanyahu_call).offer.credibility: expected "firm", "talks",
    "none", a number in [0, 1] or a prior table; got 'maybe'

The file names the resolution, how it relates to earlier roll calls (``[item]``, ``[committee]``,
``[previous]``), the members special to it, the principals, a dated timeline of asks, offers and
threats (each with its ``source``), named variants that drop or patch events, and, for
``sim negotiate`` only, the patrons that choose their own asks and offers (``[negotiation]``:
budgets, kinds and costs, each with its source). It may record
the real outcome in ``[outcome]`` for comparison; the model never reads that table.

See ``docs/scenarios.md`` for the format, and ``scenarios/`` for examples.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.core.acts import ACTS, DIMENSIONS, Act, Dimension, FloatArray, Vote
from sim.io.errors import ScenarioError
from sim.io.registry import load_members, membership_start

__all__ = [
    "CREDIBILITY_LEVELS",
    "IDENT_MAX_LENGTH",
    "IDENT_PATTERN",
    "MAX_ERRORS",
    "MAX_FILE_BYTES",
    "PRIOR_BOUND",
    "PRIOR_SIGMA_MAX",
    "Event",
    "NegotiatingPatron",
    "Negotiation",
    "Prior",
    "Scenario",
    "Support",
    "check_ident",
    "load_scenario",
    "parse_scenario",
    "read_scenario_toml",
    "validate_scenario",
]

ISSUES = DIMENSIONS

#: Names that become file or folder names (the scenario's ``name``, variant names, event ids,
#: episodes): lowercase ASCII letters, digits and ``_``, starting with a letter, so that none can
#: be absolute, climb out with ``..``, hide a separator behind a look-alike character or hold a
#: NUL.
IDENT_PATTERN = r"^[a-z][a-z0-9_]*$"
#: At most this many characters: a path component stays far below the 255 bytes file systems
#: allow, with room for the prefixes results add (``bargain_EVENT_TARGET``).
IDENT_MAX_LENGTH = 64
#: A scenario file is read up to this many bytes; a longer one (or ``/dev/zero``) is refused.
MAX_FILE_BYTES = 1_000_000
#: At most this many problems are listed, then a count of the rest.
MAX_ERRORS = 20
#: The location and scale of a prior (a number, a mean, a median, a bound, an sd) are at most this
#: in absolute value: 1,000 logits is far past certainty, and keeps every draw finite.
PRIOR_BOUND = 1000.0
#: A lognormal prior's sigma is at most this: ``median * exp(sigma * z)`` stays finite (below
#: 1e300) for any standard normal draw ``z`` a run can meet, so its probabilities do too.
PRIOR_SIGMA_MAX = 10.0

_IDENT = re.compile(IDENT_PATTERN.strip("^$"))


def _short(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to `limit` characters (a pasted megabyte stays one short line)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_ident(value: str) -> str:
    """Return `value` if it may name a file or folder (:data:`IDENT_PATTERN`, at most
    :data:`IDENT_MAX_LENGTH` characters); raise ``ValueError`` saying what was expected.

    Examples
    --------
    >>> check_ident("no_call")
    'no_call'
    >>> try:
    ...     check_ident("../x")
    ... except ValueError:
    ...     print("refused")
    refused
    """
    if len(value) > IDENT_MAX_LENGTH or _IDENT.fullmatch(value) is None:
        raise ValueError(
            f"expected a name matching the pattern '{IDENT_PATTERN}' (it names files and "
            f"folders: lowercase letters, digits and _, at most {IDENT_MAX_LENGTH} characters); "
            f"got {_short(value)}"
            + (f" ({len(value)} characters)" if len(value) > IDENT_MAX_LENGTH else "")
        )
    return value


# --------------------------------------------------------------------------- priors
@dataclass(frozen=True)
class Prior:
    """A prior distribution for an uncertain parameter, frozen like a scipy distribution.

    ``dist`` is one of ``fixed`` (``value``), ``normal`` (``mean``, ``sd``), ``uniform``
    (``low``, ``high``), ``beta`` (``a``, ``b``) or ``lognormal`` (``median``, ``sigma``).

    Examples
    --------
    >>> Prior("beta", (("a", 2.0), ("b", 6.0))).mean()
    0.25
    """

    dist: str
    params: tuple[tuple[str, float], ...]

    def get(self, name: str) -> float:
        """Return the named parameter."""
        return dict(self.params)[name]

    def mean(self) -> float:
        """Return the prior mean."""
        p = dict(self.params)
        match self.dist:
            case "fixed":
                return p["value"]
            case "normal":
                return p["mean"]
            case "uniform":
                return (p["low"] + p["high"]) / 2
            case "beta":
                return p["a"] / (p["a"] + p["b"])
            case "lognormal":
                return float(p["median"] * np.exp(p["sigma"] ** 2 / 2))
        raise AssertionError(self.dist)  # pragma: no cover

    def sample(self, n: int, *, rng: np.random.Generator) -> FloatArray:
        """Draw `n` values (always consumes the generator the same way for a given `dist`)."""
        p = dict(self.params)
        match self.dist:
            case "fixed":
                return np.full(n, p["value"])
            case "normal":
                return rng.normal(p["mean"], p["sd"], size=n)
            case "uniform":
                return rng.uniform(p["low"], p["high"], size=n)
            case "beta":
                return rng.beta(p["a"], p["b"], size=n)
            case "lognormal":
                return p["median"] * np.exp(rng.normal(0.0, p["sigma"], size=n))
        raise AssertionError(self.dist)  # pragma: no cover


_PRIOR_FIELDS = {
    "fixed": ("value",),
    "normal": ("mean", "sd"),
    "uniform": ("low", "high"),
    "beta": ("a", "b"),
    "lognormal": ("median", "sigma"),
}

#: The one place where the verbal credibility levels of scenario files become numbers.
#: ``firm``: a commitment stated by the patron's government (delivered about nine times in ten);
#: ``talks``: "ready to discuss", no commitment (about one in four); ``none``: nothing offered.
CREDIBILITY_LEVELS: dict[str, Prior] = {
    "firm": Prior("beta", (("a", 18.0), ("b", 2.0))),
    "talks": Prior("beta", (("a", 2.0), ("b", 6.0))),
    "none": Prior("fixed", (("value", 0.0),)),
}


def _as_prior(value: Any, *, low: float | None = None, high: float | None = None) -> Prior:
    """Parse a number or a prior table into a :class:`Prior`, checking bounds."""
    if isinstance(value, Prior):
        return value
    bounds = ""
    if low is not None or high is not None:
        bounds = (
            f" in [{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        )
    if isinstance(value, bool):
        raise ValueError(f"expected a number{bounds} or a prior table; got {value!r}")
    if isinstance(value, int | float):
        x = float(value)
        if (low is not None and x < low) or (high is not None and x > high) or not np.isfinite(x):
            raise ValueError(f"expected a number{bounds}; got {value!r}")
        if abs(x) > PRIOR_BOUND:
            raise ValueError(
                f"expected a number in [-{PRIOR_BOUND:g}, {PRIOR_BOUND:g}] (a bound that keeps "
                f"its draws finite); got {value!r}"
            )
        return Prior("fixed", (("value", x),))
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a number{bounds} or a prior table; got {value!r}")
    dist = value.get("dist")
    if dist not in _PRIOR_FIELDS:
        raise ValueError(f"dist: expected one of {', '.join(_PRIOR_FIELDS)}; got {dist!r}")
    names = _PRIOR_FIELDS[dist]
    extra = sorted(set(value) - {"dist", *names})
    if extra:
        raise ValueError(f"unknown key(s) {extra} for a {dist} prior; expected {list(names)}")
    params = []
    for name in names:
        x = value.get(name)
        if isinstance(x, bool) or not isinstance(x, int | float) or not np.isfinite(x):
            raise ValueError(f"{name}: expected a number; got {x!r}")
        params.append((name, float(x)))
    p = dict(params)
    checks = {
        "normal": p.get("sd", 1) > 0,
        "uniform": p.get("low", 0) < p.get("high", 1),
        "beta": p.get("a", 1) > 0 and p.get("b", 1) > 0,
        "lognormal": p.get("median", 1) > 0 and p.get("sigma", 1) > 0,
        "fixed": True,
    }
    if not checks[dist]:
        raise ValueError(f"invalid {dist} parameters {p}")
    for name, x in params:
        if dist != "beta" and name != "sigma" and abs(x) > PRIOR_BOUND:
            raise ValueError(
                f"{name}: expected a number in [-{PRIOR_BOUND:g}, {PRIOR_BOUND:g}] (a bound "
                f"that keeps its draws finite); got {x!r}"
            )
        if name == "sigma" and x > PRIOR_SIGMA_MAX:
            raise ValueError(
                f"sigma: expected at most {PRIOR_SIGMA_MAX:g} (a wider lognormal's draws "
                f"overflow to infinity); got {x!r}"
            )
    support = {
        "fixed": (p.get("value"), p.get("value")),
        "normal": (-np.inf, np.inf),
        "uniform": (p.get("low"), p.get("high")),
        "beta": (0.0, 1.0),
        "lognormal": (0.0, np.inf),
    }[dist]
    if (low is not None and support[0] < low) or (high is not None and support[1] > high):
        raise ValueError(f"a {dist} prior here must have its support{bounds}; got {p}")
    return Prior(dist, tuple(params))


def _credibility(value: Any) -> Prior:
    if isinstance(value, Prior):
        return value
    if isinstance(value, str):
        if value in CREDIBILITY_LEVELS:
            return CREDIBILITY_LEVELS[value]
        raise ValueError(
            f'expected "firm", "talks", "none", a number in [0, 1] or a prior table; got {value!r}'
        )
    return _as_prior(value, low=0.0, high=1.0)


Credibility = Annotated[Prior, BeforeValidator(_credibility)]
LogitPrior = Annotated[Prior, BeforeValidator(lambda v: _as_prior(v))]
NonNegativePrior = Annotated[Prior, BeforeValidator(lambda v: _as_prior(v, low=0.0))]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


def _source(value: str) -> str:
    if len(value.strip()) < 3:
        raise ValueError(
            f"expected where this comes from (at least 3 characters besides spaces); "
            f"got {_short(value)}"
        )
    return value


Source = Annotated[str, AfterValidator(_source)]
Ident = Annotated[str, AfterValidator(check_ident)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


# --------------------------------------------------------------------------- sections
class Resolution(_Strict):
    """The resolution replayed: symbol, date, issue dimension and decision rule."""

    symbol: str
    title: str
    date: dt.date
    dimension: Dimension = "all"
    rule: Literal["simple_majority", "two_thirds"] = "simple_majority"
    source: Source


class Calibration(_Strict):
    """Which roll calls the calibration uses: ``years`` before the resolution's date, on
    ``dimension``; ``dynamic`` ideal points move over sessions (projected to the vote's);
    ``episodes``: earlier scenarios (file names beside this one) whose recorded votes calibrate
    the deal parameters (:mod:`sim.estimate.deal`).
    """

    years: Annotated[int, Field(ge=1, le=80)] = 10
    dimension: Dimension | None = None
    dynamic: StrictBool = False
    episodes: list[Ident] = []


class Item(_Strict):
    """Where the resolution sits: the last roll call on the same agenda item in the data
    (``like``), or, for a text with none, the earlier texts whose titles are most alike
    (``by_title``).

    ``new_text``: the resolution is a different text from `like` (not this session's version of
    it), so where it sits is uncertain by the spread of the issue's new texts around theirs.

    ``by_title = true`` (instead of ``like``): a new text known by its title
    (``resolution.title``). Each parameter draw takes its item from one of the calibration
    window's first votes of texts, drawn with weights that grow with how alike the titles are
    (:mod:`sim.estimate.titles`; the weights' sharpness is chosen on the window's own first votes,
    as
    ``sim validate`` scores it). With a ``[committee]`` tally the item is fitted to the tally
    instead, from the nearest title.
    """

    like: Annotated[str, Field(min_length=3)] | None = None
    new_text: StrictBool = False
    by_title: StrictBool = False
    source: Source

    @model_validator(mode="after")
    def _one_way(self) -> Item:
        if self.by_title and self.like is not None:
            raise ValueError("give either like (an earlier roll call) or by_title = true, not both")
        if not self.by_title and self.like is None:
            raise ValueError(
                "expected like (the earlier roll call the resolution is like, e.g. "
                "'A/RES/76/82') or by_title = true"
            )
        if self.by_title and self.new_text:
            raise ValueError("by_title already reads the resolution as a new text: drop new_text")
        return self


class Tally(_Strict):
    """A recorded tally; ``not_voting`` are members present or absent who cast no vote."""

    yes: Annotated[int, Field(ge=0)]
    no: Annotated[int, Field(ge=0)]
    abstain: Annotated[int, Field(ge=0)]
    not_voting: Annotated[int, Field(ge=0)] = 0

    def counts(self) -> dict[str, int]:
        """The count of each act, in ``ACTS`` order (``not_voting`` counts as ``absent``).

        Examples
        --------
        >>> Tally(yes=87, no=26, abstain=53, not_voting=27).counts()
        {'yes': 87, 'no': 26, 'abstain': 53, 'absent': 27}
        """
        return dict(zip(ACTS, (self.yes, self.no, self.abstain, self.not_voting), strict=True))


class KnownActs(_Strict):
    """Members whose act in an earlier vote is on record (by name in a cited source)."""

    yes: list[str] = []
    no: list[str] = []
    abstain: list[str] = []
    absent: list[str] = []


class Committee(_Strict):
    """An earlier recorded vote on the same text (a Main Committee vote)."""

    body: str
    symbol: str
    date: dt.date
    tally: Tally
    known_acts: KnownActs = KnownActs()
    source: Source


class Previous(_Strict):
    """An earlier roll call in the data whose acts count as each member's previous public act.

    ``same_text = false``: it was a different text on the same question; the acts still count
    as public positions (reversing them costs), but a member's take on that text carries over
    only as much as to next session's version of a text (the shock's correlation one year on).
    """

    like: Annotated[str, Field(min_length=3)]
    same_text: StrictBool = True
    source: Source


class MemberOverride(_Strict):
    """What is special about one member in this scenario."""

    no_vote: StrictBool = False
    security_needs: dict[str, Probability] = {}
    source: Source


class Need(_Strict):
    """A security need shared by a set of members (``who`` is a selector, see :func:`select`)."""

    kind: Ident
    who: str
    need: Probability
    source: Source


class Principal(_Strict):
    """A principal: a patron state, a bloc or a member's own public."""

    name: str
    iso3: str | None = None
    source: Source | None = None


class Offer(_Strict):
    """What a principal offers (or, in a threat, puts at risk): kind, size and credibility."""

    kind: Ident
    size: str = ""
    credibility: Credibility = CREDIBILITY_LEVELS["none"]


class Event(_Strict):
    """A dated event of the episode, with its public source.

    ``kind`` is ``ask`` (a principal asks targets for some acts, perhaps with an offer),
    ``threat`` (an ask whose offer is support put at risk), ``counter_ask`` (a target asks the
    principal for support; recorded, and a cue for the bargaining game) or ``note`` (context
    with no effect on utilities).

    ``addressees`` (an ask or threat only) is how many members the event reached in all when
    its source names only some of them (``targets``): the patron's best response picks the
    rest (MODEL.md §4: a patron chooses whom to ask;
    :func:`sim.run.prepare.complete_addressees`).
    """

    id: Ident
    date: dt.date
    kind: Literal["ask", "threat", "counter_ask", "note"]
    principal: str | None = None
    targets: list[str] = []
    addressees: int | None = Field(None, ge=1)
    acts: list[Vote] = []
    offer: Offer | None = None
    tie: LogitPrior = Prior("fixed", (("value", 0.0),))
    #: How the principal reads an absence, in [0, 1] (MODEL.md §3), when a cited event says so;
    #: None: the deal's reading of the kind of ask, estimated from the episodes.
    absence_reading: float | None = Field(None, ge=0.0, le=1.0)
    description: str = ""
    source: Source

    @model_validator(mode="after")
    def _complete(self) -> Event:
        if self.kind in ("ask", "threat"):
            missing = [k for k in ("principal", "targets", "acts") if not getattr(self, k)]
            if missing:
                raise ValueError(f"an {self.kind} needs {', '.join(missing)}")
        if self.addressees is not None:
            if self.kind not in ("ask", "threat"):
                raise ValueError(f"addressees is for an ask or a threat, not a {self.kind}")
            codes = set(self.targets)
            if all(len(t) == 3 and t.isupper() for t in codes) and self.addressees < len(codes):
                raise ValueError(
                    f"addressees: expected at least {len(codes)} (the members its targets "
                    f"name); got {self.addressees}"
                )
        if self.kind == "counter_ask" and (
            not self.principal or not self.targets or not self.offer
        ):
            raise ValueError(
                "a counter_ask needs principal (who is asked), targets (who asks), offer"
            )
        return self


class Variant(_Strict):
    """A named variant: events dropped, patched (deep-merged) or added."""

    description: str
    drop: list[str] = []
    patch: dict[str, dict[str, Any]] = {}
    add: list[dict[str, Any]] = []


class Outcome(_Strict):
    """The real result, for comparison only: the model never reads it."""

    tally: Tally
    acts: dict[str, Act] = {}
    source: Source


class ModelPriors(_Strict):
    """Priors on model-wide parameters (logit units); ``None`` means the calibrated default."""

    support_value: NonNegativePrior | None = None
    bloc_shock_sd: NonNegativePrior | None = None
    evasion: NonNegativePrior | None = None


class Support(_Strict):
    """A kind of support a negotiating patron can commit, its budget and what committing costs.

    ``budget`` is in firm commitments of a member's whole need for the kind (the unit of
    :mod:`sim.game.buying`): a credibility ``c`` offered to a member of need ``n`` spends
    ``c * n``. ``cost`` and ``third_party_cost`` are cost ratios (:mod:`sim.game.bargaining`'s
    ``r``): what a firm commitment of a member's whole need costs the patron, in units of a
    member's full compliance, itself and through a third party's reaction (``third_party``: a
    firm arms commitment to Ukraine costs Israel its deconfliction with Russia).
    """

    kind: Ident
    budget: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    cost: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    third_party: str | None = None
    third_party_cost: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    source: Source

    @model_validator(mode="after")
    def _named(self) -> Support:
        if self.third_party_cost > 0 and not self.third_party:
            raise ValueError("third_party_cost needs third_party (who imposes the cost)")
        return self


class NegotiatingPatron(_Strict):
    """A principal that chooses its own asks and offers in ``sim negotiate``.

    ``objective``: the votes it counts (its reading of each act, summed over members) or the
    outcome (the probability that the resolution fails, or passes, for an ask of yes). ``acts``:
    what it asks of members its cited asks do not reach (default: its latest cited ask's acts).
    ``reach``: selectors of the members it may ask (default: those its cited asks reach).
    ``tie``: the relationship a new ask carries (logit units; default 0).
    """

    objective: Literal["votes", "outcome"] = "votes"
    acts: list[Vote] = []
    reach: list[str] = []
    tie: LogitPrior = Prior("fixed", (("value", 0.0),))
    support: list[Support] = []
    source: Source

    @field_validator("support")
    @classmethod
    def _one_entry_per_kind(cls, support: list[Support]) -> list[Support]:
        kinds = [s.kind for s in support]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"one entry per kind of support; got {kinds}")
        return support


class Negotiation(_Strict):
    """The patrons that negotiate in ``sim negotiate`` (file order is the order they move in),
    and how many rounds they have from the first cited ask to the vote. Only ``sim negotiate``
    reads this section; a replay never does.
    """

    rounds: Annotated[int, Field(ge=1, le=100)] = 10
    patrons: dict[str, NegotiatingPatron]
    description: str = ""


class ScenarioFile(_Strict):
    """The whole file, as validated."""

    schema_version: Literal[1] = Field(1, alias="schema")
    name: Ident
    title: str
    description: str = ""
    focal: list[str] = []
    default_variant: Ident = "as_happened"
    resolution: Resolution
    calibration: Calibration = Calibration()
    item: Item
    committee: Committee | None = None
    previous: Previous | None = None
    members: dict[str, MemberOverride] = {}
    needs: list[Need] = []
    principals: dict[str, Principal] = {}
    events: list[Event] = []
    variants: dict[Ident, Variant] = {}
    model: ModelPriors = ModelPriors()
    negotiation: Negotiation | None = None
    outcome: Outcome | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("events")
    @classmethod
    def _unique_ids(cls, events: list[Event]) -> list[Event]:
        seen: set[str] = set()
        for e in events:
            if e.id in seen:
                raise ValueError(f"duplicate event id {e.id!r}")
            seen.add(e.id)
        return events


# --------------------------------------------------------------------------- the scenario
@dataclass(frozen=True)
class Scenario:
    """A validated scenario file. Build with :func:`load_scenario`.

    Attributes
    ----------
    path : Path or None
        Where it was read from.
    sha256 : str
        Hash of the file's bytes (goes into every run's manifest).
    spec : ScenarioFile
        The validated content.
    """

    path: Path | None
    sha256: str
    spec: ScenarioFile

    @property
    def name(self) -> str:
        """The scenario's name (``name`` key)."""
        return self.spec.name

    @property
    def variants(self) -> tuple[str, ...]:
        """Names of the variants, the default first."""
        names = [self.spec.default_variant, *sorted(self.spec.variants)]
        return tuple(dict.fromkeys(names))

    def events(self, variant: str | None = None) -> tuple[Event, ...]:
        """The timeline of `variant` (default: the scenario's default), sorted by date."""
        variant = variant or self.spec.default_variant
        if variant not in self.variants:
            raise ScenarioError(
                f"{self._where()}: variant: expected one of {', '.join(self.variants)}; "
                f"got {variant!r}"
            )
        return _apply_variant(self, variant)

    def _where(self) -> str:
        return str(self.path) if self.path else f"<scenario {self.spec.name}>"


def _apply_variant(scenario: Scenario, name: str) -> tuple[Event, ...]:
    events = list(scenario.spec.events)
    variant = scenario.spec.variants.get(name)
    if variant is not None:
        by_id = {e.id: e for e in events}
        events = [e for e in events if e.id not in set(variant.drop)]
        for event_id, patch in variant.patch.items():
            patched = Event.model_validate(_patched_raw(by_id[event_id], patch))
            events = [patched if e.id == event_id else e for e in events]
        events += [Event.model_validate(raw) for raw in variant.add]
    return tuple(sorted(events, key=lambda e: (e.date, e.id)))


def _patched_raw(event: Event, patch: Mapping[str, Any]) -> dict[str, Any]:
    """The event with `patch` deep-merged into it, as a mapping to validate."""
    raw = _merge(event.model_dump(mode="python"), patch)
    raw["offer"] = _raw_offer(raw.get("offer"), event, patch)
    raw["tie"] = patch.get("tie", event.tie)
    return raw


def _raw_offer(offer: Any, event: Event, patch: Mapping[str, Any]) -> Any:
    """Keep already-parsed priors when a patch does not touch them."""
    if offer is None:
        return None
    patched = patch.get("offer", {})
    if event.offer is not None and "credibility" not in patched:
        offer = dict(offer)
        offer["credibility"] = event.offer.credibility
    return offer


def _merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def select(
    selector: str,
    *,
    members: Mapping[str, tuple[str, ...]],
    groups: Mapping[str, str],
    known: Mapping[str, str] | None = None,
) -> tuple[str, ...]:
    """Members picked by a selector, sorted.

    Parameters
    ----------
    selector : str
        An ISO3 code (``"UKR"``), ``"all"``, ``"bloc:EU"``, ``"group:WEOG"`` (a UN regional
        group), or ``"committee:yes"`` (members on record with that act in the committee vote).
    members : mapping iso3 -> tuple of bloc names
        The members on the scenario's date.
    groups : mapping iso3 -> UN regional group
    known : mapping iso3 -> act, optional
        Acts on record in the committee vote.

    Examples
    --------
    >>> blocs = {"FRA": ("EU",), "GBR": ()}
    >>> select("bloc:EU", members=blocs, groups={"FRA": "WEOG", "GBR": "WEOG"})
    ('FRA',)
    """
    if selector == "all":
        return tuple(sorted(members))
    if selector.startswith("bloc:"):
        bloc = selector[5:]
        return tuple(sorted(m for m, blocs in members.items() if bloc in blocs))
    if selector.startswith("group:"):
        group = selector[6:]
        return tuple(sorted(m for m, g in groups.items() if g == group))
    if selector.startswith("committee:"):
        act = selector[10:]
        return tuple(sorted(m for m, a in (known or {}).items() if a == act))
    if selector in members:
        return (selector,)
    raise ValueError(f"unknown member or selector {selector!r}")


# --------------------------------------------------------------------------- loading
def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        A TOML file.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        With one line per problem, each naming the file, the key and what was expected.
    """
    path = Path(path)
    return parse_scenario(_read_bytes(path), path=path)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, at most :data:`MAX_FILE_BYTES` of them (``/dev/zero`` ends here)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file ({exc.strerror})") from exc
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"{path}: larger than {MAX_FILE_BYTES:,} bytes; a scenario file is a page or two of "
            f"TOML (is this the right file?)"
        )
    return data


def _parse_toml(data: bytes, where: str) -> dict[str, Any]:
    """TOML from bytes: UTF-8, a byte-order mark allowed, nesting only as deep as the parser
    can go (deeper is an error, not a crash).
    """
    try:
        return tomllib.loads(data.decode("utf-8").removeprefix("\ufeff"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{where}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise ScenarioError(
            f"{where}: not a scenario: arrays or tables nested too deeply to read"
        ) from None


def read_scenario_toml(path: str | Path) -> tuple[dict[str, Any], bytes]:
    """Read a scenario file's TOML without validating it: ``(mapping, bytes)``.

    The same reading as :func:`load_scenario` (size cap, byte-order mark, nesting depth), for
    callers that edit the mapping before validating it (:mod:`sim.run.sweep`).

    Raises
    ------
    ScenarioError
        If the file cannot be read, is too large or is not TOML; the message names the file.
    """
    path = Path(path)
    data = _read_bytes(path)
    return _parse_toml(data, str(path)), data


def parse_scenario(data: bytes | str, *, path: Path | None = None) -> Scenario:
    """Validate scenario TOML given as bytes or text (``path`` only labels messages)."""
    raw_bytes = data.encode() if isinstance(data, str) else data
    raw = _parse_toml(raw_bytes, str(path) if path else "<scenario>")
    return validate_scenario(raw, sha256=hashlib.sha256(raw_bytes).hexdigest(), path=path)


def validate_scenario(
    raw: Mapping[str, Any], *, sha256: str, path: Path | None = None, where: str | None = None
) -> Scenario:
    """Validate a scenario already read into a mapping (as :func:`tomllib.loads` gives it).

    `sha256` identifies the content in manifests; `where` labels messages (default: `path`).
    """
    where = where or (str(path) if path else "<scenario>")
    try:
        spec = ScenarioFile.model_validate(raw)
        scenario = Scenario(path=path, sha256=sha256, spec=spec)
        problems = _check_references(scenario)
    except ValidationError as exc:
        raise ScenarioError(_capped(_format_errors(where, exc, raw), where)) from exc
    except RecursionError:
        raise ScenarioError(f"{where}: not a scenario: values nested too deeply") from None
    if problems:
        raise ScenarioError(_capped([f"{where}: {p}" for p in problems], where))
    return scenario


def _capped(lines: Sequence[str], where: str) -> str:
    """The first :data:`MAX_ERRORS` lines, then one line counting the rest."""
    if len(lines) <= MAX_ERRORS:
        return "\n".join(lines)
    rest = len(lines) - MAX_ERRORS
    return "\n".join(
        [*lines[:MAX_ERRORS], f"{where}: ... and {rest:,} more problem{'s' * (rest != 1)}"]
    )


def _format_errors(
    where: str, exc: ValidationError, raw: Mapping[str, Any], *, prefix: str = ""
) -> list[str]:
    """One line per error: ``WHERE: KEY: what was expected``; `prefix` goes before each key
    (``variants.NAME.patch.EVENT``: the error's key is inside it).
    """
    lines = []
    for err in exc.errors(include_url=False):
        loc = _loc(err["loc"], raw)
        if prefix:
            loc = prefix if loc == "(top level)" else f"{prefix}{'' if loc[0] == '[' else '.'}{loc}"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs/scenarios.md for the keys)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif "input" in err and err["type"] not in ("value_error",) and "got" not in msg:
            msg = f"expected {msg[0].lower()}{msg[1:]}; got {_short(err['input'])}"
        lines.append(f"{where}: {loc}: {msg}")
    return list(dict.fromkeys(lines))


def _key(name: str) -> str:
    """A key as TOML writes it: bare if it can be, else quoted (``variants."/tmp/x"``), cut to
    80 characters.
    """
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        name = '"' + name.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
    return name if len(name) <= 80 else name[:77] + "..."


def _loc(loc: Sequence[Any], raw: Mapping[str, Any]) -> str:
    parts: list[str] = []
    node: Any = raw
    for item in loc:
        if item == "[key]":  # the error is in the key itself (a variant's name), named already
            continue
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node):
                node = node[item]
                if isinstance(node, Mapping) and "id" in node:
                    label += f" ({node['id']})"
            parts.append(label)
        else:
            if item in ("function-after[_complete(), Event]",) or item.startswith(
                ("function-", "constrained-", "literal[", "float", "int", "str", "dict[", "list[")
            ):
                continue
            node = node.get(item) if isinstance(node, Mapping) else None
            parts.append(("." if parts else "") + _key(str(item)))
    text = "".join(parts)
    return text or "(top level)"


def _check_references(scenario: Scenario) -> list[str]:
    """Cross-field checks: member codes, principals, dates, variants. Returns problems."""
    spec = scenario.spec
    date = spec.resolution.date
    roster = load_members(date)
    members = {iso3: tuple(blocs) for iso3, blocs in roster["blocs"].items()}
    groups = dict(roster["un_group"].items())
    problems: list[str] = []
    if not members:  # before the UN: the date is wrong, not every member code or later date
        return [
            f"resolution.date: expected a date on or after {membership_start()}, the first "
            f"in the membership table (sim/defaults/members.csv); got {date}"
        ]

    def check_member(code: str, key: str) -> None:
        if code not in members:
            problems.append(
                f"{key}: expected the ISO3 code of a UN member on {date}; got {_short(code)}"
            )

    def check_selector(code: str, key: str) -> None:
        try:
            picked = select(code, members=members, groups=groups, known={})
        except ValueError:
            picked = ()
            if not code.startswith("committee:"):
                problems.append(
                    f"{key}: expected an ISO3 code of a UN member on {date}, 'all', "
                    f"'bloc:NAME' or 'group:NAME'; got {_short(code)}"
                )
                return
        if code.startswith(("bloc:", "group:")) and not picked:
            problems.append(f"{key}: selector {code!r} picks no member on {date}")
        if code.startswith("committee:") and code[10:] not in ACTS:
            problems.append(f"{key}: expected committee:<act> with act in {ACTS}; got {code!r}")

    for i, code in enumerate(spec.focal):
        check_member(code, f"focal[{i}]")
    for code in spec.members:
        check_member(code, f"members.{code}")
    for i, need in enumerate(spec.needs):
        check_selector(need.who, f"needs[{i}].who")
    for key, principal in spec.principals.items():
        if principal.iso3 is not None:
            check_member(principal.iso3, f"principals.{key}.iso3")
    if spec.committee is not None:
        c = spec.committee
        for act in ACTS:
            for j, code in enumerate(getattr(c.known_acts, act)):
                check_member(code, f"committee.known_acts.{act}[{j}]")
        if c.date >= date:
            problems.append(
                f"committee.date: expected a date before the resolution ({date}); got {c.date}"
            )
        total = c.tally.yes + c.tally.no + c.tally.abstain + c.tally.not_voting
        if total != len(members):
            problems.append(
                f"committee.tally: expected yes+no+abstain+not_voting = {len(members)} "
                f"members on {date}; got {total}"
            )
    if spec.item.by_title and spec.previous is not None:
        problems.append(
            "previous: a [previous] roll call conditions each member on its act on an earlier "
            "text, which needs that text's item: give item.like instead of item.by_title"
        )
    if spec.outcome is not None:
        for code in spec.outcome.acts:
            check_member(code, f"outcome.acts.{_key(code)}")
    all_events = list(spec.events)
    ids = {e.id for e in spec.events}
    for vname, variant in spec.variants.items():
        for j, event_id in enumerate([*variant.drop, *variant.patch]):
            if event_id not in ids:
                problems.append(
                    f"variants.{vname}: event {_short(event_id)} (entry {j}) does not exist; "
                    f"expected one of {sorted(ids)}"
                )
        kept = ids - set(variant.drop)  # an event dropped may come back under its id
        for j, raw in enumerate(variant.add):
            try:
                added = Event.model_validate(raw)
            except ValidationError as exc:
                problems += [
                    line.removeprefix(": ")
                    for line in _format_errors("", exc, raw, prefix=f"variants.{vname}.add[{j}]")
                ]
                continue
            all_events.append(added)
            if added.id in kept:
                problems.append(
                    f"variants.{vname}.add[{j}].id: event id {added.id!r} is taken by an event "
                    f"of the timeline; give the added event its own id (or patch that event)"
                )
            kept.add(added.id)
    if spec.default_variant not in spec.variants and spec.variants:
        problems.append(
            f"default_variant: expected one of {sorted(spec.variants)}; "
            f"got {spec.default_variant!r}"
        )
    for i, event in enumerate(all_events):
        key = f"events[{i}] ({event.id})" if i < len(spec.events) else f"event {event.id}"
        if event.date > date:
            problems.append(
                f"{key}.date: a replay reads only what was known before the vote; "
                f"expected a date on or before {date}; got {event.date}"
            )
        if event.principal is not None and event.principal not in spec.principals:
            problems.append(
                f"{key}.principal: expected one of {sorted(spec.principals)}; "
                f"got {event.principal!r}"
            )
        for j, target in enumerate(event.targets):
            check_selector(target, f"{key}.targets[{j}]")
    if spec.negotiation is not None:
        for key, patron in spec.negotiation.patrons.items():
            where = f"negotiation.patrons.{key}"
            if key not in spec.principals:
                problems.append(f"{where}: expected one of {sorted(spec.principals)}; got {key!r}")
            for j, selector in enumerate(patron.reach):
                check_selector(selector, f"{where}.reach[{j}]")
            for j, support in enumerate(patron.support):
                third = support.third_party
                if third is not None and third not in spec.principals and third not in members:
                    problems.append(
                        f"{where}.support[{j}].third_party: expected a principal or the ISO3 code "
                        f"of a UN member on {date}; got {third!r}"
                    )
    if not problems:
        by_id = {e.id: e for e in spec.events}
        for vname, variant in spec.variants.items():
            for event_id, patch in variant.patch.items():
                raw = _patched_raw(by_id[event_id], patch)
                try:
                    Event.model_validate(raw)
                except ValidationError as exc:
                    where = f"variants.{vname}.patch.{event_id}"
                    problems += [
                        line.removeprefix(": ")
                        for line in _format_errors("", exc, raw, prefix=where)
                    ]
        for vname in spec.variants if not problems else ():
            timeline = [e.id for e in _apply_variant(scenario, vname)]
            twice = sorted({i for i in timeline if timeline.count(i) > 1})
            if twice:
                problems.append(
                    f"variants.{vname}: the variant's timeline holds event id(s) {twice} twice; "
                    f"give each event its own id"
                )
    return problems


def event_ids(events: Sequence[Event]) -> tuple[str, ...]:
    """Ids of events, in order (a small convenience for summaries)."""
    return tuple(e.id for e in events)
