"""ALLOCATE implementations: each chooses the portfolio to scale under the budget."""
