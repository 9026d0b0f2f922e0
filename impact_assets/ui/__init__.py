"""Driving the Dagster UI from code: start `dagster dev`, talk GraphQL, take screenshots."""
