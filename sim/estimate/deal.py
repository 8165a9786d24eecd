"""Deal parameters calibrated on earlier episodes: what support is worth, and how attendance
answers pressure.

MODEL.md §6 gives the deal parameters priors from the literature. Where a scenario names earlier
episodes (``[calibration] episodes``: other scenario files, each replaying a roll call that is in
the data), those priors are updated by the members' recorded acts on those roll calls, replayed
by the same model with their own cited events. Four parameters are calibrated:

* ``support_value``: the logit value of a firm commitment of a member's top security need
  (:data:`sim.estimate.deal.SUPPORT_VALUE`; the weight of an ask is
  ``credibility * need * support_value + tie``);
* ``evasion``: how strongly attendance answers the change the asks make to the value of voting.
  With ``L`` the log-odds of voting at all (``log sum_votes exp U - U(absent)``), an ask moves
  it from its calm value ``L0`` to ``L0 + evasion * (L - L0)`` (:mod:`sim.model.assembly`). 1 is the
  plain logit of MODEL.md §3; below 1, as in a nested logit whose votes share a nest, pressure
  moves members between the votes more than out of the hall; above 1, pressure that leaves
  every vote costly drives members away (Morse & Coggins 2024 on absence as an escape);
* ``reading_not_support`` and ``reading_positive``: how a principal reads an absence, by the kind
  of its ask (MODEL.md §3, :func:`sim.core.choice.ask_kind`): an ask not to support a text gets
  part of what it wants from an absence (partial compliance in (0, 1)); an ask for a positive
  act reads it as the episodes say, in the same family.

The posterior is found by maximising ``log prior + sum over episodes of log-likelihood`` over
the parameters made unbounded (logs and logits); its curvature gives a normal in those (a
Laplace approximation) from which a replay draws them jointly. An episode's likelihood scores
its members' recorded acts jointly, averaged over ``EPISODE_DRAWS`` draws of what they share
(:func:`episode_loglik`), with its offers at their mean credibility
(:func:`sim.run.calibrate.load_episodes`). An episode must be dated before the scenario's vote:
the model only learns from what happened before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from scipy import optimize

from sim.core.acts import FloatArray, IntArray
from sim.core.derivatives import hessian
from sim.core.threads import single_blas_thread
from sim.io.scenario import Prior
from sim.model.assembly import AssemblyModel

#: Prior of the value (logit units) of a firm commitment of a member's top security need (need 1,
#: credibility 1). Median 2: delivered for certain, such support turns a 50:50 choice between two
#: acts into 88:12, the scale at which the aid-for-votes literature finds votes move at the
#: margin (Kuziemko & Werker 2006; Dreher, Nunnenkamp & Thiele 2008; FACTS.md §3); a factor
#: e^0.5 either way covers one sd. Scenarios may override it in ``[model] support_value``.
SUPPORT_VALUE = Prior("lognormal", (("median", 2.0), ("sigma", 0.5)))


#: Prior of the evasion elasticity: the plain logit (1), within a factor e either way.
EVASION = Prior("lognormal", (("median", 1.0), ("sigma", 1.0)))


#: Search box for (log support_value, log evasion).
_BOUNDS = [(np.log(0.05), np.log(500.0)), (np.log(0.02), np.log(50.0))]


@dataclass(frozen=True)
class Episode:
    """An earlier episode prepared for calibration: its replay setup and the recorded acts.

    Attributes
    ----------
    name : str
    setup : sim.model.setup.Setup
        The episode's default variant, ``EPISODE_DRAWS`` draws.
    acts : ndarray of int, shape (n_members,)
        Each member's recorded act on the episode's roll call (index into ``ACTS``); -1 where
        the member is not in the data (not scored).
    calm : sim.model.assembly.AssemblyModel
        A model of the setup, built once: the calm odds every likelihood evaluation shares
        (they do not depend on the deal).
    """

    name: str
    setup: Any
    acts: IntArray

    @cached_property
    def calm(self) -> Any:
        """The episode without its asks (the calm replay), run once and kept."""
        return AssemblyModel(self.setup, rng=np.random.default_rng(EPISODE_SEED))


def log_credibility_moments(prior: Prior) -> tuple[float, float]:
    """Mean and variance of ``log(credibility)`` under its prior (exact for beta and fixed,
    else from a fixed sample of 200,000).
    """
    from scipy.special import digamma, polygamma

    if prior.dist == "fixed":
        return float(np.log(max(prior.get("value"), 1e-300))), 0.0
    if prior.dist == "beta":
        a, b = prior.get("a"), prior.get("b")
        return (
            float(digamma(a) - digamma(a + b)),
            float(polygamma(1, a) - polygamma(1, a + b)),
        )
    draws = np.log(np.clip(prior.sample(200_000, rng=np.random.default_rng(0)), 1e-12, None))
    return float(draws.mean()), float(draws.var())


def _credibility_shift(episodes: Sequence[Episode]) -> tuple[float, float]:
    """How an episode's unknown credibility moves and spreads log(support value), averaged
    over the episodes' offers: the fit holds credibility at its mean ``c``, the truth is a draw
    ``C``, so ``log value = log fitted + log c - log C``.
    """
    shifts, variances = [], []
    for episode in episodes:
        for ask in episode.setup.asks:
            if ask.credibility is None or not np.any(ask.need):
                continue
            mean_log, var_log = log_credibility_moments(ask.credibility)
            shifts.append(np.log(ask.credibility.mean()) - mean_log)
            variances.append(var_log)
    if not shifts:
        return 0.0, 0.0
    return float(np.mean(shifts)), float(np.mean(variances)) / len(episodes)


def episode_loglik(
    episode: Episode,
    *,
    support_value: float,
    evasion: float,
    readings: Sequence[float] | None = None,
) -> float:
    """Log-likelihood of the episode's recorded acts at one value of the deal parameters.

    The members' acts are scored jointly: ``log mean_d prod_i P_d(act_i)`` over the episode's
    draws ``d`` of its other uncertain parameters. Within a draw the members are independent;
    across draws they share what is common to them (an event's credibility and tie, the group
    shocks, the item), so one episode says how much its principal's pressure weighed, not how
    credible such pressure is in general. Members not in the data are not scored.

    `readings` are the readings of absence of each kind of ask (:data:`sim.core.choice.ASK_KINDS`);
    None keeps the setup's.
    """
    from scipy.special import logsumexp

    model = episode_model(episode, support_value=support_value, evasion=evasion, readings=readings)
    scored = np.flatnonzero(episode.acts >= 0)
    p = model.odds[:, scored, episode.acts[scored]]  # (draw, scored member)
    per_draw = np.log(np.clip(p, 1e-300, None)).sum(axis=1)
    return float(logsumexp(per_draw) - np.log(episode.setup.n_draws))


def episode_model(
    episode: Episode,
    *,
    support_value: float,
    evasion: float,
    readings: Sequence[float] | None = None,
) -> AssemblyModel:
    """The episode's model run at one value of the deal parameters (every draw the same)."""
    n = episode.setup.n_draws
    setup = episode.setup.with_deal(
        support_value=np.full(n, support_value),
        evasion=np.full(n, evasion),
        readings=None if readings is None else np.tile(np.asarray(readings, float), (n, 1)),
    )
    model = AssemblyModel(setup, rng=np.random.default_rng(EPISODE_SEED), calm_from=episode.calm)
    model.run()
    return model


#: The deal's parameters in the order of :func:`fit_deal`'s search, with the transform that makes
#: each unbounded (``log`` on (0, inf), ``logit`` on (0, 1)).
DEAL_PARAMETERS = (
    ("support_value", "log"),
    ("evasion", "log"),
    ("reading_not_support", "logit"),
    ("reading_positive", "logit"),
)

#: Prior of each reading of absence: logit-normal, centre 0.5, logit-sd 1.5 (wide on (0, 1): its
#: central 90% spans 0.08 to 0.92). MODEL.md §3 says only that an ask not to support a text reads
#: absence as partial compliance, between the opposed act and the asked ones.
READING = Prior("normal", (("mean", 0.0), ("sd", 1.5)))

_DEAL_BOUNDS = [*_BOUNDS, (-6.0, 6.0), (-6.0, 6.0)]


def _forward(z: FloatArray) -> dict[str, float]:
    from scipy.special import expit

    return {
        name: float(np.exp(v) if how == "log" else expit(v))
        for (name, how), v in zip(DEAL_PARAMETERS, z, strict=True)
    }


def _centre_sd(prior: Prior) -> tuple[float, float]:
    if prior.dist == "lognormal":
        return float(np.log(prior.get("median"))), float(prior.get("sigma"))
    if prior.dist == "normal":
        return float(prior.get("mean")), float(prior.get("sd"))
    raise ValueError("deal priors are lognormal (a median and a sigma) or normal on the logit")


@single_blas_thread
def fit_deal(
    episodes: Sequence[Episode],
    *,
    support_prior: Prior,
    evasion_prior: Prior = EVASION,
    reading_prior: Prior = READING,
) -> dict[str, Any]:
    """Posterior of the deal given the episodes' recorded acts: the value of support, the
    evasion elasticity and the readings of absence of each kind of ask.

    Parameters
    ----------
    episodes : sequence of Episode
    support_prior, evasion_prior : Prior
        Lognormal priors (MODEL.md §6: from the literature).
    reading_prior : Prior
        Normal prior of each reading's logit (:data:`READING`).

    Returns
    -------
    dict
        Per parameter of :data:`DEAL_PARAMETERS`, ``{"median", "sigma", "transform"}`` of its
        marginal (``sigma`` of its log or logit); ``names`` and ``covariance`` of the transformed
        parameters (a Laplace approximation, from which a replay draws them jointly);
        ``correlation`` of the first two (as bundles made before the readings held);
        ``loglik`` at the posterior mode and ``loglik_prior`` at the prior centres (summed over
        episodes); ``episodes`` (names) and ``n_members`` scored.
    """
    priors = [_centre_sd(p) for p in (support_prior, evasion_prior, reading_prior, reading_prior)]
    centre = np.array([c for c, _ in priors])
    spread = np.array([sd for _, sd in priors])

    def total(z: FloatArray) -> float:
        d = _forward(z)
        return float(sum(
            episode_loglik(
                e, support_value=d["support_value"], evasion=d["evasion"],
                readings=(d["reading_not_support"], d["reading_positive"]),
            )
            for e in episodes
        ))  # fmt: skip

    def log_posterior(z: FloatArray) -> float:
        return total(z) - 0.5 * float((((z - centre) / spread) ** 2).sum())

    res = optimize.minimize(
        lambda t: -log_posterior(t), centre, method="L-BFGS-B", bounds=_DEAL_BOUNDS,
        options={"eps": 1e-4, "ftol": 1e-10, "maxiter": 200},
    )  # fmt: skip
    mode = res.x
    precision = -hessian(log_posterior, mode, step=0.02)
    try:
        cov = np.linalg.inv(precision)
        if np.any(np.linalg.eigvalsh(cov) <= 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:  # flat or saddle: keep the prior's spread
        cov = np.diag(spread**2)
    sd = np.sqrt(np.diag(cov))
    at_mode = _forward(mode)
    shift, cred_spread = _credibility_shift(episodes)
    out: dict[str, Any] = {}
    for k, (name, how) in enumerate(DEAL_PARAMETERS):
        out[name] = {"median": at_mode[name], "sigma": float(sd[k]), "transform": how}
    value = at_mode["support_value"]
    out["support_value"].update(
        median=float(value * np.exp(shift)),
        sigma=float(np.sqrt(sd[0] ** 2 + cred_spread)),
        at_mean_credibility=value,
    )
    cov = cov.copy()
    cov[0, 0] = sd[0] ** 2 + cred_spread
    out.update(
        names=[name for name, _ in DEAL_PARAMETERS],
        covariance=cov.tolist(),
        correlation=float(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])),
        loglik=total(mode),
        loglik_prior=total(centre),
        episodes=[e.name for e in episodes],
        n_members=int(sum((e.acts >= 0).sum() for e in episodes)),
        converged=bool(res.success),
    )
    return out


#: Parameter draws of an episode's own uncertain parameters (ideal points, credibility, ties,
#: shocks) over which its members' odds are averaged, and their seed.
EPISODE_DRAWS = 400


EPISODE_SEED = 20_200_101
