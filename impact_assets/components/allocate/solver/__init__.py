"""Exact 0/1 portfolio selection with PuLP and CBC: the knapsack and the minimax-regret MILP.

The algorithm (reduction, searches, tie rule, split searches) is in docs/decision.md.
"""

from impact_assets.components.allocate.solver.problem import TIE_RTOL, Portfolio, SolverError
from impact_assets.components.allocate.solver.solve import best_portfolio, min_max_regret_portfolio

__all__ = ["TIE_RTOL", "Portfolio", "SolverError", "best_portfolio", "min_max_regret_portfolio"]
