"""The docs cannot drift from the code: config keys, defaults and bounds, and the worked example."""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from impact_assets.components import unregister_component
from impact_assets.config import CONFIG_ENV_VAR, PortfolioConfig
from impact_assets.contracts import RecordStatus
from impact_assets.loop.decision import REASON_KINDS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DOCS = PROJECT_ROOT / "docs"
CONFIGURATION = DOCS / "configuration.md"
EXTENDING = DOCS / "extending.md"

# A key path as the docs write it: `allocate.weights.best`, `initiatives[].data.path`.
KEY_PATH = re.compile(r"^[a-z_]+(\[\])?(\.[a-z_]+(\[\])?)*$")


# --- the config model's keys ------------------------------------------------------------


def _models_in(annotation: Any) -> tuple[list[type[BaseModel]], bool]:
    """The models an annotation holds (through Optional, unions, Annotated, list) and
    whether they sit inside a list."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation], False
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _models_in(args[0])
    if origin is list:
        models, _ = _models_in(args[0])
        return models, True
    if origin is Union or origin is types.UnionType:
        models: list[type[BaseModel]] = []
        in_list = False
        for arg in args:
            found, listed = _models_in(arg)
            models += [m for m in found if m not in models]
            in_list = in_list or listed
        return models, in_list
    return [], False


def model_fields(
    model: type[BaseModel] = PortfolioConfig, prefix: str = ""
) -> dict[str, list[FieldInfo]]:
    """Every key path of the config, recursively (nested data sources included)."""
    fields: dict[str, list[FieldInfo]] = {}
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        fields.setdefault(path, []).append(field)
        nested, in_list = _models_in(field.annotation)
        sub_prefix = path + ("[]" if in_list else "")
        for sub_model in nested:
            for sub_path, infos in model_fields(sub_model, sub_prefix).items():
                fields.setdefault(sub_path, []).extend(infos)
    return fields


# --- the keys the docs name -------------------------------------------------------------


@dataclass(frozen=True)
class DocumentedKey:
    path: str
    default: str
    validation: str
    line: int


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def documented_keys(text: str) -> list[DocumentedKey]:
    """Rows of the reference tables (header ``| key | default | validation |``) under
    ``## Reference``; a row's full path is each backticked key-path prefix in its ``###``
    heading (none: the top level), a dot, and the row's key."""
    lines = text.splitlines()
    start = lines.index("## Reference")
    keys: list[DocumentedKey] = []
    prefixes = [""]
    in_reference_table = False
    previous = ""
    for number, line in enumerate(lines[start + 1 :], start=start + 2):
        if line.startswith("## "):
            break
        if line.startswith("### "):
            found = [t for t in re.findall(r"`([^`]+)`", line) if KEY_PATH.match(t)]
            prefixes = found or [""]
        if line.startswith("|"):
            cells = _cells(line)
            if not previous.startswith("|"):
                in_reference_table = cells[:3] == ["key", "default", "validation"]
            elif in_reference_table and not set(cells[0]) <= set("-: "):
                key = re.fullmatch(r"`([^`]+)`", cells[0])
                assert key and KEY_PATH.match(key.group(1)), (
                    f"configuration.md:{number}: the key cell must be one backticked key"
                )
                for prefix in prefixes:
                    path = f"{prefix}.{key.group(1)}" if prefix else key.group(1)
                    keys.append(DocumentedKey(path, cells[1], cells[2], number))
        previous = line
    return keys


def _strip_fences(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


def key_paths_in_prose(text: str) -> set[str]:
    """Dotted config paths named in inline code anywhere, e.g. `allocate.min_confidence`
    or `initiatives[2].cost_to_scale: ...` (indices normalised to ``[]``)."""
    top_level = "|".join(PortfolioConfig.model_fields)
    pattern = re.compile(
        rf"(?<![\w./\[-])(?:{top_level})(?:\[\d*\])?(?:\.[a-z_]+(?:\[\d*\])?)+(?![\w(])"
    )
    found: set[str] = set()
    for code in re.findall(r"`([^`]+)`", _strip_fences(text)):
        for match in pattern.findall(code):
            found.add(re.sub(r"\[\d*\]", "[]", match))
    return found


# --- tests ------------------------------------------------------------------------------


def test_the_configuration_reference_names_exactly_the_models_keys():
    documented = {key.path for key in documented_keys(CONFIGURATION.read_text())}
    in_model = set(model_fields())
    assert not documented - in_model, "documented but not in the config model"
    assert not in_model - documented, "in the config model but not documented"


def _expected_default(field: FieldInfo) -> Any:
    if field.default_factory is not None:
        return field.default_factory()
    return field.default


def test_the_documented_defaults_and_bounds_match_the_models():
    fields = model_fields()
    problems = []
    for key in documented_keys(CONFIGURATION.read_text()):
        for field in fields[key.path]:
            where = f"configuration.md:{key.line} {key.path}"
            default_cell = key.default.lower()
            if field.is_required():
                if not default_cell.startswith("required"):
                    problems.append(f"{where}: required in the model, default says {key.default}")
                continue
            expected = _expected_default(field)
            if expected is None:
                if not default_cell.startswith("none"):
                    problems.append(f"{where}: default is None, the docs say {key.default}")
                continue
            token = re.match(r"`([^`]*)`", key.default)
            if token is None:
                problems.append(f"{where}: default {expected!r} not given as `code`")
                continue
            written = yaml.safe_load(token.group(1))
            if isinstance(expected, BaseModel):
                dumped = expected.model_dump(mode="json")
                matches = isinstance(written, dict) and all(
                    dumped.get(k) == v for k, v in written.items()
                )
            else:
                matches = written == expected
            if not matches:
                problems.append(f"{where}: default {expected!r}, the docs say {key.default}")
        for field in fields[key.path]:
            for constraint in field.metadata:
                for name in ("gt", "ge", "lt", "le"):
                    bound = getattr(constraint, name, None)
                    if bound is not None and f"{bound:g}" not in re.findall(
                        r"\d+(?:\.\d+)?", key.validation
                    ):
                        problems.append(
                            f"configuration.md:{key.line} {key.path}: bound {name}={bound:g} "
                            f"not in the validation text"
                        )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "path",
    sorted([*DOCS.glob("*.md"), PROJECT_ROOT / "README.md"]),
    ids=lambda path: path.name,
)
def test_every_config_path_named_in_the_docs_exists(path):
    in_model = set(model_fields())
    unknown = sorted(key_paths_in_prose(path.read_text()) - in_model)
    assert not unknown, f"{path.name} names config keys the model does not have: {unknown}"


def test_the_prose_key_finder_sees_paths_and_skips_module_names():
    text = (
        "`allocate.min_confidence`, `initiatives[2].cost_to_scale: must be > 0`, "
        "`impact_assets.components.measure.mock`, `measure/statistical.py`, `budget`"
    )
    assert key_paths_in_prose(text) == {"allocate.min_confidence", "initiatives[].cost_to_scale"}


# --- the reasons an initiative was not selected ------------------------------------------


@pytest.mark.parametrize("doc", ["decision.md", "concepts.md"])
def test_every_kind_of_reason_is_explained_in_one_table_row(doc):
    text = (DOCS / doc).read_text()
    section = text.split("Why an initiative was not selected\n", 1)[1].split("\n## ", 1)[0]
    table = section.split("\n| kind |", 1)[1].split("\n\n", 1)[0]
    rows = dict(re.findall(r"^\| `([^`]+)` \| (.+) \|$", table, flags=re.M))
    assert sorted(rows) == sorted(REASON_KINDS), f"{doc}: the reason table drifted from the code"
    assert all(len(meaning) > 20 for meaning in rows.values())


# --- the worked example of a custom MEASURE ---------------------------------------------


def extending_example_code() -> str:
    """The python blocks of the worked example in docs/extending.md, in order."""
    text = EXTENDING.read_text()
    section = text.split("\n## Worked example", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 2, "the worked example lost its code blocks"
    return "\n".join(blocks)


def test_the_extending_example_runs_the_loop_with_its_registered_measure(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(CONFIG_ENV_VAR, "restored after the test")
    namespace: dict[str, Any] = {"__name__": "extending_example"}
    try:
        exec(compile(extending_example_code(), str(EXTENDING), "exec"), namespace)
    finally:
        unregister_component("measure", "welch")

    run = namespace["run"]
    assert run.outcome.success
    values = run.values
    assert values.failures == []
    assert {r.result.diagnostics["sample_id"] for r in values.pilots.values()} == {
        "file:banner_pilot.csv",
        "file:newsletter_pilot.csv",
    }
    assert values.allocation.selected_initiatives == ["banner-test", "newsletter-test"]
    assert values.scales["banner-test"].status is RecordStatus.SCALED
    assert values.scales["banner-test"].result.sample_size == 3000
    assert values.scales["newsletter-test"].status is RecordStatus.AWAITING_DATA
    assert [r.initiative_id for r in values.report.reports] == ["banner-test"]
    assert values.report.summary.awaiting_data == ["newsletter-test"]
    printed = capsys.readouterr().out
    assert "banner-test: pilot" in printed and "scale scaled" in printed
