"""Configuration: pydantic models and a safe loader. Pure Python: no Dagster import."""

from impact_assets.config.loader import (
    CONFIG_ENV_VAR,
    PROJECT_ROOT,
    ConfigError,
    default_config_path,
    load_config,
    parse_config,
)
from impact_assets.config.models import (
    AllocateSettings,
    FileData,
    InitiativeConfig,
    PortfolioConfig,
    SimulatedData,
)

__all__ = [
    "CONFIG_ENV_VAR",
    "PROJECT_ROOT",
    "AllocateSettings",
    "ConfigError",
    "FileData",
    "InitiativeConfig",
    "PortfolioConfig",
    "SimulatedData",
    "default_config_path",
    "load_config",
    "parse_config",
]
