"""Documented facts of MIRI shared by the simulator and the calibration.

No effect models and no randomness live here: only numbers with their sources
(``../shared/reference/miri-parameters.md``, cited as *params* below) and the pure
arithmetic that follows from them (frame times from the clock rules, pixel scales).
"""
