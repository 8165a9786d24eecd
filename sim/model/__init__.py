"""The Mesa model: members as agents, the Assembly as a model of dated negotiation rounds.

Over :mod:`sim.core` and :mod:`sim.game`; reads the prepared episode (:class:`Setup`) and the
scenario's types, never files.
"""
