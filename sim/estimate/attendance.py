"""Features of attendance known before a vote, for the layer of :mod:`sim.core.attendance`.

* ``meeting``: the expected log-odds of absence of the meeting, from a regression fitted on the
  window's own roll calls (each one's share of members absent, as log-odds) on what the
  calendar shows before the vote (:data:`MEETING_FEATURES`): how many roll calls are held that
  day (a lone vote draws few delegations), the session's part (the resumed part, January to
  August, against the main part), Friday, Monday and weekend meetings, and an emergency special
  session's symbol (``A/RES/ES-``).
* ``member``: the member's own log-odds of absence over the :data:`HISTORY_YEARS` years before
  the cutoff (shrunk to the Assembly's), and how much higher it runs in the same part of the
  session and in meetings of the same size (two roll calls a day or fewer, or more) as the vote:
  a small mission's record by time of year and size of meeting.
* ``member_recent`` (with ``recent_days``): the member's log-odds of absence over the roll calls
  of the last ``recent_days`` days before its as-of date (the cutoff, or each roll call's own
  date when the layer is fitted for a replay on the day of the vote), shrunk to the Assembly's
  over the same days by :data:`PRIOR_WEIGHT` roll calls, less the Assembly's: a delegation that
  has lately stopped coming (before A/RES/ES-11/3 the members that then stayed away had missed
  36% of the previous 45 days' roll calls, the Assembly 6%). Without a roll call in those days,
  0. The number of days is chosen by each fit on its own fitting year
  (:data:`RECENT_DAYS`, :func:`sim.estimate.validate`'s ``_attendance``), never on a scored one.

Everything is read from roll calls dated before the cutoff, except the vote's own date, symbol
and the number of roll calls on its day, which the Assembly's programme of work shows in advance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from sim.core.acts import FloatArray

__all__ = [
    "ATTENDANCE_FEATURES",
    "HISTORY_YEARS",
    "MEETING_FEATURES",
    "RECENT_DAYS",
    "attendance_features",
    "meeting_effect",
    "meeting_table",
    "recent_record",
]

#: Columns of :func:`meeting_table`.
MEETING_FEATURES = ("log_roll_calls_that_day", "alone", "resumed_part", "friday", "monday",
                    "weekend", "emergency_special")  # fmt: skip

#: Columns of :func:`attendance_features`.
ATTENDANCE_FEATURES = ("meeting", "member", "member_season", "member_meeting_size")

#: Candidate spans (days) of a member's recent record (``member_recent``), one chosen per fit.
RECENT_DAYS = (30, 60, 120, 240, 365)

#: Years of each member's record read for its features.
HISTORY_YEARS = 3

#: Weight (in roll calls) of the Assembly's absence rate in a member's shrunk rate.
PRIOR_WEIGHT = 4.0

#: Main part of the session: September to December.
MAIN_PART = (9, 10, 11, 12)


def meeting_table(roll_calls: pd.DataFrame, rcids: Any) -> FloatArray:
    """The calendar's features (:data:`MEETING_FEATURES`) of roll calls `rcids`: shape (n, 7).

    Examples
    --------
    >>> rc = pd.DataFrame({"date": pd.to_datetime(["2021-12-06", "2021-12-06", "2022-03-02"]),
    ...                    "symbol": ["A/RES/76/1", "A/RES/76/2", "A/RES/ES-11/1"]})
    >>> meeting_table(rc, [0, 2]).round(3)
    array([[0.693, 0.   , 0.   , 0.   , 1.   , 0.   , 0.   ],
           [0.   , 1.   , 1.   , 0.   , 0.   , 0.   , 1.   ]])
    """
    day_count = roll_calls.groupby("date").size()
    r = roll_calls.loc[np.asarray(rcids)]
    n = day_count.reindex(r["date"]).to_numpy(float)
    dow = r["date"].dt.day_of_week.to_numpy()
    symbol = r["symbol"].fillna("").astype(str) if "symbol" in r else pd.Series("", r.index)
    return np.column_stack([
        np.log(n), n == 1, ~r["date"].dt.month.isin(MAIN_PART).to_numpy(), dow == 4, dow == 0,
        dow >= 5, symbol.str.contains("/ES-", regex=False).to_numpy(),
    ]).astype(float)  # fmt: skip


def _absent_votes(data: Any, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    votes = data.votes
    votes = votes[(votes["date"] >= start) & (votes["date"] < end)]
    return pd.DataFrame({
        "rcid": votes["rcid"].to_numpy(), "iso3": votes["iso3"].to_numpy(),
        "date": votes["date"].to_numpy(),
        "absent": (votes["act"].astype(str) == "absent").to_numpy(),
    })  # fmt: skip


def meeting_effect(data: Any, *, start: pd.Timestamp, end: pd.Timestamp) -> FloatArray:
    """Intercept and slopes of the roll calls' log-odds of absence on :func:`meeting_table`,
    fitted on the roll calls dated in ``[start, end)`` (ridge 1 on the slopes).
    """
    votes = _absent_votes(data, start, end)
    share = votes.groupby("rcid")["absent"].mean()
    x = np.column_stack([np.ones(len(share)), meeting_table(data.roll_calls, share.index)])
    y = np.log((share.to_numpy() + 0.005) / (1 - share.to_numpy() + 0.005))
    ridge = np.diag([0.0] + [1.0] * (x.shape[1] - 1))
    return np.linalg.solve(x.T @ x + ridge, x.T @ y)


def _shrunk_logit(absent: pd.Series, keys: Any, prior: float) -> FloatArray:
    """Per key, the log-odds of absence with PRIOR_WEIGHT roll calls at the rate `prior`."""
    g = absent.groupby(level=0).agg(["sum", "size"]).reindex(keys).fillna(0.0)
    a, n = g["sum"].to_numpy(float), g["size"].to_numpy(float)
    return np.log((a + prior * PRIOR_WEIGHT) / (n - a + (1 - prior) * PRIOR_WEIGHT))


def _day_number(dates: Any) -> npt.NDArray[np.int64]:
    return np.asarray(pd.DatetimeIndex(np.atleast_1d(dates)).as_unit("s").asi8 // 86400, np.int64)


def recent_record(data: Any, iso3: Any, asof: Any, days: int) -> FloatArray:
    """Each member's log-odds of absence over the roll calls of the `days` days before its
    as-of date (``[asof - days, asof)``), shrunk to the Assembly's over the same days by
    :data:`PRIOR_WEIGHT` roll calls, less the Assembly's log-odds; 0 where no roll call was held.

    Parameters
    ----------
    data : sim.io.data.RollCallData
    iso3 : array of str, shape (n,)
    asof : Timestamp or array of datetime64, shape (n,)
        Only roll calls dated strictly before it are read.
    days : int
        Length of the record, in days (at least 1).

    Raises
    ------
    ValueError
        `days` below 1, or `asof` not one date or one per member.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> votes = pd.DataFrame({"iso3": ["A", "B", "A", "B"], "act": ["absent", "yes", "yes", "yes"],
    ...                       "date": pd.to_datetime(["2022-03-01"] * 2 + ["2022-03-05"] * 2)})
    >>> d = SimpleNamespace(votes=votes)
    >>> recent_record(d, ["A", "B"], pd.Timestamp("2022-03-03"), 30).round(3)
    array([ 0.405, -0.405])
    >>> recent_record(d, ["A"], pd.Timestamp("2022-03-01"), 30)  # nothing before the date
    array([0.])
    """
    days = int(days)
    if days < 1:
        raise ValueError(f"recent record: days must be at least 1; got {days}")
    iso3 = np.asarray(iso3).astype(str)
    end = _day_number(asof)
    if len(end) == 1:
        end = np.full(len(iso3), end[0])
    if len(end) != len(iso3):
        raise ValueError(f"recent record: {len(end)} as-of dates for {len(iso3)} members")
    votes = data.votes
    lo_all = end.min() - days if len(end) else 0
    day = _day_number(votes["date"].to_numpy())
    keep = (day >= lo_all) & (day < (end.max() if len(end) else 0))
    day = day[keep]
    absent = (votes["act"].astype(str).to_numpy() == "absent")[keep]
    who = votes["iso3"].astype(str).to_numpy()[keep]
    start = end - days

    def counts(
        key: npt.NDArray[np.int64], at_lo: npt.NDArray[np.int64], at_hi: npt.NDArray[np.int64]
    ) -> tuple[FloatArray, FloatArray]:
        order = np.argsort(key, kind="stable")
        key, cum = key[order], np.concatenate([[0], np.cumsum(absent[order])])
        lo, hi = np.searchsorted(key, at_lo, "left"), np.searchsorted(key, at_hi, "left")
        return (cum[hi] - cum[lo]).astype(float), (hi - lo).astype(float)

    # the Assembly's record, then each member's: one sorted key, two searches per cell
    a_all, n_all = counts(day, start, end)
    names = np.union1d(who, iso3)
    span = np.int64(1 << 32)
    code, own = np.searchsorted(names, who), np.searchsorted(names, iso3)
    a, n = counts(code * span + day, own * span + start, own * span + end)
    prior = np.where(n_all > 0, (a_all + 0.5) / (n_all + 1.0), 0.5)
    shrunk = np.log((a + prior * PRIOR_WEIGHT) / (n - a + (1 - prior) * PRIOR_WEIGHT))
    return np.where(n_all > 0, shrunk - np.log(prior / (1 - prior)), 0.0)


def attendance_features(
    data: Any,
    rcid: Any,
    iso3: Any,
    *,
    cutoff: pd.Timestamp,
    window: int,
    recent_days: int | None = None,
    asof: Any = None,
) -> FloatArray:
    """The features (:data:`ATTENDANCE_FEATURES`) of member `iso3` on roll call `rcid` (arrays
    of cells), from the roll calls before `cutoff`: the meeting's expected log-odds of absence
    (:func:`meeting_effect` on the `window` years before it) and the member's record; with
    `recent_days`, a fifth column, its recent record (:func:`recent_record`) over the roll calls
    before `asof` (default: `cutoff`; one date or one per cell, never after the vote's day).

    Returns
    -------
    ndarray, shape (n_cells, 4), or (n_cells, 5) with `recent_days`
    """
    rcid, iso3 = np.asarray(rcid), np.asarray(iso3)
    rc = data.roll_calls
    coef = meeting_effect(data, start=cutoff - pd.DateOffset(years=window), end=cutoff)
    table = meeting_table(rc, rcid)
    meeting = table @ coef[1:]
    history = _absent_votes(data, cutoff - pd.DateOffset(years=HISTORY_YEARS), cutoff)
    prior = float(history["absent"].mean()) if len(history) else 0.1
    day_count = rc.groupby("date").size()
    h_main = pd.DatetimeIndex(history["date"]).month.isin(MAIN_PART)
    h_small = day_count.reindex(history["date"]).to_numpy() <= 2
    absent = pd.Series(history["absent"].to_numpy(), index=history["iso3"].to_numpy())
    overall = _shrunk_logit(absent, iso3, prior)
    main = np.asarray(~table[:, 2].astype(bool))
    small = np.asarray(np.exp(table[:, 0]) <= 2)
    season = np.where(
        main,
        _shrunk_logit(absent[h_main], iso3, prior),
        _shrunk_logit(absent[~h_main], iso3, prior),
    )
    size = np.where(
        small, _shrunk_logit(absent[h_small], iso3, prior),
        _shrunk_logit(absent[~h_small], iso3, prior),
    )  # fmt: skip
    columns = [meeting, overall, season - overall, size - overall]
    if recent_days is not None:
        columns.append(recent_record(data, iso3, cutoff if asof is None else asof, recent_days))
    return np.column_stack(columns)
