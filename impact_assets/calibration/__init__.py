"""The learning loop's statistics: effect-size prior, scale ratios, predictions at scale.

Pure Python (numpy and scipy), no Dagster: the ``calibration`` asset and the
``calibrated`` EVALUATE call these functions; the model is derived in
docs/decision.md ("Calibrated EVALUATE").
"""
