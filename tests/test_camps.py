"""The standing camps (MODEL.md §3): who they are and each member's tie come from data, and the
side a member leaves sees a visible reversal, not an absence."""

from __future__ import annotations

import numpy as np

from sim.core.acts import ABSENT, ACTS
from sim.core.choice import act_probabilities, pressure, reading
from sim.estimate.camps import standing_camps

YES, NO, ABSTAIN = ACTS.index("yes"), ACTS.index("no"), ACTS.index("abstain")


def test_camps_come_from_earlier_acts_and_blocs_with_no_tie_by_name():
    previous = np.array([YES, YES, NO, -1, -1])
    blocs = [("OIC",), ("OIC",), (), ("OIC",), ()]
    text, against = standing_camps(previous, blocs)
    assert (text.name, against.name) == ("text", "against")
    # the same record and blocs give the same tie, whoever the member is
    assert text.standing[0] == text.standing[1] > text.standing[2]
    # a member with no earlier act is tied through its bloc only; one in no bloc, not at all
    assert text.members.tolist() == [0, 1, 3]
    assert 0.0 < text.standing[2] < 1.0
    assert against.members.tolist() == [2]
    assert against.record.all()
    # a principal that votes as it asks is reached by no camp
    assert 0 not in standing_camps(previous, blocs, exclude=[0])[0].members


def test_a_member_on_the_record_chooses_absence_over_a_visible_reversal_under_cross_pressure():
    """Ukraine's arithmetic in MODEL.md §3: a patron asks a member that voted yes for no or
    abstain and reads absence as partial compliance; the camp it would leave reads an abstention
    as a reversal and an absence as nothing. Absence beats abstention only with the camp."""
    base = np.log(np.array([[0.80, 0.01, 0.16, 0.03]]))[None]  # (draw, member, act)
    patron = (np.full((1, 1), 3.5), reading(["no", "abstain"], absent=0.9), None)
    camp = (np.full((1, 1), 2.5), reading(["yes"], record=True), None)
    alone = act_probabilities(base + pressure([patron], n_draws=1, n_members=1))[0, 0]
    both = act_probabilities(base + pressure([patron, camp], n_draws=1, n_members=1))[0, 0]
    assert alone[ABSTAIN] > alone[ABSENT]
    assert both[ABSENT] > both[ABSTAIN]
    assert both[ABSENT] > both[YES]
    # with a low reading of absence the patron gets nothing from it, and absence does not lead
    low = (np.full((1, 1), 3.5), reading(["no", "abstain"], absent=0.0), None)
    flat = act_probabilities(base + pressure([low, camp], n_draws=1, n_members=1))[0, 0]
    assert flat[ABSENT] < both[ABSENT]
