"""The games patrons play (MODEL.md §4): pricing an offer, targeting, vote buying.

Pure solutions over :mod:`sim.core`: they take the members' odds as arrays (or a function that
gives them) and return the patron's best response; no files, no plots, no scenario parsing.
"""
