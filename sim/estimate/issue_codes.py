"""Voeten's six issue codes predicted from a roll call's words, for roll calls his data lack.

Voeten's data tag each roll call with any of six issues (``me`` Palestinian conflict, ``nu``
nuclear weapons, ``di`` arms control and disarmament, ``hr`` human rights, ``co`` colonialism,
``ec`` economic development: :data:`sim.io.data.ISSUE_CODES`). The UN Library's newer roll calls
have no such tags, but they have a title, an agenda title and subject headings. One classifier
per code (scikit-learn: word and word-pair TF-IDF, then a linear support vector classifier,
as accurate here as a logistic regression and thirty times faster) learns the tags
from the roll calls that have both tags and words, and predicts them for the others.

:func:`fit_issue_codes` also reports how well: each code's accuracy on a held-out fifth of the
training roll calls, next to the accuracy of always answering the commoner label and the F1
score of the tag itself (accuracy alone flatters rare tags). The held-out fifth is the latest
fifth: the tags are wanted for roll calls newer than any trained on. The extension marks
predicted tags as such (``issue_source`` ``"predicted"``), so an estimator can leave them out
(:meth:`sim.io.data.RollCallData.without_predicted_issues`).

Examples
--------
>>> roll_call_text("Jerusalem", "Question of Palestine", "PALESTINE QUESTION|JERUSALEM")
'Jerusalem. Question of Palestine. PALESTINE QUESTION; JERUSALEM'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

from sim.io.data import ISSUE_CODES, RollCallData

__all__ = ["IssueCodes", "fit_issue_codes", "record_texts", "roll_call_text"]


def roll_call_text(title: str, agenda_title: str = "", subjects: str = "") -> str:
    """One text of a roll call's title, agenda title and subjects (``|`` separated), as present.

    Parameters
    ----------
    title, agenda_title, subjects : str
        Empty fields are left out.

    Returns
    -------
    str
        The fields joined with ``". "``; subject headings joined with ``"; "``.
    """
    subject_text = "; ".join(s.strip() for s in str(subjects).split("|") if s.strip())
    parts = [str(title).strip(), str(agenda_title).strip(), subject_text]
    return ". ".join(p for p in parts if p)


def record_texts(data: RollCallData) -> pd.Series:
    """The text of each roll call of a loaded record.

    Its title and, if different, its description (Voeten's ``short`` is often a heading,
    ``descr`` the real title).
    """
    rc = data.roll_calls
    out = [
        roll_call_text(t if t.strip() == d.strip() else f"{t}. {d}".strip(". "))
        for t, d in zip(rc.title.astype(str), rc.descr.astype(str), strict=True)
    ]
    return pd.Series(out, index=rc.index, dtype=object)


def _vectoriser() -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, lowercase=True)


def _fit_codes(
    x: sparse.csr_matrix, y: npt.NDArray[np.bool_], seed: int
) -> dict[str, LinearSVC | bool]:
    """One linear classifier per code (columns of `y`), or the constant answer."""
    models: dict[str, LinearSVC | bool] = {}
    for k, code in enumerate(ISSUE_CODES):
        if y[:, k].all() or not y[:, k].any():
            models[code] = bool(y[:, k].all())
        else:
            models[code] = LinearSVC(C=1.0, random_state=seed).fit(x, y[:, k])
    return models


def _predict(models: dict[str, LinearSVC | bool], x: sparse.csr_matrix) -> pd.DataFrame:
    out = {}
    for code in ISSUE_CODES:
        model = models[code]
        if isinstance(model, bool):
            out[code] = np.full(x.shape[0], model, dtype=bool)
        else:
            out[code] = model.predict(x).astype(bool)
    return pd.DataFrame(out)


@dataclasses.dataclass
class IssueCodes:
    """Fitted issue-code classifiers and their held-out scores.

    Attributes
    ----------
    vectoriser : TfidfVectorizer
        Words and word pairs (seen in at least two texts) -> TF-IDF features.
    models : dict
        Code -> fitted linear support vector classifier, or the constant answer (bool) for a
        code that is always or never present in the training texts.
    scores : DataFrame, index code
        ``n_train``, ``n_test``, ``accuracy`` (held out), ``baseline`` (accuracy of always
        answering the commoner label of the training part), ``f1`` (of the tag, held out; NaN
        when the tag is absent from both truth and prediction), ``share`` (tagged share of all
        training texts).
    """

    vectoriser: TfidfVectorizer
    models: dict[str, LinearSVC | bool]
    scores: pd.DataFrame

    def predict(self, texts: Sequence[str]) -> pd.DataFrame:
        """Predicted tags of `texts`: one bool column per code, in ``ISSUE_CODES`` order."""
        texts = [str(t) for t in texts]
        if not texts:
            return pd.DataFrame({code: np.zeros(0, dtype=bool) for code in ISSUE_CODES})
        return _predict(self.models, self.vectoriser.transform(texts))


def fit_issue_codes(
    texts: Sequence[str],
    labels: pd.DataFrame,
    *,
    seed: int = 0,
    test_share: float = 0.2,
    chronological: bool = True,
) -> IssueCodes:
    """Fit one classifier per issue code and score it on held-out texts.

    Parameters
    ----------
    texts : sequence of str
        One text per training roll call (:func:`roll_call_text`, :func:`record_texts`), in
        date order.
    labels : DataFrame
        One bool column per code in ``ISSUE_CODES``, rows aligned with `texts`.
    seed : int, default 0
        Seeds the solver (and a shuffled split): the same inputs give the same tags.
    test_share : float, default 0.2
        Share of the texts held out for the scores.
    chronological : bool, default True
        Hold out the last texts (the latest roll calls), as the tags will be used: on roll
        calls newer than any trained on. A shuffled split scores higher, as a resolution voted
        every year then has its earlier copies in the training part.

    Returns
    -------
    IssueCodes
        Scored on the held-out part, then refitted on all the texts.

    Raises
    ------
    ValueError
        Fewer than 10 texts, or labels without a column of ``ISSUE_CODES``.
    """
    texts = [str(t) for t in texts]
    if len(texts) < 10:
        raise ValueError(f"{len(texts)} training texts: at least 10 are needed")
    missing = [c for c in ISSUE_CODES if c not in labels.columns]
    if missing:
        raise ValueError(f"labels lack the issue codes {missing}")
    y = labels[list(ISSUE_CODES)].to_numpy(dtype=bool)
    n_test = max(1, round(len(texts) * test_share))
    if chronological:
        train, test = np.arange(len(texts) - n_test), np.arange(len(texts) - n_test, len(texts))
    else:
        train, test = train_test_split(
            np.arange(len(texts)), test_size=n_test, random_state=seed, shuffle=True
        )
    vectoriser = _vectoriser()
    x_train = vectoriser.fit_transform([texts[i] for i in train])
    x_test = vectoriser.transform([texts[i] for i in test])
    predicted = _predict(_fit_codes(x_train, y[train], seed), x_test).to_numpy()
    rows = {}
    for k, code in enumerate(ISSUE_CODES):
        y_train, y_test, guess = y[train, k], y[test, k], predicted[:, k]
        majority = bool(y_train.mean() > 0.5)
        f1 = float(f1_score(y_test, guess)) if (y_test.any() or guess.any()) else float("nan")
        rows[code] = {
            "n_train": len(train),
            "n_test": len(test),
            "accuracy": float((guess == y_test).mean()),
            "baseline": float((y_test == majority).mean()),
            "f1": f1,
            "share": float(y[:, k].mean()),
        }
    scores = pd.DataFrame.from_dict(rows, orient="index")
    scores.index.name = "code"
    vectoriser = _vectoriser()
    models = _fit_codes(vectoriser.fit_transform(texts), y, seed)
    return IssueCodes(vectoriser, models, scores)
