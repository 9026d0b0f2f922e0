"""Read ``config.yaml`` safely and turn every problem into one line naming its field."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from impact_assets.config.models import (
    FileData,
    PortfolioConfig,
    SimulatedData,
    raw_cross_field_problems,
)
from impact_assets.registry import STAGES, preflight_checks

CONFIG_ENV_VAR = "IMPACT_ENGINE_CONFIG"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config.yaml"

_RELATIVE_KEY = re.compile(r"^[A-Za-z_][\w\[\].]*: ")
_DISCRIMINATOR_TAGS: dict[str, type[BaseModel]] = {"simulated": SimulatedData, "file": FileData}
_MERGE_TAG = "tag:yaml.org,2002:merge"


class ConfigError(ValueError):
    """The config cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, source: str | Path | None, problems: Iterable[str]):
        self.source = str(source) if source is not None else None
        self.problems = list(problems)
        header = f"invalid config {self.source}" if self.source else "invalid config"
        super().__init__(header + ":\n" + "\n".join(f"  {p}" for p in self.problems))


def default_config_path() -> Path:
    """``$IMPACT_ENGINE_CONFIG`` if set, else ``config.yaml`` at the project root."""
    return Path(os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH)


def _component_preflight(config: PortfolioConfig) -> list[str]:
    """What the chosen components check before they run (the statistical MEASURE: data
    files and columns), found through the registry so validating imports no component.

    A stage the config leaves out uses its real component; when that one finds problems
    the config says so, and how to run the mock instead."""
    problems = []
    for stage in STAGES:
        component = getattr(config, stage).component
        found = [p for check in preflight_checks(stage, component) for p in check(config)]
        if found and stage not in config.model_fields_set:
            found.append(
                f"{stage}: not given, so the {component} {stage} is used; for the seed's "
                f"mock write `{stage}: {{component: mock}}`"
            )
        problems += found
    return problems


def _history_file_preflight(config: PortfolioConfig) -> list[str]:
    """``calibration.history_file`` exists and every row is valid (each problem names its row)."""
    if config.calibration.history_file is None:
        return []
    from impact_assets.calibration.history_file import HistoryFileError, read_history_file
    from impact_assets.components.measure.data import resolve_data_path

    try:
        read_history_file(resolve_data_path(config.base_dir, config.calibration.history_file))
    except HistoryFileError as error:
        return [f"calibration.history_file: {problem}" for problem in error.problems]
    return []


# Extra checks run after the schema validates (e.g. that data files and columns
# exist). Each takes the config and returns problem lines.
PREFLIGHT_CHECKS: list[Callable[[PortfolioConfig], list[str]]] = [
    _component_preflight,
    _history_file_preflight,
]


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping gives the same key twice (plain YAML would keep the last one silently)."""


# libyaml's parser when PyYAML has it (4x faster on a 10,000-initiative config); the
# constructor, which refuses Python objects and duplicate keys, is the same Python code.
_SAFE_LOADER_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SafeLoader(_SAFE_LOADER_BASE):
    """``yaml.SafeLoader`` (no Python objects) that also refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            if key in first_line:
                raise DuplicateKeyError(
                    problem=f"duplicate key {key!r} (first given on line {first_line[key]})",
                    problem_mark=key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> Any:
    """Parse YAML safely: tags that would build Python objects are refused, never run."""
    if not path.exists():
        raise ConfigError(path, [f"config file not found: {path}"])
    if not path.is_file():
        raise ConfigError(path, [f"config path is not a file: {path}"])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(path, [f"cannot read the config file: {error}"]) from None
    try:
        return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.constructor.ConstructorError as error:
        if "constructor for the tag" not in (error.problem or ""):
            raise ConfigError(path, [_yaml_error_line(error)]) from None
        mark = error.problem_mark
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(
            path,
            [f"refused YAML tag{where}: {error.problem}; the config is data, not code"],
        ) from None
    except yaml.YAMLError as error:
        raise ConfigError(path, [_yaml_error_line(error)]) from None


def _yaml_error_line(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(error, "problem", None) or str(error)
    return f"YAML syntax error{where}: {problem}"


def parse_config(raw: Any, source: str | Path | None = None) -> PortfolioConfig:
    """Validate an already-parsed mapping; raise :class:`ConfigError` listing every problem."""
    if not isinstance(raw, dict):
        kind = "empty" if raw is None else f"a {type(raw).__name__}"
        raise ConfigError(source, [f"the config must be a mapping of keys to values, got {kind}"])
    try:
        config = PortfolioConfig.model_validate(raw)
    except ValidationError as error:
        problems = format_validation_error(error)
        problems += [p for p in raw_cross_field_problems(raw) if p not in problems]
        raise ConfigError(source, problems) from None
    if source is not None:
        config._source_path = Path(source).resolve()
    problems = [problem for check in PREFLIGHT_CHECKS for problem in check(config)]
    if problems:
        raise ConfigError(source, problems)
    return config


def load_config(path: str | Path | None = None) -> PortfolioConfig:
    """Load and validate the config at ``path`` (default: :func:`default_config_path`)."""
    config_path = Path(path) if path is not None else default_config_path()
    return parse_config(read_yaml(config_path), source=config_path)


def format_validation_error(error: ValidationError) -> list[str]:
    """One line per problem: ``initiatives[2].cost_to_scale: must be > 0 (got -5)``."""
    lines: list[str] = []
    for item in error.errors(include_url=False):
        prefix = _format_location(item["loc"])
        for message in _messages(item):
            if not prefix:
                lines.append(message)
            elif _RELATIVE_KEY.match(message):
                lines.append(f"{prefix}.{message}")
            else:
                lines.append(f"{prefix}: {message}")
    return lines


def _format_location(loc: tuple[Any, ...]) -> str:
    text = ""
    previous: Any = None
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in _DISCRIMINATOR_TAGS and previous in ("data", "scale_data"):
            pass
        else:
            text += f".{part}" if text else str(part)
        previous = part
    return text


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _messages(item: dict[str, Any]) -> list[str]:
    kind = item["type"]
    ctx = item.get("ctx") or {}
    got = item.get("input")
    got_text = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
    if kind == "value_error":
        return [line for line in str(ctx.get("error", item["msg"])).split("\n") if line]
    if kind == "missing":
        expected = _expected_value(_field_at(item["loc"]))
        return [f"is required ({expected})" if expected else "is required"]
    known = {
        "extra_forbidden": "is not a known key",
        "greater_than": f"must be > {_number(ctx.get('gt'))}{got_text}",
        "greater_than_equal": f"must be >= {_number(ctx.get('ge'))}{got_text}",
        "less_than_equal": f"must be <= {_number(ctx.get('le'))}{got_text}",
        "less_than": f"must be < {_number(ctx.get('lt'))}{got_text}",
        "string_pattern_mismatch": f"must match [A-Za-z0-9_-]+{got_text}",
        "float_parsing": f"must be a number{got_text}",
        "float_type": f"must be a number{got_text}",
        "finite_number": f"must be a finite number{got_text}",
        "int_parsing": f"must be an integer{got_text}",
        "int_type": f"must be an integer{got_text}",
        "int_from_float": f"must be an integer{got_text}",
        "bool_type": f"must be true or false{got_text}",
        "string_type": f"must be a string{got_text}",
        "list_type": f"must be a list{got_text}",
        "too_short": "must not be empty",
        "model_type": f"must be a mapping{got_text}",
        "model_attributes_type": f"must be a mapping{got_text}",
        "union_tag_invalid": f"source must be one of 'simulated', 'file'{got_text}",
        "union_tag_not_found": "needs a source: 'simulated' or 'file'",
    }
    if kind == "enum":
        return [f"must be one of {ctx.get('expected')}{got_text}"]
    if kind == "literal_error":
        return [f"must be {ctx.get('expected')}{got_text}"]
    return [known.get(kind, item["msg"][0].lower() + item["msg"][1:] + got_text)]


def _field_at(loc: tuple[Any, ...]) -> FieldInfo | None:
    """The model field an error location points at, or None if it is not a known field."""
    model: type[BaseModel] | None = PortfolioConfig
    field: FieldInfo | None = None
    for part in loc:
        if isinstance(part, int):
            continue
        if part in _DISCRIMINATOR_TAGS and field is not None and model is None:
            model = _DISCRIMINATOR_TAGS[part]
            continue
        if model is None or part not in model.model_fields:
            return None
        field = model.model_fields[part]
        model = _model_in(field.annotation)
    return field


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The one model an annotation holds (``list[M]``, ``M | None``), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    models = {model for arg in get_args(annotation) if (model := _model_in(arg)) is not None}
    return models.pop() if len(models) == 1 else None


_KINDS = {float: "a number", int: "a whole number", str: "a string", list: "a list"}
_BOUNDS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))


def _expected_value(field: FieldInfo | None) -> str:
    """What a valid value of ``field`` is, from its type and constraints: ``a number > 0``."""
    if field is None:
        return ""
    annotation = field.annotation
    kind = _KINDS.get(get_origin(annotation) or annotation)
    if kind is None:
        kind = "a mapping" if _model_in(annotation) else ""
    details: list[str] = []
    for item in field.metadata:
        details += [
            f"{symbol} {_number(getattr(item, name))}"
            for name, symbol in _BOUNDS
            if getattr(item, name, None) is not None
        ]
        if getattr(item, "min_length", None):
            kind = f"a non-empty {kind.removeprefix('a ')}"
        if getattr(item, "pattern", None):
            details.append(f"matching {item.pattern.strip('^$')}")
    if kind == "a string" and not details and not field.description:
        return ""  # any text will do: nothing worth adding to "is required"
    text = " ".join(part for part in (kind, " and ".join(details)) if part)
    if field.description:
        text = f"{text}: {field.description}" if text else field.description
    return text
