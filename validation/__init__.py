"""Validation: run simulator and calibration, score the products against the truth,
aggregate, report, gate.  The only package that holds truth and products side by side.
"""
