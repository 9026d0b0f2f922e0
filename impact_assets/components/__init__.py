"""Pure-Python stage implementations behind one interface, chosen by name through the registry."""

from impact_assets.components.base import (
    DataNotAvailable,
    PipelineComponent,
    TransientComponentError,
)
from impact_assets.registry import (
    component_class,
    component_names,
    create_component,
    register_component,
    unregister_component,
)

__all__ = [
    "DataNotAvailable",
    "PipelineComponent",
    "TransientComponentError",
    "component_class",
    "component_names",
    "create_component",
    "register_component",
    "unregister_component",
]
