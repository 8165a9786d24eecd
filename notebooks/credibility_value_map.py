# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Credibility × value of support: Ukraine's most likely act
#
# **Question.** How credible must Israel's offer of air defence be, and how much must support
# be worth to Ukraine, for the call to move Ukraine off yes, and where does it abstain, stay
# away or vote no?
#
# A sweep of the ICJ scenario over a grid of the offer's credibility (0 to 1) and the value of
# support (1 to 20 logits), every point replayed with the same seed (common random numbers), few
# draws per point.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from sim.core.acts import ACTS
from sim.run.designs import make_design
from sim.run.sweep import Sweep, run_sweep

CREDIBILITY = "events.netanyahu_call.offer.credibility"
SUPPORT = "model.support_value"
LEVELS, DRAWS = 7, 40
design = make_design([(CREDIBILITY, (0.0, 1.0)), (SUPPORT, (1.0, 20.0))], "grid", LEVELS, seed=1)
plan = Sweep(scenario=Path("../scenarios/icj_referral_2022.toml"), design=design, draws=DRAWS)
with tempfile.TemporaryDirectory() as out:
    points, members = run_sweep(plan, out)
ukr = members[members["iso3"] == "UKR"].reset_index(drop=True)
print(f"{len(points)} points, {DRAWS} draws each")

# %% [markdown]
# ## The map

# %%
cred = np.linspace(0.0, 1.0, LEVELS)
value = np.linspace(1.0, 20.0, LEVELS)
code = ukr["most_likely"].map({act: k for k, act in enumerate(ACTS)}).to_numpy()
grid = code.reshape(LEVELS, LEVELS)  # [credibility, support value]: the last key fastest
colours = ["#1b9e77", "#d95f02", "#7570b3", "#999999"]
fig, ax = plt.subplots(figsize=(6, 4.5))
ax.pcolormesh(
    value, cred, grid, cmap=ListedColormap(colours), vmin=-0.5, vmax=3.5, shading="nearest"
)
for k, act in enumerate(ACTS):
    where = np.argwhere(grid == k)
    if len(where):
        i, j = where.mean(axis=0)
        ax.text(np.interp(j, range(LEVELS), value), np.interp(i, range(LEVELS), cred),
                f"{act}\n({len(where)} points)", ha="center", va="center", color="white",
                fontweight="bold")  # fmt: skip
ax.set_xlabel("value of support (logits)")
ax.set_ylabel("credibility of the offer of air defence")
ax.set_title("Ukraine's most likely act on A/RES/77/247")
plt.show()

# %% [markdown]
# ## The regions as numbers
#
# The least credibility at which Ukraine's most likely act is no longer yes, for each value of
# support, and its odds there.

# %%
table = ukr.assign(credibility=ukr[CREDIBILITY], value=ukr[SUPPORT])
off_yes = table[table["most_likely"] != "yes"].sort_values(["value", "credibility"])
threshold = off_yes.groupby("value", as_index=False).first()
threshold[["value", "credibility", "most_likely", "p_yes", "p_abstain", "p_absent"]].round(3)

# %%
regions = {act: int((grid == k).sum()) for k, act in enumerate(ACTS)}
least = threshold.loc[threshold["credibility"].idxmin()]
print(
    f"Of {grid.size} points, Ukraine's most likely act is yes at {regions['yes']}, abstain at "
    f"{regions['abstain']}, absent at {regions['absent']} and no at {regions['no']}; the least "
    f"credibility that moves it off yes is {least['credibility']:.2f} (with support worth "
    f"{least['value']:.1f} logits)."
)

# %% [markdown]
# **Answer.** As printed above: Ukraine leaves yes for an abstention once the offer is credible
# enough for the value of support, the more valuable support the less credibility it takes;
# on this grid it never votes no and staying away is never its most likely act.
