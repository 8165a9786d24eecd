"""Prepare a replay: a scenario and its calibration bundle in, a :class:`sim.model.setup.Setup` out.

:func:`build_setup` reads the scenario's variant and the bundle, places the resolution on its
dimension (the ``[item] like`` roll call, the committee tally, or the texts its title resembles),
draws every uncertain parameter from its own named stream (:func:`sim.core.seeds.named_stream`),
the deal's among them (value of support, evasion, readings of absence by kind of ask), and turns
each event of the timeline into an :class:`sim.model.setup.AskSpec` read by its kind of ask; an
event whose sources name only some of its addressees has the rest picked by the patron's best
response (:func:`complete_addressees`). No calibration is made here:
:func:`sim.run.replay.prepare` resolves the bundle first
(:func:`sim.run.calibrate.resolve_calibration`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from sim.core.absence import ambivalence
from sim.core.acts import ABSENT, ACTS, BoolArray, FloatArray, IntArray
from sim.core.choice import principal_weight, reading
from sim.core.persistence import (
    conditional_vote_log_probs_on_draws,
    member_holds,
    shock_correlation,
    vote_log_probs,
)
from sim.core.seeds import DEFAULT_SEED, named_stream
from sim.estimate.deal import READING, SUPPORT_VALUE
from sim.estimate.ideal_points import fit_item_to_tally
from sim.io.bundles import ITEM_KEYS, Bundle, load_bundle, previous_codes
from sim.io.errors import DataError, ScenarioError
from sim.io.registry import load_members
from sim.io.scenario import Event, Prior, Scenario, Variant, load_scenario, select
from sim.model.assembly import Replays
from sim.model.members import MemberSpec
from sim.model.setup import FIRM, AskSpec, Setup


def _members(scenario: Scenario) -> tuple[MemberSpec, ...]:

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
    population's mean and spread (and a note).
    """
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
    without a committee.
    """
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
    sorted, without the principal itself (nobody lobbies itself).
    """
    blocs = {m.iso3: m.blocs for m in members}
    groups = {m.iso3: m.un_group for m in members}
    picked = {
        t for sel in event.targets for t in select(sel, members=blocs, groups=groups, known=known)
    }
    return sorted(picked - {principal_iso3})


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
    fitted = fit_item_to_tally(
        params[["ideal_point", "participation"]],
        c.tally.counts(),
        prior_item=bundle.item,
        known_acts=known,
    )
    item = {k: float(fitted[k]) for k in ITEM_KEYS}
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
    strategic absence, equals the committee's count (named voters are known to be present).
    """
    from scipy.optimize import brentq
    from scipy.special import expit

    unnamed = ~params.index.isin([k for k, a in known.items() if a != "absent"])
    named_absent = sum(a == "absent" for a in known.values())
    x = params["ideal_point"].to_numpy()[unnamed]
    rho = params["participation"].to_numpy()[unnamed]
    h = ambivalence(vote_log_probs(x, item=item))
    target = absent - named_absent

    def gap(delta: float) -> float:
        return float(expit(-(rho + delta - gamma * h)).sum() - target)

    return float(brentq(gap, -30.0, 30.0, xtol=1e-12))


def build_setup(
    scenario: Scenario | str | Path,
    *,
    variant: str | None = None,
    n_draws: int = 1000,
    seed: int = DEFAULT_SEED,
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
        (:func:`sim.io.bundles.bundle_from_frames`).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1; got {n_draws}")

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
    notes += _picked_notes(picked, events, spec.principals)
    item, known = _item(scenario, bundle, params)
    by_title = None  # per draw, the earlier text the resolution is like (``[item] by_title``)
    if spec.item.by_title and spec.committee is None:
        item, by_title, note = _title_item_draws(scenario, bundle, n_draws, seed)
        notes.append(note)

    def normal(key: str, mean: Any, sd: Any) -> FloatArray:
        return _normal_draws(seed, n_draws, key, mean, sd)

    x = normal("ideal_point", params["ideal_point"], params["ideal_point_se"])
    rho = normal("participation", params["participation"], params["participation_se"])
    eta_shift = _policy_shift(scenario, bundle, members, item, n_draws=n_draws, seed=seed)
    available, own_notes = _available_acts(spec.principals, events, members)
    notes += own_notes

    pers = bundle.persistence
    vote_day = pd.Timestamp(spec.resolution.date)
    previous, gap = _previous_acts(spec, bundle, iso3, known)
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
    # Each member's own hold on its record (its extra reversal cost), drawn from its posterior
    # (sim.core.persistence.fit_member_hold); a bundle fitted without it has none.
    hold = None
    if "hold_sd" in pers:
        hold = normal("persistence.hold", *member_holds(pers, iso3))

    support_value, evasion, readings, deal_source = _deal_draws(
        spec.model, bundle.meta.get("deal"), n_draws, seed
    )
    asks = tuple(
        ask.read_with(readings)
        for ask in _ask_specs(scenario, events, members, support_value, seed, n_draws, known)
    )
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
        hold=hold,
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
        readings=readings,
    )


def _policy_shift(
    scenario: Scenario,
    bundle: Bundle,
    members: Sequence[MemberSpec],
    item: dict[str, Any],
    *,
    n_draws: int,
    seed: int,
) -> FloatArray:
    """Per draw and member, the shift of the latent policy position the vote's common shocks
    make (MODEL.md §5): the member's UN regional group's shock, in units of the item's
    discrimination, and for a new text one shift of the item per draw.
    """
    spec = scenario.spec
    groups = sorted({m.un_group for m in members})
    if spec.model.bloc_shock_sd is not None:
        shock_sd = spec.model.bloc_shock_sd.sample(n_draws, rng=named_stream(seed, "bloc_shock_sd"))
    else:
        tau = bundle.group_shock
        shock_sd = np.abs(
            _normal_draws(seed, n_draws, "bloc_shock_sd", [tau["tau"]], [tau["tau_se"]])[:, 0]
        )
    shocks = named_stream(seed, "bloc_shock").standard_normal((n_draws, len(groups)))
    shocks = shocks * shock_sd[:, None]
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
        eta_shift = eta_shift + _normal_draws(
            seed, n_draws, "item.new_text", [0.0], [spread]
        )  # (draw, 1)
    return eta_shift


def _normal_draws(seed: int, n_draws: int, key: str, mean: Any, sd: Any) -> FloatArray:
    """Draws ``(n_draws, len(mean))`` of independent normals around `mean` with sds `sd`, from
    the stream named `key`.
    """
    z = named_stream(seed, key).standard_normal((n_draws, np.size(mean)))
    return np.asarray(mean, float)[None, :] + np.asarray(sd, float)[None, :] * z


def _picked_notes(
    picked: dict[str, tuple[str, ...]], events: Sequence[Event], principals: Any
) -> list[str]:
    """A note per event whose unnamed addressees the patron's best response picked."""
    notes = []
    for event_id, chosen in picked.items():
        if not chosen:  # the sources name every addressee
            continue
        e = next(e for e in events if e.id == event_id)
        notes.append(
            f"{event_id}: the {len(chosen)} addressees its sources do not name, picked by "
            f"{principals[e.principal or ''].name}'s best response: {', '.join(chosen)}"
        )
    return notes


def _available_acts(
    principals: Any, events: Sequence[Event], members: Sequence[MemberSpec]
) -> tuple[BoolArray, list[str]]:
    """Which acts each member can take, shape (member, act): a member that is itself a
    principal votes among the acts it asks of others; a member without its vote (Art. 19) is
    absent. With a note per principal member.
    """
    iso3 = [m.iso3 for m in members]
    available = np.ones((len(members), len(ACTS)), dtype=bool)
    notes = []
    for member, acts in principal_acts(principals, events).items():
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
    return available, notes


def _previous_acts(
    spec: Any, bundle: Bundle, iso3: list[str], known: dict[str, str]
) -> tuple[IntArray, FloatArray]:
    """Each member's previous public act on the text (the ``[previous]`` roll call, or its
    committee act where reported) and the years from it to the vote.
    """
    previous = previous_codes(bundle.members, iso3)
    gap = np.zeros(len(iso3))  # years from each member's previous public act to the vote
    vote_day = pd.Timestamp(spec.resolution.date)
    if bundle.meta.get("previous_date"):
        gap[:] = (vote_day - pd.Timestamp(bundle.meta["previous_date"])).days / 365.25
        if spec.previous is not None and not spec.previous.same_text:
            gap[:] = np.maximum(gap, 1.0)  # another text: as much as next session's version
    for member, act in known.items():
        i = iso3.index(member)
        previous[i] = ACTS.index(act)
        gap[i] = (vote_day - pd.Timestamp(spec.committee.date)).days / 365.25
    return previous, gap


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
    its share of the draws to within one, whatever the seed.
    """
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
    rng = named_stream(seed, "item.by_title")
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


def _tremble(entry: dict[str, Any] | None) -> tuple[float, FloatArray] | None:
    """The bundle's tremble as (eps, base), or None if it has none (or a zero share)."""
    if not entry or not entry.get("eps"):
        return None
    return float(entry["eps"]), np.asarray(entry["base"], dtype=float)


def _lognormal(entry: dict[str, float]) -> Prior:
    return Prior("lognormal", (("median", entry["median"]), ("sigma", entry["sigma"])))


def _deal_draws(
    model: Any, deal: dict[str, Any] | None, n_draws: int, seed: int
) -> tuple[FloatArray, FloatArray | None, FloatArray, str]:
    """Draws of the deal: the value of support, the evasion elasticity (None: 1, the logit) and
    the readings of absence of each kind of ask (shape (n_draws, 2)), and where they come from.

    A scenario's ``[model]`` priors win; otherwise the bundle's posterior from earlier episodes
    (:mod:`sim.estimate.deal`), all drawn jointly with their covariance; otherwise the literature
    prior of the value of support, the plain logit, and the prior of the readings
    (:data:`sim.estimate.deal.READING`).
    """
    learnt = f"episodes {', '.join(deal['episodes'])}" if deal is not None else ""
    joint = _joint_deal_draws(deal, n_draws, seed) if deal is not None else None
    if joint is not None:
        readings = np.column_stack([joint["reading_not_support"], joint["reading_positive"]])
    else:
        centre, sd = READING.get("mean"), READING.get("sd")
        z = named_stream(seed, "readings").standard_normal((n_draws, 2))
        readings = expit(centre + sd * z)
    if joint is not None and model.support_value is None and model.evasion is None:
        return joint["support_value"], joint["evasion"], readings, learnt
    if deal is not None and joint is None and model.support_value is None and model.evasion is None:
        z = named_stream(seed, "deal").standard_normal((n_draws, 2))
        rho = float(np.clip(deal.get("correlation", 0.0), -0.999, 0.999))
        second = rho * z[:, 0] + np.sqrt(1.0 - rho**2) * z[:, 1]
        v, k = deal["support_value"], deal["evasion"]
        return (
            v["median"] * np.exp(v["sigma"] * z[:, 0]),
            k["median"] * np.exp(k["sigma"] * second),
            readings,
            learnt,
        )
    support_prior = model.support_value or (
        _lognormal(deal["support_value"]) if deal is not None else SUPPORT_VALUE
    )
    support_value = support_prior.sample(n_draws, rng=named_stream(seed, "support_value"))
    evasion_prior = model.evasion or (_lognormal(deal["evasion"]) if deal is not None else None)
    evasion = (
        None
        if evasion_prior is None
        else evasion_prior.sample(n_draws, rng=named_stream(seed, "evasion"))
    )
    source = "scenario [model]" if model.support_value or model.evasion else "literature prior"
    if deal is not None and not (model.support_value and model.evasion):
        source = f"{source} and {learnt}"
    return support_value, evasion, readings, source


def _joint_deal_draws(
    deal: dict[str, Any], n_draws: int, seed: int
) -> dict[str, FloatArray] | None:
    """Joint draws of every deal parameter from a posterior with a covariance (bundles made
    since the readings of absence were calibrated); None for an older posterior.
    """
    if "covariance" not in deal:
        return None
    names = deal["names"]
    cov = np.asarray(deal["covariance"], dtype=float)
    root = np.linalg.cholesky(cov + 1e-12 * np.eye(len(names)))
    z = named_stream(seed, "deal").standard_normal((n_draws, len(names))) @ root.T
    out = {}
    for k, name in enumerate(names):
        entry = deal[name]
        if entry.get("transform") == "logit":
            out[name] = expit(logit(entry["median"]) + z[:, k])
        else:
            out[name] = entry["median"] * np.exp(z[:, k])
    return out


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
        tie = event.tie.sample(n_draws, rng=named_stream(seed, f"event.{event.id}.tie"))
        tie = np.broadcast_to(tie[:, None], (n_draws, len(idx))).copy()
        if event.offer is not None:
            cred = event.offer.credibility.sample(
                n_draws, rng=named_stream(seed, f"event.{event.id}.credibility")
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
                m=reading(event.acts, absent=event.absence_reading or 0.0),
                weight=weight,
                offer_kind=kind,
                firm=firm,
                order=order,
                offer=offer,
                tie=tie,
                need=need,
                credibility=credibility,
                acts=tuple(event.acts),
                absence_reading=event.absence_reading,
            )
        )
    return out


@dataclass(frozen=True)
class AskAnswers:
    """Every candidate's answer to one ask, with and without it (same draws)."""

    setup: Any  # sim.model.setup.Setup with the event reaching every member
    ask: Any  # its AskSpec
    written: Any  # the event as the scenario writes it
    named: frozenset[str]  # the members the scenario's event reaches
    with_ask: FloatArray  # (draw, member, act)
    base: FloatArray
    candidates: IntArray  # member indices with a vote, not the patron
    moved: FloatArray  # (member, act): mean change in odds
    gain: FloatArray  # (candidate,): change in the patron's expected reading
    order: tuple[int, ...]  # positions in `candidates`, best first (ties by ISO3)


def ask_answers(
    scenario: Scenario, event: str, *, variant: str, n_draws: int, seed: int, calibration: Any
) -> AskAnswers:
    """Replay `variant` with `event` reaching every member and with it reaching none (MODEL.md
    §4, step 1 of the module docstring) and rank the candidates by their gain.
    """
    where = f"{scenario.path or scenario.name}"
    events = scenario.events(variant)
    written = next((e for e in events if e.id == event), None)
    if written is None or written.kind not in ("ask", "threat"):
        asks = [e.id for e in events if e.kind in ("ask", "threat")]
        what = "is not an event" if written is None else f"is a {written.kind}"
        raise ScenarioError(
            f"{where}: event {event!r} {what} of variant {variant!r}: expected an ask or a "
            f"threat ({', '.join(asks) or 'the variant has none'})"
        )
    # The same variant with the event reaching every member; the patron is left out by the
    # replay itself (nobody lobbies itself).
    widened = [e.model_copy(update={"targets": ["all"]}) if e.id == event else e for e in events]
    setup = build_setup(
        _reduced(scenario, variant, widened, description=f"{variant}, {event} to every member"),
        variant=variant,
        n_draws=n_draws,
        seed=seed,
        calibration=calibration,
    )
    without = replace(setup, asks=tuple(a for a in setup.asks if a.event_id != event))
    ask = next(a for a in setup.asks if a.event_id == event)

    replays = Replays(setup, seed)
    with_ask = replays.odds(setup.asks).copy()  # (draw, member, act)
    base = replays.odds(without.asks).copy()
    index = {c: i for i, c in enumerate(setup.iso3)}
    candidates = np.array(
        [index[c] for c in ask.target_iso3 if setup.available[index[c], :3].any()], dtype=np.int64
    )
    moved = (with_ask - base).mean(axis=0)  # (member, act): what the ask moves, per member
    gain = (moved @ ask.m)[candidates]
    order = sorted(
        range(len(candidates)), key=lambda k: (-round(gain[k], 12), setup.iso3[candidates[k]])
    )
    principal = scenario.spec.principals[written.principal or ""]
    named = event_targets(
        written, setup.members, principal_iso3=principal.iso3, known=committee_acts(scenario)
    )
    return AskAnswers(
        setup=setup, ask=ask, written=written, named=frozenset(named), with_ask=with_ask,
        base=base, candidates=candidates, moved=moved, gain=gain, order=tuple(order),
    )  # fmt: skip


def complete_addressees(
    scenario: Scenario, variant: str, *, seed: int = DEFAULT_SEED, calibration: Any = None
) -> tuple[Scenario, dict[str, tuple[str, ...]]]:
    """Fill in the addressees a source did not name, by the patron's best response.

    An ask or threat with ``addressees = N`` reached N members, of which the scenario names
    some (``targets``). The patron picks the rest as :func:`plan_targets` ranks them (the most
    votes moved, MODEL.md §4), among the members with a vote it does not already reach, given
    the variant's other events, at :data:`PATRON_DRAWS` draws of the root `seed`. Events are
    completed in timeline order, each given the lists completed before it.

    Returns
    -------
    (Scenario, dict)
        The scenario reduced to `variant` (its events resolved, every list complete, no
        ``addressees`` left), and for each completed event the members the patron picked, best
        first. The scenario comes back unchanged (and the dict empty) when no event of the
        variant has ``addressees``.

    Raises
    ------
    ScenarioError
        If an event names more members than its ``addressees``, or wants more than there are.
    """
    events = list(scenario.events(variant))
    if all(e.addressees is None for e in events):
        return scenario, {}
    where = f"{scenario.path or scenario.name}"
    resolved = [e.model_copy(update={"addressees": None}) for e in events]
    picked: dict[str, tuple[str, ...]] = {}
    for k, e in enumerate(events):
        if e.addressees is None:
            continue
        current = _reduced(scenario, variant, resolved)
        a = ask_answers(current, e.id, variant=variant, n_draws=PATRON_DRAWS, seed=seed,
                     calibration=calibration)  # fmt: skip
        ranked = [a.setup.iso3[a.candidates[j]] for j in a.order]
        rest = [c for c in ranked if c not in a.named]
        wanted = e.addressees - len(a.named)
        if wanted < 0 or wanted > len(rest):
            ids = [x.id for x in scenario.spec.events]
            key = f"events[{ids.index(e.id)}]" if e.id in ids else f"variants.{variant}.add"
            raise ScenarioError(
                f"{where}: {key} ({e.id}).addressees: expected {len(a.named)} (the members its "
                f"targets name) to {len(a.named) + len(rest)} (every member with a vote but "
                f"the patron); got {e.addressees}"
            )
        picked[e.id] = tuple(rest[:wanted])
        resolved[k] = resolved[k].model_copy(update={"targets": [*e.targets, *picked[e.id]]})
    return _reduced(scenario, variant, resolved), picked


def _reduced(
    scenario: Scenario, variant: str, events: list[Any], *, description: str | None = None
) -> Scenario:
    """`scenario` with only `variant`, whose events (already resolved) are `events`; the
    variant keeps its description unless one is given.
    """
    if description is None:
        declared = scenario.spec.variants.get(variant)
        description = declared.description if declared else ""
    spec = scenario.spec.model_copy(update={
        "events": events,
        "variants": {variant: Variant(description=description)},
        "default_variant": variant,
    })  # fmt: skip
    return replace(scenario, spec=spec)


#: Items fitted to a committee's tally, by (bundle, members, committee): the fit is
#: deterministic, and a replay would otherwise redo it for the patron's choice of addressees
#: (:func:`sim.run.prepare.complete_addressees`) and again for itself, as would every point of a
#: sweep and every offer of the bargaining game.
_COMMITTEE_ITEMS: dict[tuple[str, tuple[str, ...], str], dict[str, float]] = {}


#: Parameter draws behind a patron's choice of addressees (:func:`complete_addressees`): its
#: beliefs, the same whatever the number of draws of the replay that uses the choice.
PATRON_DRAWS = 1000
