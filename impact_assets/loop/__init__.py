"""The loop's stages as plain functions over contracts: MEASURE, EVALUATE, ALLOCATE, REPORT.

The Dagster assets are thin wiring around these; they run here without Dagster
too (tests, benchmarks, notebooks).
"""
