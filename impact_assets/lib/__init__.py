"""Dagster helpers that define nothing themselves: keys, IO manager, metadata, launching."""
