"""The calibration model's fixed assumptions, each documented in docs/decision.md §4.

One source of truth: the fitting code, the docs' tables and the tests import these.
"""

# A pilot's standard error is its 95% interval's width over 2 x 1.96 (the normal
# quantile; t or bootstrap intervals make it a little conservative).
PILOT_CI_Z = 1.959963984540054

# Each failed pass/fail diagnostic multiplies the pilot's variance by this factor: the
# pilot then counts as half the evidence its stated interval claims.
FAILED_DIAGNOSTIC_VARIANCE_FACTOR = 2.0

# Prior of a method's ratio of the effect at scale to the pilot's effect, before any
# pair of it is seen: normal, centred on 1 (no decay, no bias), SD 0.3 (90% of the mass
# between 0.51 and 1.49).
RATIO_PRIOR_MEAN = 1.0
RATIO_PRIOR_SD = 0.3
# The grid the ratio's posterior is computed on first; then, around its mass (cells
# beyond RATIO_ZOOM_TAIL at either end cut, the rest widened by half its width at each
# end), a grid of RATIO_ZOOM_POINTS (ratio x extra SD) for the exact likelihood.
RATIO_GRID = (-1.0, 3.0, 401)
RATIO_ZOOM_TAIL = 1e-6
RATIO_ZOOM_POINTS = (81, 21)

# Prior of the extra standard deviation at scale (beyond the stated standard errors):
# half-normal with scale EXTRA_SD_PRIOR_SHARE x the prior's root-mean-square effect.
EXTRA_SD_PRIOR_SHARE = 0.25
# Its grid, in the same unit (0 .. 4 x the root-mean-square effect).
EXTRA_SD_GRID = (0.0, 4.0, 41)

# The effect-size prior's tau: uniform on (0, tau_max], on this many grid points,
# summarised for predictions by this many equal-mass nodes (the normal prior of a few
# pilots).
TAU_GRID_POINTS = 400
TAU_NODES = 24
RATIO_NODES = 9

# The spike-and-slab prior (5 pilots or more). Its share of null effects is 0 (no
# nulls: the normal prior) with prior probability NO_NULLS_PRIOR, else uniform on
# (0, 1): a normal population, which the spike can mimic with few pilots, keeps its
# own model. The share is integrated on NULL_SHARE_POINTS cells equal in
# arcsin(sqrt(share)) (and the cell share = 0), and for each of them the slab's mean
# and spread on SLAB_MEAN_POINTS x SLAB_SD_POINTS cells of their own; boxes narrow pass
# after pass (at most ZOOM_PASSES) to the cells holding all but ZOOM_TAIL of the mass
# at either end. The posterior is summarised by HYPER_NODES nodes (weighted k-means of
# its cells).
NO_NULLS_PRIOR = 0.5
NULL_SHARE_POINTS = 16
SLAB_MEAN_POINTS = 32
SLAB_SD_POINTS = 32
ZOOM_TAIL = 1e-6
ZOOM_PASSES = 10
HYPER_NODES = 48
# Its quantiser: cells with less than QUANTISER_FLOOR x the largest cell's mass are left
# out, and k-means runs QUANTISER_STEPS iterations.
QUANTISER_FLOOR = 1e-6
QUANTISER_STEPS = 10

# The interval EVALUATE reports: R_worst and R_best are these quantiles of the
# predictive distribution of the effect at scale (a central 90% interval).
INTERVAL_PROBABILITIES = (0.05, 0.95)

# Fewer pilots than this make a weak prior: the calibration says so, and the prior is
# then the normal one (no share of null effects can be learnt from so few).
FEW_PILOTS = 5
