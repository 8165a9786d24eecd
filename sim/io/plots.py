"""Figures: a replay's odds and tally, sweeps, the games, and the panels of ``sim explore``.

One house style for every figure (:data:`STYLE`, applied by :func:`house_style`): the four
acts always in the same colours (:data:`COLOURS`), intervals as 5-95% across parameter draws,
what a scenario records drawn in black and marked "recorded (not an input)". File figures are
written next to the result files; PNGs carry no timestamp or software tag, so reruns give the
same bytes. The ``*_figure`` functions return a :class:`matplotlib.figure.Figure` for the
browser page instead of writing a file; the page itself keeps one :class:`Panel` of each kind
per browser tab and updates it in place.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.core.acts import ACTS
from sim.io.results import atomic_write_bytes
from sim.io.scenario import CREDIBILITY_LEVELS, Prior

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COLOURS",
    "GROUP_COLOURS",
    "STYLE",
    "MarginPanel",
    "OddsPanel",
    "Panel",
    "RoundsPanel",
    "StripPanel",
    "house_style",
    "margin_figure",
    "odds_figure",
    "plot_bargain",
    "plot_calibration",
    "plot_episode_acts",
    "plot_frontier",
    "plot_member_odds",
    "plot_sweep",
    "plot_sweep_heatmap",
    "plot_tally",
    "plot_targets",
    "plot_variants",
    "strip_figure",
    "sweep_axis",
]

COLOURS = {"yes": "#1b9e77", "no": "#d95f02", "abstain": "#7570b3", "absent": "#999999"}
#: The UN regional groups: a member's bloc in the strip of all members.
GROUP_COLOURS = {
    "African": "#e6ab02",
    "Asia-Pacific": "#66a61e",
    "Eastern European": "#e7298a",
    "GRULAC": "#a6761d",
    "WEOG": "#1f78b4",
}
#: What a scenario records (never an input): drawn in black, labelled so.
RECORDED = "recorded (not an input)"
METADATA = {"Software": None}

#: The house style of every figure (matplotlib rc parameters; :func:`house_style`).
STYLE: dict[str, Any] = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.6,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "figure.titlesize": 11,
}


@contextlib.contextmanager
def house_style() -> Iterator[None]:
    """Draw inside with the house style (:data:`STYLE`)."""
    with plt.rc_context(STYLE):
        yield


def _styled[**P, R](draw: Callable[P, R]) -> Callable[P, R]:
    """Run a figure function in the house style."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with house_style():
            return draw(*args, **kwargs)

    return wrapper


def save_figure(fig: Figure, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata=METADATA, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def _stacked(ax: plt.Axes, labels: Sequence[str], odds: np.ndarray) -> None:
    left = np.zeros(len(labels))
    for k, act in enumerate(ACTS):
        ax.barh(labels, odds[:, k], left=left, color=COLOURS[act], label=act)
        left += odds[:, k]
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("probability")
    ax.legend(ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.15))


@_styled
def plot_member_odds(result: Any, path: Path) -> None:
    """Each focal member's probability of each act, with its 5-95% interval across draws; the
    act the scenario records for a member (``[outcome] acts``), if any, ringed in black.
    """
    s = result.setup
    members = result.members.set_index("iso3").loc[list(s.focal)]
    spec = s.scenario.spec
    recorded = dict(spec.outcome.acts) if spec.outcome is not None else {}
    labels = [f"{i} {n}" for i, n in zip(s.focal, members["name"], strict=True)]
    fig = _odds_panels(members, labels, recorded)
    fig.suptitle(f"{spec.resolution.symbol}, variant {s.variant}: odds of each act (5-95%)")
    save_figure(fig, path)


def _odds_panels(
    members: pd.DataFrame,
    labels: Sequence[str],
    recorded: Mapping[str, str],
    *,
    width: float = 10.0,
) -> Figure:
    """One panel per act: a dot per member at its mean, a bar over its 5-95% interval, a black
    ring where the scenario records that act for the member.
    """
    fig = Figure(figsize=(width, 0.32 * len(labels) + 1.5), layout="constrained")
    axes = fig.subplots(1, len(ACTS), sharey=True)
    y = np.arange(len(labels))
    ringed = False
    for ax, act in zip(axes, ACTS, strict=True):
        mean = members[f"p_{act}"].to_numpy()
        lo, hi = members[f"p_{act}_q05"].to_numpy(), members[f"p_{act}_q95"].to_numpy()
        ax.hlines(y, lo, hi, color=COLOURS[act], linewidth=4, alpha=0.4)
        ax.plot(mean, y, "o", color=COLOURS[act], markersize=5)
        for k, iso3 in enumerate(members.index):
            if recorded.get(str(iso3)) == act:
                ax.plot([mean[k]], [k], "o", markersize=12, fillstyle="none", color="black",
                        markeredgewidth=1.3, label=None if ringed else RECORDED)  # fmt: skip
                ringed = True
        ax.set_xlim(-0.03, 1.03)
        ax.set_xticks([0, 0.5, 1])
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.grid(axis="y", visible=False)
        ax.set_title(act, color=COLOURS[act])
        ax.set_xlabel("probability")
    axes[0].set_yticks(y, labels)
    if ringed:
        fig.legend(loc="outside lower center")
    return fig


@_styled
def plot_tally(result: Any, path: Path) -> None:
    """The exact distribution of each act's count, one panel each on its own axis (at most five
    ticks); the recorded tally, if any, as a black dashed line, in one legend below.
    """
    spec = result.setup.scenario.spec
    fig = Figure(figsize=(11, 3.1), layout="constrained")
    axes = fig.subplots(1, 4)
    recorded = None
    if spec.outcome is not None:
        recorded = spec.outcome.tally.counts()
    means = result.tally.mean()
    for ax, act in zip(axes, ACTS, strict=True):
        pmf = result.tally.marginal(act)
        lo, hi = result.tally.interval(act, 0.999)
        if recorded is not None:
            lo, hi = min(lo, recorded[act] - 2), max(hi, recorded[act] + 2)
        lo, hi = max(lo, 0), min(hi, len(pmf) - 1)
        counts = np.arange(len(pmf))
        ax.bar(counts[lo : hi + 1], pmf[lo : hi + 1], width=1.0, color=COLOURS[act])
        if recorded is not None:
            ax.axvline(recorded[act], color="black", linestyle="--", linewidth=1,
                       label=RECORDED if act == ACTS[0] else None)  # fmt: skip
        q05, q95 = result.tally.interval(act)
        ax.set_title(f"{act}: {means[act]:.1f} ({q05}-{q95})", color=COLOURS[act])
        ax.set_xlabel("members")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    axes[0].set_ylabel("probability")
    if recorded is not None:
        fig.legend(loc="outside lower center")
    fig.suptitle(
        f"{spec.resolution.symbol}, variant {result.setup.variant}: exact tally, expected count "
        f"(90% interval); P(adopted) = {result.tally.prob_pass():.3f}"
    )
    save_figure(fig, path)


@_styled
def plot_variants(results: Sequence[Any], iso3: str, path: Path) -> None:
    """One member's odds under each variant, stacked bars (e.g. Ukraine in the ICJ episode)."""
    labels = [r.setup.variant for r in results]
    odds = np.array([[r.member(iso3)[f"p_{a}"] for a in ACTS] for r in results])
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(results) + 1.5))
    _stacked(ax, labels, odds)
    name = results[0].member(iso3)["name"]
    ax.set_title(f"{name}: odds of each act by variant")
    save_figure(fig, path)


@_styled
def plot_calibration(predictions: Any, path: Path, *, methods: Sequence[str] = ("model",)) -> None:
    """Predicted vs observed frequency of each act (10 bins), one panel per act."""
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.3))
    bins = np.linspace(0, 1, 11)
    for ax, act in zip(axes, ACTS, strict=True):
        observed = (predictions["act"] == act).to_numpy()
        for method in methods:
            p = predictions[f"{method}_{act}"].to_numpy()
            which = np.clip(np.digitize(p, bins) - 1, 0, 9)
            x = [p[which == b].mean() for b in range(10) if (which == b).any()]
            y = [observed[which == b].mean() for b in range(10) if (which == b).any()]
            ax.plot(x, y, marker="o", label=method)
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
        ax.set_title(act)
        ax.set_xlabel("predicted")
    axes[0].set_ylabel("observed frequency")
    axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle("Calibration of member-vote predictions (rolling origin)", y=1.04)
    save_figure(fig, path)


def sweep_axis(values: Sequence[Any]) -> tuple[np.ndarray, list[str]] | None:
    """Positions on a numeric axis for a swept key's values, and their labels: numbers as they
    are, the credibility words (``talks``, ``firm``, ``none``) at their prior means, a prior
    table at its mean; None if some value has no number (the axis is then categorical).

    Examples
    --------
    >>> sweep_axis([0.0, "talks", 0.5, "firm"])
    (array([0.  , 0.25, 0.5 , 0.9 ]), ['0', 'talks (0.25)', '0.5', 'firm (0.9)'])
    """
    positions, labels = [], []
    for value in values:
        if isinstance(value, str) and value.startswith("{"):
            value = json.loads(value)  # a prior table, as the sweep's tables hold it
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float | np.integer | np.floating):
            positions.append(float(value))
            labels.append(f"{float(value):g}")
        elif isinstance(value, str) and value in CREDIBILITY_LEVELS:
            mean = CREDIBILITY_LEVELS[value].mean()
            positions.append(mean)
            labels.append(f"{value} ({mean:g})")
        elif isinstance(value, dict) and "dist" in value:
            params = tuple((k, float(v)) for k, v in value.items() if k != "dist")
            try:
                mean = Prior(str(value["dist"]), params).mean()
            except (KeyError, TypeError, ValueError):
                return None
            positions.append(mean)
            labels.append(f"{value['dist']} ({mean:.3g})")
        else:
            return None
    return np.asarray(positions, dtype=float), labels


def _axis_or_categories(values: Sequence[Any]) -> tuple[np.ndarray, list[str], bool]:
    """:func:`sweep_axis`, or evenly spaced categories (numeric: False)."""
    axis = sweep_axis(values)
    if axis is None:
        return np.arange(len(values), dtype=float), [str(v) for v in values], False
    return axis[0], axis[1], True


@_styled
def plot_sweep(points: Any, members: Any, key: str, iso3: str, path: Path) -> None:
    """One focal member's odds (top, with 5-95% bands where the sweep's table has them) and the
    probability of adoption (bottom) along a sweep of one key, on a numeric axis where the
    values are numbers or credibility words (``talks``, ``firm`` at their prior means).

    ``points`` and ``members`` are the tables of :func:`sim.run.sweep.run_sweep`.
    """
    rows = members[members["iso3"] == iso3]
    x, labels, numeric = _axis_or_categories(list(rows[key]))
    order = np.argsort(x, kind="stable")
    fig = Figure(figsize=(7, 5.6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    for act in ACTS:
        y = rows[f"p_{act}"].to_numpy()[order]
        band = {f"p_{act}_q05", f"p_{act}_q95"} <= set(rows.columns)
        if band and rows[f"p_{act}_q05"].notna().all():
            lo = rows[f"p_{act}_q05"].to_numpy()[order]
            hi = rows[f"p_{act}_q95"].to_numpy()[order]
            top.fill_between(x[order], lo, hi, color=COLOURS[act], alpha=0.18, linewidth=0)
        top.plot(x[order], y, marker="o", markersize=4, label=act, color=COLOURS[act])
    top.set_ylabel(f"{iso3}: probability of each act")
    top.set_ylim(-0.02, 1.02)
    p = points["p_adopted"].to_numpy()[order]
    bottom.plot(x[order], p, marker="o", markersize=4, color="black")
    bottom.set_ylabel("P(adopted)")
    bottom.set_ylim(-0.05, 1.05)
    ticks: dict[float, list[str]] = {}
    for i in order:  # values at the same place (0.25 and "talks") share one tick
        ticks.setdefault(float(x[i]), []).append(labels[i])
    bottom.set_xticks(list(ticks), [" / ".join(dict.fromkeys(v)) for v in ticks.values()],
                      rotation=30, ha="right")  # fmt: skip
    words = numeric and any(not _is_number(v) for v in rows[key])
    bottom.set_xlabel(key + (" (credibility words at their prior means)" if words else ""))
    fig.legend(*top.get_legend_handles_labels(), ncol=4, loc="outside lower center")
    fig.suptitle(f"{iso3} along {key.rsplit('.', 1)[-1]} (bands: 5-95% across draws)")
    save_figure(fig, path)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _sorted_values(column: Any) -> tuple[list[Any], list[str]]:
    """A swept key's distinct values in their numeric order where they have one, and labels."""
    values = list(dict.fromkeys(column))
    x, labels, _ = _axis_or_categories(values)
    order = np.argsort(x, kind="stable")
    return [values[i] for i in order], [labels[i] for i in order]


@_styled
def plot_sweep_heatmap(
    points: Any, members: Any, keys: Sequence[str], iso3: str, path: Path
) -> None:
    """A sweep of two keys as heat maps: the focal member's probability of each act and the
    probability of adoption at every combination, each cell labelled with its value.

    ``points`` and ``members`` are the tables of :func:`sim.run.sweep.run_sweep`.
    """
    first, second = keys
    rows = members[members["iso3"] == iso3]
    x_values, x_labels = _sorted_values(points[second])
    y_values, y_labels = _sorted_values(points[first])
    panels = [(f"{iso3}: {act}", rows, f"p_{act}") for act in ACTS]
    panels.append(("P(adopted)", points, "p_adopted"))
    fig = Figure(figsize=(3.0 * len(panels), 0.42 * len(y_values) + 2.0), layout="constrained")
    axes = fig.subplots(1, len(panels), sharey=True)
    for ax, (title, table, column) in zip(axes, panels, strict=True):
        grid = np.full((len(y_values), len(x_values)), np.nan)
        for _, row in table.iterrows():
            grid[y_values.index(row[first]), x_values.index(row[second])] = row[column]
        ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if value < 0.6 else "black")  # fmt: skip
        ax.set_xticks(range(len(x_values)), x_labels, rotation=30, ha="right")
        ax.set_title(title, color=COLOURS.get(column[2:], "black"))
        ax.set_xlabel(second.rsplit(".", 1)[-1])
        ax.grid(False)
    axes[0].set_yticks(range(len(y_values)), y_labels)
    axes[0].set_ylabel(first.rsplit(".", 1)[-1])
    fig.suptitle(f"Sweep of {first} x {second}")
    save_figure(fig, path)


# ------------------------------------------------------------------ the explore page
class Panel:
    """A figure of the ``sim explore`` page, built once and then updated in place.

    Building a matplotlib figure (axes, ticks, text, the constrained layout) costs several times
    what drawing it does, so a browser tab keeps one panel of each kind: an update only moves
    the artists' data (``set_data``, ``set_offsets``, ``set_segments``), and :meth:`png` draws.
    The constrained layout is computed on the first draw and again only after an update changed
    what the labels say (:meth:`relayout`); the figure keeps its positions in between. In a
    `static` panel (limits, ticks and text do not change with the data) everything but the
    artists that move with the data (:meth:`moving`) is drawn once and kept as a bitmap, and a
    draw only restores it and draws those artists on top (blitting).

    Parameters
    ----------
    figure : Figure
    static : bool
        Whether only the moving artists change between updates.
    """

    def __init__(self, figure: Figure, *, static: bool = True) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.figure, self.static = figure, static
        self._canvas = FigureCanvasAgg(figure)
        self._moving: list[Any] = []
        self._background: Any = None
        self._relayout = True

    def moving(self, *artists: Any) -> None:
        """Mark `artists` as those that move with the data (drawn last, over the rest)."""
        for artist in artists:
            artist.set_animated(True)
            self._moving.append(artist)

    def relayout(self) -> None:
        """Compute the layout again at the next draw (labels changed their size)."""
        self._relayout = True

    def png(self) -> bytes:
        """The figure as PNG bytes, in the house style (fast compression: the page's images
        are sent once and not kept).
        """
        import io

        from PIL import Image

        with house_style():
            if self._relayout:  # from the grid's positions, as on a new figure's first draw
                for ax in self.figure.axes:
                    ax._set_position(ax.get_subplotspec().get_position(self.figure))
                self.figure.set_layout_engine("constrained")
            if self._relayout or not self.static or self._background is None:
                self._canvas.draw()  # all but the moving artists
                self._background = self._canvas.copy_from_bbox(self.figure.bbox)
            else:
                self._canvas.restore_region(self._background)
            if self._relayout:  # keep the positions just computed
                self.figure.set_layout_engine("none")
                self._relayout = False
            for artist in self._moving:
                self.figure.draw_artist(artist)
            buffer = io.BytesIO()
            Image.fromarray(np.asarray(self._canvas.buffer_rgba())).save(
                buffer, format="png", compress_level=1
            )
        return buffer.getvalue()


class OddsPanel(Panel):
    """Members' odds with their 5-95% intervals, one panel per act (a dot at the mean, a bar
    over the interval), for `n_rows` members at a time.

    Parameters
    ----------
    n_rows : int
    width : float
        Inches.
    """

    @_styled
    def __init__(self, n_rows: int = 1, *, width: float = 7.5) -> None:
        super().__init__(Figure(figsize=(width, 0.32 * n_rows + 1.5), layout="constrained"))
        self.axes = self.figure.subplots(1, len(ACTS), sharey=True)
        self._y = np.arange(n_rows)
        self._labels: list[str] = []
        self._bars, self._dots = [], []
        for ax, act in zip(self.axes, ACTS, strict=True):
            zero = np.zeros(n_rows)
            self._bars.append(ax.hlines(self._y, zero, zero, color=COLOURS[act], linewidth=4,
                                        alpha=0.4))  # fmt: skip
            self._dots.append(ax.plot(zero, self._y, "o", color=COLOURS[act], markersize=5)[0])
            ax.set_xlim(-0.03, 1.03)
            ax.set_xticks([0, 0.5, 1])
            ax.set_ylim(n_rows - 0.5, -0.5)
            ax.grid(axis="y", visible=False)
            ax.set_title(act, color=COLOURS[act])
            ax.set_xlabel("probability")
        self.moving(*self._bars, *self._dots)

    def update(self, members: pd.DataFrame, iso3: Sequence[str]) -> OddsPanel:
        """Show members `iso3` (rows of a table indexed by ISO3 with ``name``, ``p_<act>``,
        ``p_<act>_q05``, ``p_<act>_q95``); returns the panel.
        """
        rows = members.loc[list(iso3)]
        labels = [f"{i} {n}" for i, n in zip(rows.index, rows["name"], strict=True)]
        if len(labels) != len(self._y):
            raise ValueError(f"iso3: expected {len(self._y)} members; got {len(labels)}")
        if labels != self._labels:
            self.axes[0].set_yticks(self._y, labels)
            self._labels = labels
            self.relayout()
        for act, bars, dots in zip(ACTS, self._bars, self._dots, strict=True):
            lo, hi = rows[f"p_{act}_q05"].to_numpy(), rows[f"p_{act}_q95"].to_numpy()
            bars.set_segments([[(a, y), (b, y)] for a, b, y in zip(lo, hi, self._y, strict=True)])
            dots.set_xdata(rows[f"p_{act}"].to_numpy())
        return self


class MarginPanel(Panel):
    """The exact distribution of ``yes - w * no`` against the rule's threshold: adopting
    margins in the yes colour, the others in the no colour, the threshold dashed.
    """

    @_styled
    def __init__(self) -> None:
        super().__init__(Figure(figsize=(7.5, 2.8), layout="constrained"), static=False)
        ax = self.ax = self.figure.subplots()
        self._adopted = ax.stairs([0.0], [0.5, 1.5], fill=True, color=COLOURS["yes"],
                                  label="adopted")  # fmt: skip
        self._rejected = ax.stairs([0.0], [-0.5, 0.5], fill=True, color=COLOURS["no"],
                                   label="not adopted")  # fmt: skip
        self._threshold = ax.axvline(0.5, color="black", linestyle="--", linewidth=1,
                                     label="threshold")  # fmt: skip
        ax.set_ylabel("probability")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        self.figure.legend(loc="outside right upper")
        self._weight: int | None = None

    def update(
        self, margins: np.ndarray, pmf: np.ndarray, *, min_margin: int, no_weight: int,
        p_adopted: float,
    ) -> MarginPanel:  # fmt: skip
        """Show the distribution `pmf` over `margins` (consecutive integers); the range shown
        runs from two below the lower of the threshold and the least likely margin worth
        drawing (1e-6 of the most likely) to two above the higher; returns the panel.
        """
        keep = np.flatnonzero(pmf > 1e-6 * pmf.max())
        at = int(np.searchsorted(margins, min_margin))
        lo, hi = max(min(keep[0], at - 1) - 2, 0), min(max(keep[-1], at) + 2, len(margins) - 1)
        x, p = margins[lo : hi + 1], pmf[lo : hi + 1]
        split = int(np.searchsorted(x, min_margin))  # x[split:] adopt
        edges = np.append(x - 0.5, x[-1] + 0.5)
        self._rejected.set_data(p[:split], edges[: split + 1])
        self._adopted.set_data(p[split:], edges[split:])
        self._threshold.set_xdata([min_margin - 0.5] * 2)
        self.ax.set_xlim(edges[0], edges[-1])
        self.ax.set_ylim(0, 1.05 * float(p.max()))
        if no_weight != self._weight:
            w = "" if no_weight == 1 else f"{no_weight} x "
            self.ax.set_xlabel(f"margin: yes - {w}no")
            self._weight = no_weight
        self.ax.set_title(f"P(adopted) = {p_adopted:.3f}")
        return self


class StripPanel(Panel):
    """Every member's probability of each act, one dot per member coloured by its UN regional
    group (rows: the acts; within a row, members spread by group); the followed member ringed.

    Parameters
    ----------
    groups : sequence of str
        Each member's UN regional group, in the order of the tables :meth:`update` shows (the
        colours and the spread are fixed by them).
    """

    @_styled
    def __init__(self, groups: Sequence[str]) -> None:
        super().__init__(Figure(figsize=(7.5, 3.4), layout="constrained"))
        ax = self.ax = self.figure.subplots()
        self.groups = tuple(groups)
        names = list(GROUP_COLOURS)
        offsets = {g: (k - (len(names) - 1) / 2) * 0.14 for k, g in enumerate(names)}
        jitter = (np.arange(len(self.groups)) % 7 - 3) * 0.012
        member_groups = np.array(self.groups, dtype=object)
        self._dots = []
        for group in names:
            on = np.flatnonzero(member_groups == group)
            y = np.concatenate([row + offsets[group] + jitter[on] for row in range(len(ACTS))])
            dots = ax.scatter(np.zeros_like(y), y, s=9, color=GROUP_COLOURS[group], alpha=0.8,
                              linewidths=0, label=group)  # fmt: skip
            self._dots.append((on, y, dots))
        self._ring = ax.plot([], [], "o", markersize=11, fillstyle="none", color="black",
                             label="followed")[0]  # fmt: skip
        ax.set_yticks(range(len(ACTS)), list(ACTS))
        ax.set_ylim(len(ACTS) - 0.5, -0.5)
        ax.set_xlim(-0.02, 1.02)
        ax.set_xlabel("probability (mean over draws)")
        self.figure.legend(loc="outside right upper", markerscale=1.5)
        ax.set_title("All members, coloured by UN regional group")
        self.moving(*(dots for _, _, dots in self._dots), self._ring)

    def update(self, members: pd.DataFrame, *, focal: str = "") -> StripPanel:
        """Show `members` (indexed by ISO3, with ``group`` and ``p_<act>``, in the order of
        the groups given), `focal` ringed; returns the panel.
        """
        if tuple(members["group"]) != self.groups:
            raise ValueError("members: not the members (groups, order) the panel was built for")
        odds = members[[f"p_{act}" for act in ACTS]].to_numpy()
        for on, y, dots in self._dots:
            dots.set_offsets(np.column_stack([odds[on].T.ravel(), y]))
        if focal in members.index:
            self._ring.set_data(odds[members.index.get_loc(focal)], np.arange(len(ACTS)))
        else:
            self._ring.set_data([], [])
        return self


class RoundsPanel(Panel):
    """A member's odds of each act after each round played so far (the last round is the
    vote), against the rounds' dates.

    Parameters
    ----------
    dates : sequence of str
        The rounds' dates.
    """

    @_styled
    def __init__(self, dates: Sequence[str]) -> None:
        super().__init__(Figure(figsize=(7.5, 2.6), layout="constrained"))
        ax = self.ax = self.figure.subplots()
        self.dates = tuple(dates)
        self._lines = {
            act: ax.plot([], [], "o-", color=COLOURS[act], markersize=4, label=act)[0]
            for act in ACTS
        }
        ticks = range(len(self.dates))
        every = max(1, -(-len(self.dates) // 8))  # at most about eight dates written
        ax.set_xticks(ticks, [d if k % every == 0 or k == len(ticks) - 1 else ""
                              for k, d in enumerate(self.dates)])  # fmt: skip
        ax.set_xlim(-0.5, len(self.dates) - 0.5)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("round (date); the last is the vote")
        self.figure.legend(loc="outside right upper")
        self._who = ""
        self.moving(*self._lines.values())

    def update(self, odds: Mapping[str, Sequence[float]], *, who: str) -> RoundsPanel:
        """Show `odds` (act -> the probability after each round played, in order) of member
        `who`; returns the panel.
        """
        for act, line in self._lines.items():
            values = list(odds[act])
            line.set_data(range(len(values)), values)
        if who != self._who:
            self.ax.set_ylabel(f"{who}: probability")
            self._who = who
            self.relayout()
        return self


def odds_figure(members: pd.DataFrame, iso3: Sequence[str]) -> Figure:
    """The odds of members `iso3` with their 5-95% intervals (rows of a table indexed by ISO3
    with ``name``, ``p_<act>``, ``p_<act>_q05``, ``p_<act>_q95``), one panel per act
    (:class:`OddsPanel`).
    """
    return OddsPanel(len(iso3)).update(members, iso3).figure


def margin_figure(
    margins: np.ndarray, pmf: np.ndarray, *, min_margin: int, no_weight: int, p_adopted: float
) -> Figure:
    """The exact distribution of ``yes - w * no`` against the rule's threshold
    (:class:`MarginPanel`).
    """
    return (
        MarginPanel()
        .update(margins, pmf, min_margin=min_margin, no_weight=no_weight, p_adopted=p_adopted)
        .figure
    )


def strip_figure(members: pd.DataFrame, *, focal: str = "") -> Figure:
    """Every member's probability of each act, coloured by UN regional group, `focal` ringed
    (:class:`StripPanel`).
    """
    return StripPanel(list(members["group"])).update(members, focal=focal).figure


@_styled
def plot_bargain(bargain: Any, path: Path, *, cost_ratio: float | None = None) -> None:
    """The target's odds along the patron's offers (top) and the patron's expected compliance
    with the offers it ever chooses marked (bottom; the equilibrium at `cost_ratio` circled).
    """
    c = bargain.credibility
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6.5, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    for k, act in enumerate(ACTS):
        top.plot(c, bargain.odds[:, k], marker=".", label=act, color=COLOURS[act])
    top.set_ylabel(f"{bargain.target}: probability of each act")
    top.set_ylim(0, 1)
    top.legend(ncol=4, fontsize="small", loc="center right")
    what = "its threat to withhold " if bargain.event_kind == "threat" else ""
    top.set_title(
        f"{bargain.patron} prices {what}{bargain.kind} for {bargain.target} ({bargain.event})",
        fontsize="medium",
    )
    table = bargain.table()
    bottom.plot(c, table["compliance"], color="black", marker=".")
    hull = table[table["on_hull"]]
    bottom.plot(hull["credibility"], hull["compliance"], "s", color="black", fillstyle="none",
                label="offers the patron ever makes")  # fmt: skip
    if cost_ratio is not None:
        best = bargain.best_response(cost_ratio)
        label = f"best response, cost ratio {cost_ratio:g}"
        bottom.plot([best["credibility"]], [best["compliance"]], "o", color="red", markersize=10,
                    fillstyle="none", label=label)  # fmt: skip
    bottom.set_ylabel("patron's expected reading")
    bottom.set_xlabel(
        f"credibility of the {'threat' if bargain.event_kind == 'threat' else 'offer'}"
    )
    bottom.legend(fontsize="small", loc="lower right")
    save_figure(fig, path)


@_styled
def plot_targets(targeting: Any, path: Path) -> None:
    """Change in the expected count of each act as the patron works down its ranking (top; its
    list dotted, the scenario's list circled) and the exact probability of adoption where
    computed (bottom).
    """
    curve = targeting.curve
    k = curve["calls"].to_numpy()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6.5, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    named = targeting.plans["scenario"]
    n_named = len(named["members"])
    nobody = targeting.plans["nobody"]
    for act in ACTS:
        change = curve[f"expected_{act}"] - curve[f"expected_{act}"].iloc[0]
        top.plot(k, change, label=act, color=COLOURS[act])
        top.plot([n_named], [named[f"expected_{act}"] - nobody[f"expected_{act}"]], "o",
                 color=COLOURS[act], fillstyle="none")  # fmt: skip
    top.axhline(0.0, color="black", linewidth=0.5)
    top.axvline(targeting.calls, color="black", linestyle=":", linewidth=1)
    top.set_ylabel("change in expected members")
    top.legend(ncol=4, fontsize="small", loc="lower left")
    top.set_title(
        f"{targeting.patron} sends {targeting.event} to its best {targeting.calls} "
        f"(dotted; circles: the scenario's {n_named})",
        fontsize="medium",
    )
    known = curve.dropna(subset=["p_adopted"])
    bottom.plot(known["calls"], known["p_adopted"], color="black", marker=".")
    bottom.set_ylim(-0.02, 1.02)
    bottom.set_ylabel("P(adopted)")
    bottom.set_xlabel("members asked, best first")
    save_figure(fig, path)


@_styled
def plot_frontier(purchase: Any, path: Path) -> None:
    """Expected compliance the patron buys against what it spends, along the cheapest expected
    vote gain (the frontier), with the budget (dotted), its allocation and the scenario's own
    event (circle).
    """
    frontier = purchase.frontier
    cost, gain = frontier["cost"].to_numpy(), frontier["gain"].to_numpy()
    finite = np.isfinite(cost)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.plot(cost[finite], gain[finite], color="black", label="cheapest expected vote gain")
    model, own = purchase.plans["model"], purchase.plans["scenario"]
    ax.plot([model["spend"]], [model["compliance_gain"]], "o", color="black",
            label=f"allocation ({len(model['members'])} members)")  # fmt: skip
    ax.plot([own["spend"]], [own["compliance_gain"]], "o", color="black", fillstyle="none",
            label=f"the scenario's {purchase.event} ({len(own['members'])})")  # fmt: skip
    ax.axvline(purchase.budget, color="black", linestyle=":", linewidth=1)
    ax.set_xlabel(f"spend (firm commitments of a member's whole need for {purchase.kind})")
    ax.set_ylabel(f"{purchase.patron}'s expected compliance gained")
    ax.set_title(
        f"{purchase.patron} spends a budget of {purchase.budget:.3g} on {purchase.event}",
        fontsize="medium",
    )
    ax.legend(fontsize="small", loc="lower right")
    save_figure(fig, path)


def plot_episode_acts(members: Any, path: Path, *, title: str = "") -> None:
    """Predicted against recorded acts: per recorded act (with its count), the members' mean
    predicted probability of each act (``members``: columns ``recorded`` and ``p_<act>``).
    """
    rows = [act for act in ACTS if (members["recorded"] == act).any()]
    odds = np.array(
        [members.loc[members["recorded"] == act, [f"p_{a}" for a in ACTS]].mean() for act in rows]
    )
    labels = [f"recorded {act} ({int((members['recorded'] == act).sum())})" for act in rows]
    fig, ax = plt.subplots(figsize=(6.5, 0.5 + 0.45 * len(rows)))
    _stacked(ax, labels, odds)
    ax.set_xlabel("")  # the legend sits below the axis; the title says what the bars are
    heading = "mean predicted probability of each act (leave-one-out deal)"
    ax.set_title(f"{title}\n{heading}" if title else heading, fontsize=10)
    save_figure(fig, path)
