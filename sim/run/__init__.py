"""The entry points a user calls: replay, sweep, calibrate, forecast, episodes, bargain, target,
buy. The only layer that wires the others together and writes result files.
"""
