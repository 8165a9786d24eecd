"""sim: vote trading for security support in the UN General Assembly.

The Python API for scenario scripts::

    import sim
    scenario = sim.load_scenario("scenarios/icj_referral_2022.toml")
    result = sim.replay(scenario, variant="no_call", n_draws=2000, seed=1)
    result.members            # DataFrame: iso3, name, p_yes, p_no, p_abstain, p_absent, ...
    result.tally.prob_pass()  # exact probability of adoption
    result.write("results/icj_referral_2022/no_call")

Sweeps over values of the scenario file's keys: :mod:`sim.sweep` (``sim sweep`` on the command
line).
"""

from sim.acts import ACTS
from sim.replay import ReplayResult, replay
from sim.scenario import Scenario, load_scenario

__all__ = ["ACTS", "ReplayResult", "Scenario", "__version__", "load_scenario", "replay"]
__version__ = "0.1.0"
