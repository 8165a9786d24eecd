"""The analyst's workbench behind ``sim explore``: one prepared episode, answered per setting.

A :class:`Workbench` prepares a scenario's variant once (:func:`sim.run.replay.prepare`: the
draws, the calibrated members, the item) and keeps the first model's calm odds; a change of
:class:`Settings` (an offer's credibility and size, the value of support, a principal's weight)
rebuilds only the asks and the odds of the members they reach, so a setting answers in about a
tenth of a second at 1,000 draws (``benchmarks/bench_explore.py``). Every setting is a change to
the scenario file (:meth:`Workbench.overrides`): ``sim replay`` on the file so changed gives the
same odds, which ``tests/test_explore.py`` checks through a browser.

What the settings mean (all on the variant's timeline):

* ``credibility``: the credibility of the offer in event ``offer`` in every draw (a number in
  [0, 1], ``events.<offer>.offer.credibility``); firm from 0.5 on, as in the bargaining game;
* ``size``: the share of each target's need for the offered kind that the offer meets (1: all
  of it; the file's ``members.<ISO3>.security_needs.<kind>`` scaled, for the offer's targets);
* ``support_value``: the value of support in logit units in every draw (``model.support_value``;
  None: as calibrated on earlier episodes);
* ``tie``: the standing value of the relationship on every ask and threat of ``principal``
  (logit units, ``events.<id>.tie`` of each; None: as the file says).

The addressees the sources do not name (``addressees`` in an event) stay those the patron
picked for the file as written.

Examples
--------
>>> bench = Workbench("scenarios/icj_referral_2022.toml", n_draws=20, seed=1)
>>> settings = bench.defaults().but(credibility=0.9)
>>> view = bench.view(bench.model(settings))
>>> round(float(view.members.loc["UKR", ["p_yes", "p_no", "p_abstain", "p_absent"]].sum()), 9)
1.0
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import tomllib
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.acts import ACTS, FloatArray, IntArray
from sim.core.choice import principal_weight
from sim.core.margin import margin_pmf
from sim.core.tally import DecisionRule, Tally, decision_rule
from sim.io.scenario import Scenario, load_scenario, validate_scenario
from sim.model.assembly import AssemblyModel
from sim.model.setup import FIRM, AskSpec, Setup
from sim.run.replay import INTERVAL, TALLY_WORKERS, prepare
from sim.run.sweep import override

__all__ = ["ExploreModel", "Settings", "View", "Workbench"]


@dataclass(frozen=True)
class Settings:
    """What the analyst sets: a variant and the sliders (None: as the scenario says).

    Attributes
    ----------
    variant : str
    offer : str or None
        The event whose offer the credibility and size apply to (None: the variant has none).
    credibility : float or None
        The offer's credibility in every draw, in [0, 1].
    size : float
        The share of each target's need the offer meets (>= 0).
    support_value : float or None
        The value of support, logit units, in every draw (>= 0).
    principal : str or None
        The principal whose asks the weight applies to.
    tie : float or None
        The standing value of the relationship on each of the principal's asks, logit units.
    focal : str
        The member the page follows (no effect on the odds).
    """

    variant: str
    offer: str | None = None
    credibility: float | None = None
    size: float = 1.0
    support_value: float | None = None
    principal: str | None = None
    tie: float | None = None
    focal: str = ""

    def but(self, **changes: Any) -> Settings:
        """The same settings with `changes` (field name -> value)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class View:
    """What the page shows after a round: every member's odds, the tally, the margin.

    Attributes
    ----------
    step, n_rounds : int
        Rounds played (0: before the first ask) and rounds in all (the last is the vote).
    date : str
        The date of the round played last ("" before the first).
    members : DataFrame
        Indexed by ISO3: ``name, group`` (UN regional group), ``p_<act>`` (mean over draws) and
        ``p_<act>_q05``, ``p_<act>_q95`` (the 5-95% interval across draws).
    tally : Tally
    margins, margin_pmf : ndarray
        The exact distribution of ``D = yes - w * no`` (:func:`sim.core.margin.margin_pmf`).
    rule : DecisionRule
    """

    step: int
    n_rounds: int
    date: str
    members: pd.DataFrame
    tally: Tally
    margins: IntArray = field(repr=False)
    margin_pmf: FloatArray = field(repr=False)
    rule: DecisionRule

    @property
    def p_adopted(self) -> float:
        """The probability the resolution is adopted."""
        return self.tally.prob_pass()


class Workbench:
    """A scenario prepared once per variant, answered quickly for any :class:`Settings`.

    Parameters
    ----------
    scenario : Scenario or path
    n_draws, seed : int
        As for :func:`sim.run.replay.replay`.
    calibration : path, optional
        As for :func:`sim.run.replay.replay`.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path,
        *,
        n_draws: int = 1000,
        seed: int = 20221230,
        calibration: Path | None = None,
    ) -> None:
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.n_draws, self.seed, self.calibration = n_draws, seed, calibration
        self._setups: dict[tuple[str, bool], Setup] = {}
        self._calm: dict[str, AssemblyModel] = {}
        self._tied: dict[tuple[str, str | None, float], tuple[AskSpec, ...]] = {}
        self._lock = threading.RLock()  # the page's tabs share a workbench

    # -- the episode ---------------------------------------------------------------------
    @property
    def variants(self) -> tuple[str, ...]:
        """The scenario's variants, the default first."""
        return self.scenario.variants

    def setup(self, variant: str) -> Setup:
        """The prepared episode of `variant` (prepared on first use)."""
        key = (variant, False)
        with self._lock:  # one preparation per variant, whichever browser tab asks first
            if key not in self._setups:
                self._setups[key] = prepare(
                    self.scenario, variant=variant, n_draws=self.n_draws, seed=self.seed,
                    calibration=self.calibration,
                )  # fmt: skip
            return self._setups[key]

    def _evasion_for_fixed_value(self, variant: str) -> FloatArray | None:
        """The evasion draws of a replay whose file fixes ``model.support_value``: drawn alone
        from their prior rather than jointly with the value (:func:`sim.run.replay.prepare`).
        """
        key = (variant, True)
        with self._lock:
            if key not in self._setups:
                self._setups[key] = prepare(
                    self._patched({"model.support_value": 1.0}, variant), variant=variant,
                    n_draws=self.n_draws, seed=self.seed, calibration=self.calibration,
                )  # fmt: skip
            return self._setups[key].evasion

    def defaults(self, variant: str | None = None) -> Settings:
        """The settings of the file as written for `variant` (default: the default variant):
        the slider's offer is the variant's last ask with one, the principal that ask's.
        """
        variant = variant or self.scenario.spec.default_variant
        setup = self.setup(variant)
        offers = [a for a in setup.asks if a.offer_kind is not None]
        last = max(offers, key=lambda a: (a.date, a.order), default=None)
        principal = last.principal if last else (setup.asks[0].principal if setup.asks else None)
        focal = setup.focal[0] if setup.focal else setup.iso3[0]
        return Settings(
            variant=variant, offer=last.event_id if last else None, principal=principal,
            focal=focal,
        )  # fmt: skip

    def offer_prior_mean(self, settings: Settings) -> float | None:
        """The mean of the credibility prior the file gives the settings' offer (None
        without one): where the credibility slider starts.
        """
        ask = next((a for a in self.setup(settings.variant).asks if a.event_id == settings.offer),
                   None)  # fmt: skip
        return ask.credibility.mean() if ask is not None and ask.credibility else None

    def tie_prior_mean(self, settings: Settings) -> float:
        """The mean of the tie prior on the settings' principal's first ask in the file (0
        without one): where the weight slider starts.
        """
        events = self.scenario.events(settings.variant)
        ties = [
            e.tie.mean()
            for e in events
            if e.kind in ("ask", "threat") and e.principal == settings.principal
        ]
        return float(ties[0]) if ties else 0.0

    # -- answering -----------------------------------------------------------------------
    def configured(self, settings: Settings) -> Setup:
        """The prepared episode with the asks and deal `settings` give (no odds yet)."""
        setup = self.setup(settings.variant)
        value = setup.support_value
        evasion = setup.evasion
        if settings.support_value is not None:
            value = np.full(self.n_draws, float(settings.support_value))
            evasion = self._evasion_for_fixed_value(settings.variant)
        asks = tuple(self._ask(a, settings, value) for a in self._asks_at_tie(settings))
        return replace(setup, asks=asks, support_value=value, evasion=evasion)

    def _asks_at_tie(self, settings: Settings) -> tuple[AskSpec, ...]:
        """The variant's asks with the principal's ties as `settings` say: from a preparation
        of the file so changed (the patron may then pick other addressees), kept per value.
        """
        setup = self.setup(settings.variant)
        if settings.tie is None:
            return setup.asks
        key = (settings.variant, settings.principal, float(settings.tie))
        with self._lock:
            return self._tied_asks(key, setup)

    def _tied_asks(self, key: tuple[str, str | None, float], setup: Setup) -> tuple[AskSpec, ...]:
        variant, principal, tie = key
        if key not in self._tied:
            changes = {
                f"events.{a.event_id}.tie": tie for a in setup.asks if a.principal == principal
            }
            tied = prepare(
                self._patched(changes, variant), variant=variant, n_draws=self.n_draws,
                seed=self.seed, calibration=self.calibration,
            )  # fmt: skip
            self._tied[key] = tied.asks
        return self._tied[key]

    def _ask(self, ask: AskSpec, s: Settings, value: FloatArray) -> AskSpec:
        offer, firm = ask.offer, ask.firm
        if ask.event_id == s.offer and ask.credibility is not None:
            if s.credibility is not None:
                offer = np.full_like(ask.offer, s.credibility) * ask.need[None, :]
                firm = s.credibility >= FIRM
            offer = offer * s.size
        weight = principal_weight(offer, np.asarray(value, float)[:, None], ask.tie)
        return replace(ask, offer=offer, firm=firm, weight=weight)

    def model(self, settings: Settings, *, rounds: int | None = None) -> ExploreModel:
        """A model of the episode under `settings`, run `rounds` rounds (default: to the vote).

        Its calm odds are those of the variant's first model (:class:`AssemblyModel`'s
        ``calm_from``): only the members the asks reach are recomputed.
        """
        model = ExploreModel(self, settings)
        rounds = len(model.round_dates) if rounds is None else rounds
        if rounds:
            model.run_until(rounds)
        return model

    def calm_source(self, variant: str) -> AssemblyModel | None:
        """The variant's first model, whose calm odds later ones reuse (None before one)."""
        return self._calm.get(variant)

    def view(self, model: AssemblyModel) -> View:
        """What `model` gives after the rounds it has played: odds, tally, margin."""
        s = model.setup
        rule = decision_rule(s.scenario.spec.resolution.rule)
        tally = Tally.from_probabilities(model.odds, rule=rule, workers=TALLY_WORKERS)
        odds = tally.probabilities
        mean = odds.mean(axis=0)
        mean = mean / mean.sum(axis=1, keepdims=True)
        lo, hi = np.quantile(odds, INTERVAL, axis=0)
        frame = pd.DataFrame(
            {"name": [m.name for m in s.members], "group": [m.un_group for m in s.members]},
            index=pd.Index(s.iso3, name="iso3"),
        )
        for k, act in enumerate(ACTS):
            frame[f"p_{act}"] = mean[:, k]
            frame[f"p_{act}_q05"] = lo[:, k]
            frame[f"p_{act}_q95"] = hi[:, k]
        margins, pmf = margin_pmf(odds, rule=rule)
        step = model.steps
        return View(
            step=step, n_rounds=len(model.round_dates),
            date=model.round_dates[step - 1] if step else "", members=frame, tally=tally,
            margins=margins, margin_pmf=pmf, rule=rule,
        )  # fmt: skip

    # -- the same settings as a file -----------------------------------------------------
    def overrides(self, settings: Settings) -> dict[str, Any]:
        """The changes to the scenario file that `settings` amount to (dotted key -> value, as
        ``sim sweep --set`` takes them); empty for the file as written.
        """
        out: dict[str, Any] = {}
        setup = self.setup(settings.variant)
        ask = next((a for a in setup.asks if a.event_id == settings.offer), None)
        if ask is not None and ask.credibility is not None:
            if settings.credibility is not None:
                out[f"events.{ask.event_id}.offer.credibility"] = float(settings.credibility)
            if settings.size != 1.0:
                for iso3, need in zip(ask.target_iso3, ask.need, strict=True):
                    kind = ask.offer_kind
                    out[f"members.{iso3}.security_needs.{kind}"] = float(need * settings.size)
        if settings.support_value is not None:
            out["model.support_value"] = float(settings.support_value)
        if settings.tie is not None:
            for a in setup.asks:
                if a.principal == settings.principal:
                    out[f"events.{a.event_id}.tie"] = float(settings.tie)
        return out

    def scenario_for(self, settings: Settings) -> Scenario:
        """The scenario file changed as `settings` say (:meth:`overrides`), validated: replay
        it to check the workbench (the variant's own patches of the same keys are overridden
        too).
        """
        return self._patched(self.overrides(settings), settings.variant)

    def _patched(self, changes: dict[str, Any], variant: str | None = None) -> Scenario:
        """The file with `changes`; a change to an event `variant` patches is made to its patch
        too (the patch would otherwise win).
        """
        changes = dict(changes)
        patch = self.scenario.spec.variants.get(variant or "")
        if patch is not None:
            for key, value in list(changes.items()):
                parts = key.split(".")
                if parts[0] == "events" and parts[1] in patch.patch:
                    changes[".".join(["variants", str(variant), "patch", *parts[1:]])] = value
        raw = copy.deepcopy(self._raw)
        for key, value in changes.items():
            raw = override(raw, key, value, where=str(self.scenario.path or self.scenario.name))
        content = json.dumps(raw, sort_keys=True, default=str).encode()
        return validate_scenario(
            raw, sha256=hashlib.sha256(content).hexdigest(), path=self.scenario.path
        )

    @cached_property
    def _raw(self) -> dict[str, Any]:
        if self.scenario.path is None:
            raise ValueError("the workbench needs a scenario read from a file to change it")
        return tomllib.loads(Path(self.scenario.path).read_text(encoding="utf-8"))


class ExploreModel(AssemblyModel):
    """The Assembly under a workbench's settings: what ``sim explore`` steps through.

    Built from the workbench's prepared episode with only the asks and deal changed, so it
    reuses the calm odds of the variant's first model. Mesa's ``SolaraViz`` rebuilds it with
    the same keywords on *Reset*.

    Parameters
    ----------
    workbench : Workbench
    settings : Settings, optional
        Default: the file as written, default variant.
    rng : optional
        Ignored beyond Mesa's activation order (the odds do not depend on it); default: the
        workbench's seed, as :func:`sim.run.replay.replay`.
    """

    def __init__(
        self, workbench: Workbench, settings: Settings | None = None, *, rng: Any = None
    ) -> None:
        settings = settings or workbench.defaults()
        self.workbench, self.settings = workbench, settings
        if rng is None:
            rng = np.random.default_rng(np.random.SeedSequence(workbench.seed))
        super().__init__(
            workbench.configured(settings), rng=rng,
            calm_from=workbench.calm_source(settings.variant),
        )  # fmt: skip
        with workbench._lock:
            workbench._calm.setdefault(settings.variant, self)  # the later models' calm odds
