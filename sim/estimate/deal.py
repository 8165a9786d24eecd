"""Deal parameters calibrated on earlier episodes: what support is worth, and how attendance
answers pressure.

MODEL.md §6 gives the deal parameters priors from the literature. Where a scenario names earlier
episodes (``[calibration] episodes``: other scenario files, each replaying a roll call that is in
the data), those priors are updated by the members' recorded acts on those roll calls, replayed
by the same model with their own cited events. Two parameters are calibrated:

* ``support_value``: the logit value of a firm commitment of a member's top security need
  (:data:`sim.estimate.deal.SUPPORT_VALUE`; the weight of an ask is
  ``credibility * need * support_value + tie``);
* ``evasion``: how strongly attendance answers the change the asks make to the value of voting.
  With ``L`` the log-odds of voting at all (``log sum_votes exp U - U(absent)``), an ask moves
  it from its calm value ``L0`` to ``L0 + evasion * (L - L0)`` (:mod:`sim.model.assembly`). 1 is the
  plain logit of MODEL.md §3; below 1, as in a nested logit whose votes share a nest, pressure
  moves members between the votes more than out of the hall; above 1, pressure that leaves
  every vote costly drives members away (Morse & Coggins 2024 on absence as an escape).

The posterior is found by maximising ``log prior + sum over episodes of log-likelihood`` over
``(log support_value, log evasion)``; its curvature gives a bivariate normal in the logs (a
Laplace approximation) from which a replay draws both jointly. An episode's likelihood scores
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


def episode_loglik(episode: Episode, *, support_value: float, evasion: float) -> float:
    """Log-likelihood of the episode's recorded acts at one value of the two parameters.

    The members' acts are scored jointly: ``log mean_d prod_i P_d(act_i)`` over the episode's
    draws ``d`` of its other uncertain parameters. Within a draw the members are independent;
    across draws they share what is common to them (an event's credibility and tie, the group
    shocks, the item), so one episode says how much its principal's pressure weighed, not how
    credible such pressure is in general. Members not in the data are not scored.
    """
    from scipy.special import logsumexp

    n = episode.setup.n_draws
    setup = episode.setup.with_deal(
        support_value=np.full(n, support_value), evasion=np.full(n, evasion)
    )
    model = AssemblyModel(setup, rng=np.random.default_rng(EPISODE_SEED), calm_from=episode.calm)
    model.run()
    scored = np.flatnonzero(episode.acts >= 0)
    p = model.odds[:, scored, episode.acts[scored]]  # (draw, scored member)
    per_draw = np.log(np.clip(p, 1e-300, None)).sum(axis=1)
    return float(logsumexp(per_draw) - np.log(n))


def _log_prior(theta: FloatArray, priors: tuple[Prior, Prior]) -> float:
    total = 0.0
    for t, prior in zip(theta, priors, strict=True):
        if prior.dist != "lognormal":
            raise ValueError("deal priors are lognormal (a median and a sigma)")
        total += -0.5 * ((t - np.log(prior.get("median"))) / prior.get("sigma")) ** 2
    return total


def fit_deal(
    episodes: Sequence[Episode], *, support_prior: Prior, evasion_prior: Prior = EVASION
) -> dict[str, Any]:
    """Posterior of (support_value, evasion) given the episodes' recorded acts.

    Parameters
    ----------
    episodes : sequence of Episode
    support_prior, evasion_prior : Prior
        Lognormal priors (MODEL.md §6: from the literature).

    Returns
    -------
    dict
        ``support_value`` and ``evasion``, each ``{"median", "sigma"}`` of its lognormal
        marginal; ``correlation`` of the two logs; ``loglik`` at the posterior mode and
        ``loglik_prior`` at the prior medians (summed over episodes); ``episodes`` (names) and
        ``n_members`` scored.
    """
    priors = (support_prior, evasion_prior)

    def log_posterior(theta: FloatArray) -> float:
        v, k = np.exp(theta)
        ll = sum(episode_loglik(e, support_value=float(v), evasion=float(k)) for e in episodes)
        return ll + _log_prior(theta, priors)

    start = np.log([support_prior.get("median"), evasion_prior.get("median")])
    res = optimize.minimize(
        lambda t: -log_posterior(t), start, method="L-BFGS-B", bounds=_BOUNDS,
        options={"eps": 1e-4, "ftol": 1e-12, "maxiter": 200},
    )  # fmt: skip
    mode = res.x
    precision = -hessian(log_posterior, mode, step=0.02)
    try:
        cov = np.linalg.inv(precision)
        if np.any(np.linalg.eigvalsh(cov) <= 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:  # flat or saddle: keep the prior's spread
        cov = np.diag([support_prior.get("sigma") ** 2, evasion_prior.get("sigma") ** 2])
    sd = np.sqrt(np.diag(cov))

    def total(v: float, k: float) -> float:
        return float(sum(episode_loglik(e, support_value=v, evasion=k) for e in episodes))

    v, k = (float(x) for x in np.exp(mode))
    shift, spread = _credibility_shift(episodes)
    return {
        "support_value": {
            "median": float(v * np.exp(shift)),
            "sigma": float(np.sqrt(sd[0] ** 2 + spread)),
            "at_mean_credibility": v,
        },
        "evasion": {"median": k, "sigma": float(sd[1])},
        "correlation": float(cov[0, 1] / (sd[0] * sd[1])),
        "loglik": total(v, k),
        "loglik_prior": total(support_prior.get("median"), evasion_prior.get("median")),
        "episodes": [e.name for e in episodes],
        "n_members": int(sum((e.acts >= 0).sum() for e in episodes)),
        "converged": bool(res.success),
    }


#: Parameter draws of an episode's own uncertain parameters (ideal points, credibility, ties,
#: shocks) over which its members' odds are averaged, and their seed.
EPISODE_DRAWS = 400


EPISODE_SEED = 20_200_101
