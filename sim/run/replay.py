"""Replay an episode: scenario + calibration -> every member's odds, the exact tally, the outcome.

The pipeline (MODEL.md §3, §5):

1. :func:`prepare` reads the scenario's variant and the calibrated bundle
   (:mod:`sim.run.calibrate`), places the resolution on the dimension (the ``[item] like`` roll
   call,
   re-estimated from the committee tally when the scenario gives one), and draws every uncertain
   parameter up front, each from its own stream keyed by name (ideal points and participation
   from their standard errors, persistence costs, credibilities, ties, the value of support).
2. :class:`sim.model.assembly.AssemblyModel` runs the negotiation rounds of the timeline and returns
   the odds of each act for each member and draw.
3. :class:`ReplayResult` labels them, builds the exact :class:`sim.core.tally.Tally` and writes
   ``members.csv``, ``tally.csv``, ``rounds.csv``, ``summary.json`` and ``manifest.json``.

The model reads only what was known before the vote: the roll calls before its date (through the
bundle), the committee tally and the scenario's cited events. ``[outcome]`` is copied into the
summary for comparison after everything is computed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from sim.core.acts import ABSENT, ACTS, BoolArray, FloatArray, IntArray
from sim.core.choice import principal_weight, reading
from sim.core.persistence import conditional_vote_log_probs_on_draws, shock_correlation
from sim.core.tally import Tally, decision_rule
from sim.io.errors import DataError
from sim.io.results import csv_text, git_commit, json_text, package_versions, write_run
from sim.io.scenario import Event, Prior, Scenario, load_scenario, select
from sim.model.members import MemberSpec
from sim.run.calibrate import ITEM_KEYS, Bundle, load_bundle, previous_codes

__all__ = [
    "SUPPORT_VALUE",
    "AskSpec",
    "ReplayResult",
    "Setup",
    "prepare",
    "principal_acts",
    "replay",
]

#: Prior of the value (logit units) of a firm commitment of a member's top security need (need 1,
#: credibility 1). Median 2: delivered for certain, such support turns a 50:50 choice between two
#: acts into 88:12, the scale at which the aid-for-votes literature finds votes move at the
#: margin (Kuziemko & Werker 2006; Dreher, Nunnenkamp & Thiele 2008; FACTS.md §3); a factor
#: e^0.5 either way covers one sd. Scenarios may override it in ``[model] support_value``.
SUPPORT_VALUE = Prior("lognormal", (("median", 2.0), ("sigma", 0.5)))

INTERVAL = (0.05, 0.95)

#: Threads for the exact tally (results do not depend on it; the machines here have 2 cores).
TALLY_WORKERS = 2


def _stream(seed: int, key: str) -> np.random.Generator:
    """A generator for one named quantity: draws of one parameter never shift another's."""
    word = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(word,)))


#: Credibility from which an offer counts as firm: the target no longer counter-asks for it.
FIRM = 0.5


@dataclass(frozen=True)
class AskSpec:
    """An ask or threat as arrays: who is targeted, how it reads acts, what it is worth.

    Attributes
    ----------
    weight : ndarray, shape (n_draws, n_targets)
        ``w_ik = credibility * need * support_value + tie`` (logit units).
    m : ndarray, shape (4,)
        The principal's reading of each act (:func:`sim.core.choice.reading`).
    offer : ndarray, shape (n_draws, n_targets)
        ``credibility * need``: what multiplies the value of support in `weight` (0 without an
        offer).
    tie : ndarray, shape (n_draws, n_targets)
        The standing value of the relationship (logit units).
    need : ndarray, shape (n_targets,)
        Each target's need for the offered kind of support (0 without an offer).
    credibility : Prior or None
        The offer's credibility prior (None without an offer).
    """

    event_id: str
    date: str
    principal: str
    targets: IntArray
    target_iso3: tuple[str, ...]
    m: FloatArray
    weight: FloatArray
    offer_kind: str | None
    firm: bool
    order: int
    offer: FloatArray
    tie: FloatArray
    need: FloatArray
    credibility: Prior | None

    def valued_at(self, support_value: FloatArray) -> AskSpec:
        """The same ask with the value of support set to `support_value` (shape (n_draws,))."""
        weight = principal_weight(self.offer, np.asarray(support_value, float)[:, None], self.tie)
        return replace(self, weight=weight)

    def at_credibility(self, credibility: float, support_value: FloatArray) -> AskSpec:
        """The same ask with its offer made at `credibility` in every draw (a patron's choice,
        :mod:`sim.game.bargaining`, :mod:`sim.game.buying`), weighed at `support_value` (shape
        (n_draws,)); firm from :data:`FIRM` on."""
        offer = np.full_like(self.offer, credibility) * self.need[None, :]
        weight = principal_weight(offer, np.asarray(support_value, float)[:, None], self.tie)
        return replace(self, offer=offer, weight=weight, firm=credibility >= FIRM)

    def restricted(
        self, columns: IntArray, credibility: FloatArray, support_value: FloatArray
    ) -> AskSpec:
        """The ask to the targets at `columns` only (positions in `targets`), the offer made to
        each at its own `credibility` in every draw (a patron's allocation, :mod:`sim.game.buying`);
        firm if every offer is."""
        columns = np.asarray(columns, dtype=np.int64)
        credibility = np.asarray(credibility, dtype=float)
        need, tie = self.need[columns], self.tie[:, columns]
        offer = np.broadcast_to(credibility * need, (self.offer.shape[0], len(columns))).copy()
        weight = principal_weight(offer, np.asarray(support_value, float)[:, None], tie)
        return replace(
            self, targets=self.targets[columns],
            target_iso3=tuple(self.target_iso3[k] for k in columns), weight=weight, offer=offer,
            tie=tie, need=need, firm=bool(len(columns)) and bool(np.all(credibility >= FIRM)),
        )  # fmt: skip

    def at_mean_credibility(self) -> AskSpec:
        """The same ask with its offer's credibility at its prior mean in every draw."""
        if self.credibility is None:
            return self
        offer = np.broadcast_to(self.credibility.mean() * self.need, self.offer.shape).copy()
        return replace(self, offer=offer)


@dataclass(frozen=True)
class Setup:
    """A prepared episode: everything :class:`sim.model.assembly.AssemblyModel` needs, as arrays."""

    scenario: Scenario
    variant: str
    seed: int
    n_draws: int
    members: tuple[MemberSpec, ...]
    iso3: tuple[str, ...]
    focal: tuple[str, ...]
    log_votes: FloatArray  # (draw, member, 3): log P(vote | present, earlier vote)
    presence_base: FloatArray  # (draw, member): rho + delta
    gamma: FloatArray  # (draw,): strategic-absence slope
    available: BoolArray  # (member, act)
    previous: IntArray  # (member,), or (draw, member) for a new text by title
    persistence: FloatArray  # (draw, 3): reversal, leave, return
    asks: tuple[AskSpec, ...]
    rounds: tuple[str, ...]
    item: dict[str, float]
    bundle: Bundle
    notes: tuple[str, ...] = field(default=())
    #: Per event with ``addressees``: the members its sources do not name that the patron's
    #: best response picked, best first (:func:`sim.game.targeting.complete_addressees`).
    picked: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: (draw,): how strongly attendance answers the asks' change to the value of voting
    #: (:mod:`sim.model.assembly`); None is 1 in every draw, the plain logit.
    evasion: FloatArray | None = None
    #: (draw,): the value of support drawn for this run, and where its prior came from.
    support_value: FloatArray | None = None
    deal_source: str = "literature prior"
    #: (eps, base act shares): the calibrated tremble mixed into every member's odds
    #: (:mod:`sim.core.tremble`); None for none (bundles made before it).
    tremble: tuple[float, FloatArray] | None = None

    def with_deal(
        self, *, support_value: FloatArray | None = None, evasion: FloatArray | None = None
    ) -> Setup:
        """The same episode with the value of support and/or the evasion elasticity replaced
        (arrays of shape (n_draws,)): what an episode's calibration varies."""
        asks, value = self.asks, self.support_value
        if support_value is not None:
            asks = tuple(ask.valued_at(support_value) for ask in asks)
            value = np.asarray(support_value, float)
        return replace(
            self,
            asks=asks,
            support_value=value,
            evasion=self.evasion if evasion is None else evasion,
        )

    def latest_ask(self, principal: str, iso3: str) -> AskSpec | None:
        """The ask of `principal` that holds for member `iso3` at the vote: its latest (by date,
        then timeline order) to that member, which supersedes the earlier ones; None if none."""
        return max(
            (a for a in self.asks if a.principal == principal and iso3 in a.target_iso3),
            key=lambda a: (a.date, a.order),
            default=None,
        )

    def pressure_terms(
        self, active: list[AskSpec], *, cols: IntArray | None = None
    ) -> list[tuple[AskSpec, IntArray | None, IntArray | None]]:
        """Which ask weighs on which of the members `cols` (default all), for :meth:`pressure`.

        A principal's latest ask to a member supersedes its earlier ones (the current state of
        that deal). Each term is ``(ask, positions, keep)``: the ask's targets ``keep`` land on
        rows ``positions`` of the members `cols`; both are None when the ask's targets are
        exactly `cols` in order (the common case of an ask to every member).
        """
        n_members = self.presence_base.shape[1]
        cols = np.arange(n_members) if cols is None else np.asarray(cols)
        where = np.full(n_members, -1)
        where[cols] = np.arange(len(cols))
        latest: dict[tuple[str, int], AskSpec] = {}
        for ask in sorted(active, key=lambda a: (a.date, a.order)):
            for t in ask.targets:
                latest[(ask.principal, int(t))] = ask
        terms: list[tuple[AskSpec, IntArray | None, IntArray | None]] = []
        for ask in active:
            keep = np.array(
                [latest[(ask.principal, int(t))] is ask and where[t] >= 0 for t in ask.targets],
                dtype=bool,
            )
            if not keep.any():
                continue
            if keep.all() and np.array_equal(ask.targets, cols):
                terms.append((ask, None, None))
            else:
                terms.append((ask, where[ask.targets[keep]], np.flatnonzero(keep)))
        return terms

    def pressure(
        self,
        terms: list[tuple[AskSpec, IntArray | None, IntArray | None]],
        *,
        n_members: int,
        draws: slice = slice(None),
    ) -> FloatArray:
        """``sum_k w_ik m_k(c)`` for the draws `draws`, shape (draw, n_members, act), from
        :meth:`pressure_terms` (whose `cols` has length `n_members`)."""
        n_draws = len(range(*draws.indices(self.n_draws)))
        out = np.zeros((n_draws, n_members, len(ACTS)))
        for ask, positions, keep in terms:
            weight = ask.weight[draws]
            if positions is None:
                out += weight[:, :, None] * ask.m
            else:
                out[:, positions, :] += weight[:, keep, None] * ask.m
        return out


def _members(scenario: Scenario) -> tuple[MemberSpec, ...]:
    from sim.io.registry import load_members

    spec = scenario.spec
    roster = load_members(spec.resolution.date)
    blocs = {iso3: tuple(b) for iso3, b in roster["blocs"].items()}
    groups = dict(roster["un_group"].items())
    needs: dict[str, dict[str, float]] = {iso3: {} for iso3 in roster.index}
    for rule in spec.needs:  # later rules win
        for iso3 in select(rule.who, members=blocs, groups=groups):
            needs[iso3][rule.kind] = rule.need
    out = []
    for iso3, row in roster.iterrows():
        override = spec.members.get(str(iso3))
        member_needs = dict(needs[str(iso3)])
        if override is not None:
            member_needs.update(override.security_needs)
        out.append(
            MemberSpec(
                iso3=str(iso3),
                name=str(row["name"]),
                un_group=str(row["un_group"]),
                blocs=blocs[str(iso3)],
                no_vote=bool(override and override.no_vote),
                needs=member_needs,
            )
        )
    return tuple(sorted(out, key=lambda m: m.iso3))


def _member_parameters(bundle: Bundle, iso3: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Calibrated parameters in member order; members the calibration never saw get the
    population's mean and spread (and a note)."""
    table = bundle.members.reindex(iso3)
    missing = table.index[table["ideal_point"].isna()].tolist()
    notes = []
    if missing:
        fitted = bundle.members
        fill = {
            "ideal_point": float(fitted["ideal_point"].mean()),
            "ideal_point_se": float(fitted["ideal_point"].std()),
            "participation": float(fitted["participation"].median()),
            "participation_se": float(fitted["participation"].std()),
        }
        table = table.fillna(fill)
        notes.append(f"no calibrated parameters for {', '.join(missing)}: population values used")
    return table, notes


def committee_acts(scenario: Scenario) -> dict[str, str]:
    """The acts the scenario names on record in its committee vote (ISO3 -> act); empty
    without a committee."""
    committee = scenario.spec.committee
    if committee is None:
        return {}
    return {iso3: act for act in ACTS for iso3 in getattr(committee.known_acts, act)}


def event_targets(
    event: Event,
    members: Sequence[MemberSpec],
    *,
    principal_iso3: str | None,
    known: dict[str, str],
) -> list[str]:
    """The members an ask or threat reaches: its selectors resolved on the scenario's members,
    sorted, without the principal itself (nobody lobbies itself)."""
    blocs = {m.iso3: m.blocs for m in members}
    groups = {m.iso3: m.un_group for m in members}
    picked = {
        t for sel in event.targets for t in select(sel, members=blocs, groups=groups, known=known)
    }
    return sorted(picked - {principal_iso3})


#: Items fitted to a committee's tally, by (bundle, members, committee): the fit is
#: deterministic, and a replay would otherwise redo it for the patron's choice of addressees
#: (:func:`sim.game.targeting.complete_addressees`) and again for itself, as would every point of a
#: sweep and every offer of the bargaining game.
_COMMITTEE_ITEMS: dict[tuple[str, tuple[str, ...], str], dict[str, float]] = {}
_COMMITTEE_ITEMS_MAX = 64


def _item(
    scenario: Scenario, bundle: Bundle, params: pd.DataFrame
) -> tuple[dict[str, float], dict[str, str]]:
    """Item parameters of the resolution and the committee's named acts (if any)."""
    spec = scenario.spec
    item = bundle.item
    known = committee_acts(scenario)
    if spec.committee is not None:
        key = (bundle.sha256, tuple(params.index), spec.committee.model_dump_json())
        if key not in _COMMITTEE_ITEMS:
            if len(_COMMITTEE_ITEMS) >= _COMMITTEE_ITEMS_MAX:
                _COMMITTEE_ITEMS.clear()
            _COMMITTEE_ITEMS[key] = _committee_item(spec.committee, bundle, params, known)
        item = dict(_COMMITTEE_ITEMS[key])
    return item, known


def _committee_item(
    c: Any, bundle: Bundle, params: pd.DataFrame, known: dict[str, str]
) -> dict[str, float]:
    """The item fitted to the committee `c`'s tally and named acts (:func:`_item`)."""
    from sim.estimate.ideal_points import fit_item_to_tally

    tally = {
        "yes": c.tally.yes,
        "no": c.tally.no,
        "abstain": c.tally.abstain,
        "absent": c.tally.not_voting,
    }
    fitted = fit_item_to_tally(
        params[["ideal_point", "participation"]], tally, prior_item=bundle.item, known_acts=known
    )
    item = {k: float(fitted[k]) for k in ("discrimination", "cut_abstain", "cut_yes", "presence")}
    item["presence"] = _presence_for_absences(
        params, item, gamma=bundle.absence["gamma"], known=known, absent=c.tally.not_voting
    )
    return item


def _presence_for_absences(
    params: pd.DataFrame,
    item: dict[str, float],
    *,
    gamma: float,
    known: dict[str, str],
    absent: int,
) -> float:
    """The roll call's presence effect at which the expected number of absent members, under
    strategic absence, equals the committee's count (named voters are known to be present)."""
    from scipy.optimize import brentq
    from scipy.special import expit

    from sim.core.absence import ambivalence
    from sim.core.persistence import vote_log_probs

    unnamed = ~params.index.isin([k for k, a in known.items() if a != "absent"])
    named_absent = sum(a == "absent" for a in known.values())
    x = params["ideal_point"].to_numpy()[unnamed]
    rho = params["participation"].to_numpy()[unnamed]
    h = ambivalence(vote_log_probs(x, item=item))
    target = absent - named_absent

    def gap(delta: float) -> float:
        return float(expit(-(rho + delta - gamma * h)).sum() - target)

    return float(brentq(gap, -30.0, 30.0, xtol=1e-12))


def prepare(
    scenario: Scenario | str | Path,
    *,
    variant: str | None = None,
    n_draws: int = 1000,
    seed: int = 20221230,
    calibration: Path | Bundle | None = None,
) -> Setup:
    """Build the arrays of a replay (no Mesa yet).

    Parameters
    ----------
    scenario : Scenario or path
    variant : str, optional
        Default: the scenario's ``default_variant``.
    n_draws : int
        Parameter draws (MODEL.md §5); each gives exact odds for every member.
    seed : int
        Root seed; every quantity draws from its own stream keyed by its name.
    calibration : Path or Bundle, optional
        Folder of bundles (default: the committed ``sim/defaults/calibration``, and for a
        scenario not shipped with the package, the bundle
        :func:`sim.run.calibrate.resolve_calibration`
        makes on first use), or a bundle held in memory
        (:func:`sim.run.calibrate.bundle_from_frames`).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1; got {n_draws}")
    from sim.game.targeting import complete_addressees
    from sim.run.calibrate import resolve_calibration

    # A user's own scenario without a bundle is calibrated on first use (if the data are here).
    calibration = resolve_calibration(scenario, calibration)

    variant = variant or scenario.spec.default_variant
    # Addressees the sources do not name: the patron's best response (MODEL.md §4).
    scenario, picked = complete_addressees(scenario, variant, seed=seed, calibration=calibration)
    spec = scenario.spec
    events = scenario.events(variant)
    bundle = (
        calibration
        if isinstance(calibration, Bundle)
        else load_bundle(spec.name, root=calibration, scenario_path=scenario.path)
    )
    members = _members(scenario)
    iso3 = [m.iso3 for m in members]
    params, notes = _member_parameters(bundle, iso3)
    for event_id, chosen in picked.items():
        if not chosen:  # the sources name every addressee
            continue
        e = next(e for e in events if e.id == event_id)
        notes.append(
            f"{event_id}: the {len(chosen)} addressees its sources do not name, picked by "
            f"{spec.principals[e.principal or ''].name}'s best response: {', '.join(chosen)}"
        )
    item, known = _item(scenario, bundle, params)
    by_title = None  # per draw, the earlier text the resolution is like (``[item] by_title``)
    if spec.item.by_title and spec.committee is None:
        item, by_title, note = _title_item_draws(scenario, bundle, n_draws, seed)
        notes.append(note)
    n = len(iso3)

    def normal(key: str, mean: Any, sd: Any) -> FloatArray:
        z = _stream(seed, key).standard_normal((n_draws, np.size(mean)))
        return np.asarray(mean, float)[None, :] + np.asarray(sd, float)[None, :] * z

    x = normal("ideal_point", params["ideal_point"], params["ideal_point_se"])
    rho = normal("participation", params["participation"], params["participation_se"])
    groups = sorted({m.un_group for m in members})
    if spec.model.bloc_shock_sd is not None:
        shock_sd = spec.model.bloc_shock_sd.sample(n_draws, rng=_stream(seed, "bloc_shock_sd"))
    else:
        tau = bundle.group_shock
        shock_sd = np.abs(normal("bloc_shock_sd", [tau["tau"]], [tau["tau_se"]])[:, 0])
    shocks = _stream(seed, "bloc_shock").standard_normal((n_draws, len(groups))) * shock_sd[:, None]
    member_group = np.array([groups.index(m.un_group) for m in members])
    beta = np.asarray(item["discrimination"], dtype=float)  # scalar, or (draw, 1) by title
    steep = np.abs(beta) > 1e-9
    eta_shift = np.where(steep, shocks[:, member_group] / np.where(steep, beta, 1.0), 0.0)
    if spec.item.new_text:
        # A different text sits somewhere around its like: one shift of the item per draw, with
        # the spread of the window's new texts (a shift of the item is minus one of everyone).
        spread = float(bundle.meta["item"].get("new_text_location_sd", float("nan")))
        if not np.isfinite(spread):
            raise DataError(
                f"{scenario.path or spec.name}: item.new_text: the calibration has no spread "
                f"of new texts; run `sim calibrate` on this scenario"
            )
        eta_shift = eta_shift + normal("item.new_text", [0.0], [spread])  # (draw, 1)
    available = np.ones((n, len(ACTS)), dtype=bool)
    for member, acts in principal_acts(spec.principals, events).items():
        if member in iso3:
            i = iso3.index(member)
            available[i] = [act in acts for act in ACTS]
            notes.append(
                f"{member} asks others for {' or '.join(a for a in ACTS if a in acts)} and votes "
                f"so itself (its calibrated odds over those acts)"
            )
    for i, m in enumerate(members):
        if m.no_vote:
            available[i] = False
            available[i, ABSENT] = True

    previous = previous_codes(bundle.members, iso3)
    pers = bundle.persistence
    gap = np.zeros(n)  # years from each member's previous public act to the vote
    vote_day = pd.Timestamp(spec.resolution.date)
    if bundle.meta.get("previous_date"):
        gap[:] = (vote_day - pd.Timestamp(bundle.meta["previous_date"])).days / 365.25
        if spec.previous is not None and not spec.previous.same_text:
            gap[:] = np.maximum(gap, 1.0)  # another text: as much as next session's version
    for member, act in known.items():
        i = iso3.index(member)
        previous[i] = ACTS.index(act)
        gap[i] = (vote_day - pd.Timestamp(spec.committee.date)).days / 365.25  # type: ignore[union-attr]
    correlation = shock_correlation(
        gap, tau=pers.get("tau", float("inf")), power=pers.get("power", 1.0)
    )
    if by_title is not None:
        previous, log_votes = _title_log_votes(
            bundle.meta["item"]["by_title"], by_title, iso3, x + eta_shift, vote_day, pers
        )
    else:
        log_votes = conditional_vote_log_probs_on_draws(
            x + eta_shift, previous, item=item, sigma=pers.get("sigma", 0.0),
            scale=pers.get("scale"), correlation=correlation,
        )  # fmt: skip
    absence = bundle.absence
    gamma = normal("absence.gamma", [absence["gamma"]], [absence["gamma_se"]])[:, 0]
    persistence = np.column_stack(
        [
            normal(f"persistence.{k}", [pers[k]], [pers[f"{k}_se"]])[:, 0]
            for k in ("reversal", "leave", "return")
        ]
    )

    support_value, evasion, deal_source = _deal_draws(
        spec.model, bundle.meta.get("deal"), n_draws, seed
    )
    asks = tuple(_ask_specs(scenario, events, members, support_value, seed, n_draws, known))
    vote_date = spec.resolution.date.isoformat()
    rounds = tuple(sorted({a.date for a in asks} | {vote_date}))
    focal = tuple(f for f in spec.focal if f in iso3)
    return Setup(
        scenario=scenario,
        variant=variant,
        seed=seed,
        n_draws=n_draws,
        members=members,
        iso3=tuple(iso3),
        focal=focal,
        log_votes=log_votes,
        presence_base=rho + item["presence"],
        gamma=gamma,
        available=available,
        previous=previous,
        persistence=persistence,
        asks=asks,
        rounds=rounds,
        item=item,
        bundle=bundle,
        notes=tuple(notes),
        picked=picked,
        evasion=evasion,
        support_value=support_value,
        deal_source=deal_source,
        tremble=_tremble(bundle.meta.get("tremble")),
    )


def _title_log_votes(
    mixture: dict[str, Any],
    index: IntArray,
    iso3: list[str],
    ideal_point: FloatArray,
    vote_day: pd.Timestamp,
    pers: dict[str, float],
) -> tuple[IntArray, FloatArray]:
    """Each draw's previous acts and vote log-probabilities when the resolution is like earlier
    text ``index[d]`` of the title mixture: every member's act on that text is its previous
    public act on another text (``[previous] same_text = false``: the shock's correlation at
    least a year on, reversal costs), computed exactly per text on the draws that took it.

    Returns
    -------
    previous : ndarray of int, shape (n_draws, n_members)
    log_votes : ndarray, shape (n_draws, n_members, 3)
    """
    column = {m: k for k, m in enumerate(mixture["members"])}
    cols = np.array([column.get(c, -1) for c in iso3])
    texts = np.array([["0123".find(ch) for ch in row] for row in mixture["acts"]], dtype=np.int64)
    previous = np.where(cols[None, :] >= 0, texts[:, np.maximum(cols, 0)], -1)  # (text, member)
    years = (vote_day - pd.to_datetime(pd.Series(mixture["date"]))).dt.days.to_numpy() / 365.25
    correlation = shock_correlation(
        np.maximum(years, 1.0), tau=pers.get("tau", float("inf")), power=pers.get("power", 1.0)
    )
    log_votes = np.empty((*ideal_point.shape, 3))
    for j in np.unique(index):
        on = index == j
        log_votes[on] = conditional_vote_log_probs_on_draws(
            ideal_point[on], previous[j], item={k: float(mixture[k][j]) for k in ITEM_KEYS},
            sigma=pers.get("sigma", 0.0), scale=pers.get("scale"),
            correlation=np.full(len(iso3), correlation[j]),
        )  # fmt: skip
    return previous[index], log_votes


def _title_item_draws(
    scenario: Scenario, bundle: Bundle, n_draws: int, seed: int
) -> tuple[dict[str, Any], IntArray, str]:
    """Per parameter draw, the item of one of the earlier first votes the bundle's title
    mixture holds (``[item] by_title``), drawn with its weights; which text each draw took;
    and a note naming the nearest.

    The draws are stratified (one uniform offset, ``n_draws`` evenly spaced points of the
    weights' cumulative sum), then shuffled, from the stream ``item.by_title``: each text gets
    its share of the draws to within one, whatever the seed."""
    mixture = bundle.meta["item"].get("by_title")
    if mixture is None:
        where = scenario.path or scenario.spec.name
        raise DataError(
            f"{where}: item.by_title: the calibration holds no title mixture (it was made for "
            f"item.like); run `sim calibrate {where}`"
        )
    weights = np.asarray(mixture["weight"], dtype=float)
    cdf = np.cumsum(weights)
    cdf[-1] = 1.0
    rng = _stream(seed, "item.by_title")
    u = (np.arange(n_draws) + rng.random()) / n_draws
    index = rng.permutation(np.searchsorted(cdf, u, side="right"))
    item = {k: np.asarray(mixture[k], dtype=float)[index][:, None] for k in ITEM_KEYS}
    top = np.argsort(-weights, kind="stable")[:3]
    nearest = ", ".join(
        f"{mixture['symbol'][j] or 'rcid ' + str(mixture['rcid'][j])} ({weights[j]:.2f})"
        for j in top
    )
    note = (
        f"new text by its title: its item drawn from {len(weights)} earlier first votes "
        f"weighted by title likeness (sharpness {mixture['sharpness']:g}, country words "
        f"x{mixture.get('place_weight', 1.0):g}), members' acts on "
        f"each as their previous acts on another text; nearest {nearest}"
    )
    return item, index, note


def principal_acts(principals: Any, events: Sequence[Event]) -> dict[str, frozenset[str]]:
    """The acts a member that is itself a principal may take: those it asks of others.

    A state that asks or threatens others over a resolution has taken a public side on it: it
    does not vote against its own ask, nor stay away while it lobbies (Russia on its own
    suspension, the US on ES-10/19, Israel on A/RES/77/247). Its act is therefore drawn from
    its calibrated odds renormalised over the acts its asks and threats in the variant name
    (their union: "no or abstain" and a later "no" leave both open, and its own record decides
    between them). Principals that are not members (blocs, publics) vote nothing.

    Parameters
    ----------
    principals : mapping of str to principal spec
        The scenario's ``[principals]`` (each with an optional ``iso3``).
    events : sequence of Event
        The variant's timeline.

    Returns
    -------
    dict of str to frozenset of str
        Per member ISO3 code, its available acts (a subset of yes, no, abstain).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> isr = NS(iso3="ISR")
    >>> events = [NS(kind="ask", principal="ISR", acts=["no", "abstain"]),
    ...           NS(kind="ask", principal="ISR", acts=["no"]), NS(kind="note", principal="ISR")]
    >>> sorted(principal_acts({"ISR": isr}, events)["ISR"])
    ['abstain', 'no']
    """
    out: dict[str, set[str]] = {}
    for event in events:
        if event.kind not in ("ask", "threat") or not event.principal:
            continue
        iso3 = principals[event.principal].iso3
        if iso3:
            out.setdefault(iso3, set()).update(event.acts)
    return {k: frozenset(v) for k, v in out.items()}


def _item_summary(s: Setup) -> dict[str, Any]:
    """The item for summary.json: its parameters, or, drawn by title, the mixture's largest
    weights (the whole mixture is in the calibration)."""
    mixture = s.bundle.meta["item"].get("by_title")
    if not (s.scenario.spec.item.by_title and s.scenario.spec.committee is None and mixture):
        return {k: float(v) for k, v in s.item.items()}
    top = np.argsort(-np.asarray(mixture["weight"]), kind="stable")[:10]
    return {
        "by_title": {
            "title": mixture["title"],
            "issue": mixture["issue"],
            "sharpness": mixture["sharpness"],
            "place_weight": mixture.get("place_weight", 1.0),
            "n_texts": len(mixture["weight"]),
            "nearest": [{k: mixture[k][j] for k in ("rcid", "symbol", "weight")} for j in top],
        }
    }


def _recorded_counts(outcome: Any) -> dict[str, int]:
    """A scenario's recorded tally as a count per act (``not_voting`` is ``absent``)."""
    t = outcome.tally
    return {"yes": t.yes, "no": t.no, "abstain": t.abstain, "absent": t.not_voting}


def _tremble(entry: dict[str, Any] | None) -> tuple[float, FloatArray] | None:
    """The bundle's tremble as (eps, base), or None if it has none (or a zero share)."""
    if not entry or not entry.get("eps"):
        return None
    return float(entry["eps"]), np.asarray(entry["base"], dtype=float)


def _lognormal(entry: dict[str, float]) -> Prior:
    return Prior("lognormal", (("median", entry["median"]), ("sigma", entry["sigma"])))


def _deal_draws(
    model: Any, deal: dict[str, Any] | None, n_draws: int, seed: int
) -> tuple[FloatArray, FloatArray | None, str]:
    """Draws of the value of support and of the evasion elasticity (None: 1, the logit), and
    where they come from.

    A scenario's ``[model]`` priors win; otherwise the bundle's posterior from earlier episodes
    (:mod:`sim.run.episodes`), both drawn jointly with their correlation; otherwise the literature
    prior of the value of support and the plain logit.
    """
    learnt = f"episodes {', '.join(deal['episodes'])}" if deal is not None else ""
    if deal is not None and model.support_value is None and model.evasion is None:
        z = _stream(seed, "deal").standard_normal((n_draws, 2))
        rho = float(np.clip(deal.get("correlation", 0.0), -0.999, 0.999))
        second = rho * z[:, 0] + np.sqrt(1.0 - rho**2) * z[:, 1]
        v, k = deal["support_value"], deal["evasion"]
        return (
            v["median"] * np.exp(v["sigma"] * z[:, 0]),
            k["median"] * np.exp(k["sigma"] * second),
            learnt,
        )
    support_prior = model.support_value or (
        _lognormal(deal["support_value"]) if deal is not None else SUPPORT_VALUE
    )
    support_value = support_prior.sample(n_draws, rng=_stream(seed, "support_value"))
    evasion_prior = model.evasion or (_lognormal(deal["evasion"]) if deal is not None else None)
    evasion = (
        None
        if evasion_prior is None
        else evasion_prior.sample(n_draws, rng=_stream(seed, "evasion"))
    )
    source = "scenario [model]" if model.support_value or model.evasion else "literature prior"
    if deal is not None and not (model.support_value and model.evasion):
        source = f"{source} and {learnt}"
    return support_value, evasion, source


def _ask_specs(
    scenario: Scenario,
    events: tuple[Event, ...],
    members: tuple[MemberSpec, ...],
    support_value: FloatArray,
    seed: int,
    n_draws: int,
    known: dict[str, str],
) -> list[AskSpec]:
    spec = scenario.spec
    index = {m.iso3: i for i, m in enumerate(members)}
    out = []
    for order, event in enumerate(events):
        if event.kind not in ("ask", "threat"):
            continue
        principal = spec.principals[event.principal or ""]
        targets = event_targets(event, members, principal_iso3=principal.iso3, known=known)
        if not targets:
            continue
        idx = np.array([index[t] for t in targets], dtype=np.int64)
        tie = event.tie.sample(n_draws, rng=_stream(seed, f"event.{event.id}.tie"))
        tie = np.broadcast_to(tie[:, None], (n_draws, len(idx))).copy()
        if event.offer is not None:
            cred = event.offer.credibility.sample(
                n_draws, rng=_stream(seed, f"event.{event.id}.credibility")
            )
            need = np.array([members[i].needs.get(event.offer.kind, 0.0) for i in idx])
            offer = cred[:, None] * need[None, :]
            firm = event.offer.credibility.mean() >= FIRM
            kind, credibility = event.offer.kind, event.offer.credibility
        else:
            offer = np.zeros((n_draws, len(idx)))
            need = np.zeros(len(idx))
            firm, kind, credibility = False, None, None
        weight = principal_weight(offer, support_value[:, None], tie)
        out.append(
            AskSpec(
                event_id=event.id,
                date=event.date.isoformat(),
                principal=event.principal or "",
                targets=idx,
                target_iso3=tuple(targets),
                m=reading(event.acts),
                weight=weight,
                offer_kind=kind,
                firm=firm,
                order=order,
                offer=offer,
                tie=tie,
                need=need,
                credibility=credibility,
            )
        )
    return out


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class ReplayResult:
    """What a replay gives: labelled odds, the exact tally, the rounds, a summary.

    Attributes
    ----------
    setup : Setup
    odds : ndarray, shape (n_draws, n_members, 4)
        Final act probabilities per draw.
    tally : Tally
    rounds : DataFrame
        One row per negotiation round (Mesa ``DataCollector``).
    counter_asks : list of dict
    """

    setup: Setup
    odds: FloatArray
    tally: Tally
    rounds: pd.DataFrame
    counter_asks: tuple[dict[str, str], ...]

    @property
    def members(self) -> pd.DataFrame:
        """One row per member: ``iso3, name, p_yes, p_no, p_abstain, p_absent``, then 90%
        intervals across draws (``p_yes_q05``, ``p_yes_q95``...) and ``previous_act``."""
        mean = self.odds.mean(axis=0)
        mean = mean / mean.sum(axis=1, keepdims=True)  # exact to rounding: rows sum to 1
        lo, hi = np.quantile(self.odds, INTERVAL, axis=0)
        s = self.setup
        frame = pd.DataFrame({"iso3": s.iso3, "name": [m.name for m in s.members]})
        for k, act in enumerate(ACTS):
            frame[f"p_{act}"] = mean[:, k]
        for k, act in enumerate(ACTS):
            frame[f"p_{act}_q05"] = lo[:, k]
            frame[f"p_{act}_q95"] = hi[:, k]
        # Per draw (a new text by title): no one previous act; the mixture is in the bundle.
        frame["previous_act"] = (
            [ACTS[p] if p >= 0 else "" for p in s.previous] if s.previous.ndim == 1 else ""
        )
        frame["no_vote"] = [m.no_vote for m in s.members]
        return frame

    def member(self, iso3: str) -> pd.Series:
        """The odds of one member (a row of :attr:`members`)."""
        return self.members.set_index("iso3").loc[iso3]

    def to_xarray(self) -> xr.Dataset:
        """The run as a labelled ``Dataset``: ``act_probability`` (draw, member, act), the odds
        per draw (what this returned as a ``DataArray`` before: ``ds["act_probability"]``);
        ``p_adopted_draw`` (draw); ``tally`` (act, count), the exact pmf of each act's count;
        ``expected`` (act); the probability of adoption in the attributes."""
        s = self.setup
        attrs = {"scenario": s.scenario.name, "variant": s.variant, "seed": s.seed}
        t = self.tally
        return xr.Dataset(
            {
                "act_probability": (
                    ("draw", "member", "act"), self.odds, {"units": "probability"}
                ),
                "p_adopted_draw": ("draw", np.asarray(t.prob_pass_draws), {"units": "probability"}),
                "tally": (("act", "count"), np.asarray(t.marginals), {"units": "probability"}),
                "expected": ("act", np.array([t.mean()[a] for a in ACTS])),
            },
            coords={
                "draw": np.arange(s.n_draws),
                "member": list(s.iso3),
                "act": list(ACTS),
                "count": np.arange(t.n_members + 1),
            },
            attrs={**attrs, "rule": t.rule.name, "p_adopted": t.prob_pass()},
        )  # fmt: skip

    def deal(self) -> dict[str, Any]:
        """The deal parameters of the run: median and 90% interval across draws of the value of
        support and the evasion elasticity, and where their priors came from."""
        s = self.setup

        def spread(x: FloatArray | None) -> dict[str, float]:
            values = np.ones(s.n_draws) if x is None else np.asarray(x, float)
            lo, mid, hi = np.quantile(values, [INTERVAL[0], 0.5, INTERVAL[1]])
            return {"median": float(mid), "q05": float(lo), "q95": float(hi)}

        return {
            "support_value": spread(s.support_value),
            "evasion": spread(s.evasion),
            "source": s.deal_source,
        }

    def score(self) -> dict[str, Any] | None:
        """How the replay fares against the scenario's recorded outcome (None without one).

        Computed after the fact, for comparison: the replay never reads ``[outcome]``. Per act
        of the recorded tally: the expected count, the 90% interval, whether the record falls
        in it, and the exact marginal probability of the recorded count; the mean absolute
        error of the four counts; the probability of adoption against what happened (Brier
        score and log-score); for the members whose acts the outcome records, the probability
        the replay gave each act and their log-loss (mean of ``-log p``, the proper scoring rule
        of MODEL.md §7).
        """
        spec = self.setup.scenario.spec
        if spec.outcome is None:
            return None
        o = spec.outcome
        counts = _recorded_counts(o)
        means = self.tally.mean()
        acts_score: dict[str, Any] = {}
        for act, count in counts.items():
            pmf = self.tally.marginal(act)
            lo, hi = self.tally.interval(act)
            acts_score[act] = {
                "recorded": count,
                "expected": means[act],
                "interval90": [lo, hi],
                "inside": bool(lo <= count <= hi),
                "p_recorded": float(pmf[count]) if count < len(pmf) else 0.0,
            }
        adopted = bool(decision_rule(spec.resolution.rule).adopts(yes=o.tally.yes, no=o.tally.no))
        p = self.tally.prob_pass()
        p_happened = p if adopted else 1.0 - p
        members = self.members.set_index("iso3")
        recorded = {
            iso3: {"act": act, "p": float(members.loc[iso3, f"p_{act}"])}
            for iso3, act in sorted(o.acts.items())
            if iso3 in members.index
        }
        losses = [-np.log(max(r["p"], 1e-300)) for r in recorded.values()]
        return {
            "tally": acts_score,
            "tally_mae": float(np.mean([abs(means[a] - c) for a, c in counts.items()])),
            "adopted": adopted,
            "p_adopted": p,
            "adoption_brier": (p - float(adopted)) ** 2,
            "adoption_log_score": float(-np.log(max(p_happened, 1e-300))) + 0.0,  # not -0.0
            "acts": recorded,
            "acts_log_loss": float(np.mean(losses)) if losses else None,
        }

    def most_likely(self, iso3: str) -> str:
        """The act with the highest mean probability for `iso3`."""
        row = self.member(iso3)
        return max(ACTS, key=lambda a: row[f"p_{a}"])

    def summary(self) -> dict[str, Any]:
        """The run's headline numbers (and, apart, the recorded outcome for comparison)."""
        s = self.setup
        spec = s.scenario.spec
        members = self.members.set_index("iso3")
        tally = {
            act: {"expected": self.tally.mean()[act], "interval90": list(self.tally.interval(act))}
            for act in ACTS
        }
        out: dict[str, Any] = {
            "scenario": s.scenario.name,
            "variant": s.variant,
            "resolution": {
                "symbol": spec.resolution.symbol,
                "date": spec.resolution.date.isoformat(),
                "rule": spec.resolution.rule,
            },
            "draws": s.n_draws,
            "seed": s.seed,
            "focal": {
                iso3: {
                    **{act: float(members.loc[iso3, f"p_{act}"]) for act in ACTS},
                    "most_likely": self.most_likely(iso3),
                }
                for iso3 in s.focal
            },
            "tally": tally,
            "prob_adopted": self.tally.prob_pass(),
            "deal": self.deal(),
            "item": _item_summary(s),
            "counter_asks": list(self.counter_asks),
            "picked_addressees": {k: list(v) for k, v in s.picked.items()},
            "notes": list(s.notes),
        }
        if spec.outcome is not None:
            o = spec.outcome
            out["recorded_outcome_for_comparison"] = {
                "tally": _recorded_counts(o),
                "acts": dict(o.acts),
                "source": o.source,
                "score": self.score(),
            }
        return out

    def manifest(self) -> dict[str, Any]:
        """Provenance of the run (no wall-clock time, so reruns give the same bytes)."""
        s = self.setup
        return {
            "scenario": {
                "name": s.scenario.name,
                "sha256": s.scenario.sha256,
                "file": s.scenario.path.name if s.scenario.path else None,
            },
            "variant": s.variant,
            "seed": s.seed,
            "draws": s.n_draws,
            "calibration": {
                "sha256": s.bundle.sha256,
                "window": s.bundle.meta.get("window"),
                "dimension": s.bundle.meta.get("dimension"),
            },
            "versions": package_versions(),
            "git_commit": git_commit(),
        }

    def write(self, out_dir: str | Path, *, plots: bool = True) -> Path:
        """Write the result files atomically into `out_dir` (and, with `plots`, ``odds.png`` and
        ``tally.png``); return it.

        Every table and JSON file is rendered before the first is written, so a run that fails
        while rendering leaves no file behind; ``manifest.json``, listing the files, is written
        last (:func:`sim.io.results.write_run`).
        """
        texts = {
            "members.csv": csv_text(self.members),
            "tally.csv": csv_text(self.tally.to_frame()),
            "rounds.csv": csv_text(self.rounds),
            "summary.json": json_text(self.summary()),
        }
        figures = {}
        if plots:
            from sim.io.plots import plot_member_odds, plot_tally

            figures = {
                "odds.png": partial(plot_member_odds, self),
                "tally.png": partial(plot_tally, self),
            }
        return write_run(Path(out_dir), texts, self.manifest(), figures=figures)


def replay(
    scenario: Scenario | str | Path,
    *,
    variant: str | None = None,
    n_draws: int = 1000,
    seed: int = 20221230,
    calibration: Path | Bundle | None = None,
) -> ReplayResult:
    """Replay a scenario's variant: the odds of every member and the exact tally.

    Parameters are those of :func:`prepare`.

    Examples
    --------
    >>> result = replay("scenarios/icj_referral_2022.toml", n_draws=50, seed=1)
    >>> odds = result.members[["p_yes", "p_no", "p_abstain", "p_absent"]]
    >>> bool(abs(odds.sum(axis=1) - 1).max() < 1e-9)
    True
    """
    from sim.model.assembly import AssemblyModel

    setup = prepare(scenario, variant=variant, n_draws=n_draws, seed=seed, calibration=calibration)
    model = AssemblyModel(setup, rng=np.random.default_rng(np.random.SeedSequence(seed)))
    model.run()
    tally = Tally.from_probabilities(  # copy=False: the model's odds are handed over
        model.odds, rule=setup.scenario.spec.resolution.rule, workers=TALLY_WORKERS, copy=False
    )
    rounds = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    return ReplayResult(
        setup=setup,
        odds=tally.probabilities,
        tally=tally,
        rounds=rounds,
        counter_asks=tuple(model.counter_asks),
    )
