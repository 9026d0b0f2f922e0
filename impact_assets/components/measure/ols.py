"""Ordinary least squares with HC1 robust standard errors, in closed form (numpy).

The experiment's estimator fits a handful of columns on a few hundred to a few
thousand rows, thousands of times per loop; statsmodels' model and results objects
cost far more than the arithmetic. This computes what the estimator reads from
``sm.OLS(y, X).fit(cov_type="HC1")``: the coefficients, their HC1 standard errors
(White's sandwich times ``n / (n - k)``), the residual degrees of freedom and R²
(centred: every design here has an intercept). Tests check it against statsmodels
to 1e-10.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OlsFit:
    """The numbers of one fit."""

    params: np.ndarray
    bse: np.ndarray  # HC1
    df_resid: int
    rsquared: float


def ols_hc1(y: np.ndarray, design: np.ndarray) -> OlsFit:
    """Fit ``y`` on the columns of ``design`` (full column rank, with an intercept)."""
    n, k = design.shape
    # QR keeps the accuracy of statsmodels' pseudo-inverse on these small designs
    q, r = np.linalg.qr(design)
    params = np.linalg.solve(r, q.T @ y)
    r_inverse = np.linalg.solve(r, np.eye(k))
    bread = r_inverse @ r_inverse.T  # (X'X)^-1
    residuals = y - design @ params
    meat = (design * (residuals**2)[:, None]).T @ design
    covariance = bread @ meat @ bread * (n / (n - k))
    centred = y - y.mean()
    rsquared = 1.0 - float(residuals @ residuals) / float(centred @ centred)
    return OlsFit(params, np.sqrt(np.diag(covariance)), n - k, rsquared)
