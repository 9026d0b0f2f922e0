"""MEASURE implementations: each estimates one initiative's causal effect."""
