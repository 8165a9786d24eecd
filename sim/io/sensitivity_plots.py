"""Figures of a sensitivity analysis: each key's indices, per output, with their intervals.

PNGs carry no timestamp, so reruns give the same bytes (as :mod:`sim.io.plots`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")
import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.io.results import atomic_write_bytes

__all__ = ["plot_sensitivity"]


def plot_sensitivity(table: pd.DataFrame, path: Path, *, outputs: Sequence[str]) -> None:
    """Bars of the indices of `outputs` (one panel each), with 95% intervals.

    Parameters
    ----------
    table : DataFrame
        :func:`sim.run.sensitivity.analyze`'s table (Sobol' ``S1``/``ST`` or Morris
        ``mu_star``/``sigma``).
    path : Path
        The PNG to write.
    outputs : sequence of str
        The outputs to draw (those without indices are skipped; if none has any, the first
        four outputs of the table).
    """
    sobol = "ST" in table.columns
    shown = [o for o in outputs if (table["output"] == o).any()]
    if not shown:  # none of those varied: the first outputs that did
        shown = list(dict.fromkeys(table["output"]))[:4]
    fig, axes = plt.subplots(
        len(shown) or 1, 1, figsize=(6.5, 1.2 + 1.3 * max(len(shown), 1)), squeeze=False
    )
    for ax, name in zip(axes[:, 0], shown, strict=False):
        rows = table[table["output"] == name]
        y = np.arange(len(rows))
        labels = [
            p.rsplit(".", 2)[-2] + "." + p.rsplit(".", 1)[-1] if "." in p else p
            for p in rows["parameter"]
        ]
        # Two bars per parameter: (column, its 95% half-width column or None, legend label).
        pair = (
            [("S1", "S1_conf", "first order S1"), ("ST", "ST_conf", "total ST")]
            if sobol
            else [("mu_star", "mu_star_conf", "mu*"), ("sigma", None, "sigma")]
        )
        for (column, conf, label), shift, colour in zip(
            pair, (-0.2, 0.2), ("#1b9e77", "#7570b3"), strict=True
        ):
            xerr = rows[conf] if conf else None
            ax.barh(y + shift, rows[column], 0.4, xerr=xerr, label=label, color=colour)
        if sobol:
            ax.set_xlim(min(0.0, float(rows["S1"].min()) - 0.05), 1.05)
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_title(name, fontsize="medium", loc="left")
    if shown:
        axes[0, 0].legend(fontsize="small", loc="lower right")
    axes[-1, 0].set_xlabel("Sobol' index" if sobol else "elementary effect")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
