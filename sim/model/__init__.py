"""The Mesa model: members and patrons as agents, the Assembly as a model of dated rounds.

Over :mod:`sim.core` and :mod:`sim.game`; reads the prepared episode (:class:`Setup`) and the
scenario's types, never files.
"""
