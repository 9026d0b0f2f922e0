"""Component names from the config resolve to classes here, and only here.

Built-in components, their pre-flight checks and the interface every component
follows are named by import path, so this table imports none of them: the config
validates names against it without importing a component, and the components
(which read config models) never import the config back through it. A plug-in
registers its class with :func:`register_component`. Nothing from the config is
ever imported or executed by name outside this table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from impact_assets.components.base import PipelineComponent

STAGES = ("measure", "evaluate", "allocate")

_INTERFACE = "impact_assets.components.base:PipelineComponent"
_BUILTIN: dict[str, dict[str, str]] = {
    "measure": {
        "mock": "impact_assets.components.measure.mock:MockMeasure",
        "statistical": "impact_assets.components.measure.statistical:StatisticalMeasure",
    },
    "evaluate": {
        "calibrated": "impact_assets.components.evaluate.calibrated:CalibratedEvaluate",
        "evidence": "impact_assets.components.evaluate.evidence:EvidenceEvaluate",
        "mock": "impact_assets.components.evaluate.mock:MockEvaluate",
    },
    "allocate": {
        "bayesian": "impact_assets.components.allocate.bayesian:BayesianAllocate",
        "expected_return": (
            "impact_assets.components.allocate.expected_return:ExpectedReturnAllocate"
        ),
        "minimax_regret": "impact_assets.components.allocate.minimax_regret:MinimaxRegretAllocate",
        "mock": "impact_assets.components.allocate.mock:MockAllocate",
    },
}
# Checks of the whole config a built-in component needs before it runs (data files and
# columns exist): each takes the PortfolioConfig and returns one line per problem.
_PREFLIGHT: dict[str, dict[str, str]] = {
    "measure": {"statistical": "impact_assets.components.measure.data:preflight"},
}
_REGISTERED: dict[str, dict[str, type[PipelineComponent]]] = {stage: {} for stage in STAGES}


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")


def _resolve(import_path: str) -> Any:
    module_name, name = import_path.split(":")
    return getattr(importlib.import_module(module_name), name)


def component_names(stage: str) -> list[str]:
    """Every name the config may use for ``stage``, sorted."""
    _check_stage(stage)
    return sorted({*_BUILTIN[stage], *_REGISTERED[stage]})


def register_component(stage: str, name: str, component_class: type[PipelineComponent]) -> None:
    """Make ``component_class`` available to configs as ``{stage: {component: name}}``."""
    _check_stage(stage)
    interface = _resolve(_INTERFACE)
    if not (isinstance(component_class, type) and issubclass(component_class, interface)):
        raise TypeError(f"{component_class!r} is not a PipelineComponent subclass")
    if name in _BUILTIN[stage]:
        raise ValueError(f"{stage} component {name!r} is built in and cannot be replaced")
    _REGISTERED[stage][name] = component_class


def unregister_component(stage: str, name: str) -> None:
    """Remove a plug-in registered with :func:`register_component`."""
    _check_stage(stage)
    _REGISTERED[stage].pop(name, None)


def component_class(stage: str, name: str) -> type[PipelineComponent]:
    """The class registered as ``name`` for ``stage``."""
    _check_stage(stage)
    if name in _REGISTERED[stage]:
        return _REGISTERED[stage][name]
    if name not in _BUILTIN[stage]:
        raise KeyError(
            f"unknown {stage} component {name!r}; choose one of {', '.join(component_names(stage))}"
        )
    return _resolve(_BUILTIN[stage][name])


def create_component(stage: str, name: str) -> PipelineComponent:
    """A new instance of the component registered as ``name`` for ``stage``."""
    return component_class(stage, name)()


def preflight_checks(stage: str, name: str) -> list[Callable[[Any], list[str]]]:
    """The pre-flight checks the component ``name`` of ``stage`` needs (none for plug-ins)."""
    _check_stage(stage)
    found = _PREFLIGHT.get(stage, {}).get(name) if name in _BUILTIN[stage] else None
    return [_resolve(found)] if found else []
