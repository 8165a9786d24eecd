"""The maths on arrays: acts, vote choice, tallies, absence, persistence, shocks, tremble.

Pure functions of numpy arrays; imports numpy and scipy only, nothing else of ``sim``'s (no Mesa,
pandas, files, clock or CLI). Everything above builds on these.
"""
