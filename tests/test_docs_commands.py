"""What the README and docs tell a reader to run exists and runs: every link and anchor,
every script and option shown, every Dagster name, every config, and the complete example
through the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml
from helpers import PROJECT_ROOT, run_cli

from impact_assets.config import load_config

DOCS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
SCRIPT = re.compile(r"python3? ((?:scripts|benchmarks)/\w+\.py)((?:[ \t]+[^`|\n#]*)?)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)


def _text(doc: Path) -> str:
    return doc.read_text(encoding="utf-8")


def _name(doc: Path) -> str:
    return str(doc.relative_to(PROJECT_ROOT))


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    without_code = FENCE.sub("", _text(doc))
    return {anchor(m.group(1)) for m in re.finditer(r"^#+ (.+)$", without_code, re.M)}


def links() -> list[tuple[str, str]]:
    return [
        (_name(doc), target)
        for doc in DOCS
        for target in LINK.findall(_text(doc))
        if not target.startswith(("http://", "https://", "mailto:"))
    ]


@pytest.mark.parametrize(("doc", "target"), links())
def test_every_link_and_anchor_in_the_docs_exists(doc, target):
    path, _, fragment = target.partition("#")
    resolved = (PROJECT_ROOT / doc).parent / path if path else PROJECT_ROOT / doc
    assert resolved.exists(), f"{doc}: {target} does not exist"
    if fragment and resolved.suffix == ".md":
        assert fragment in anchors(resolved), f"{doc}: no heading #{fragment} in {path or doc}"


def script_commands() -> list[tuple[str, str, list[str]]]:
    """(doc, script, its arguments) for every ``python scripts/... .py ...`` shown."""
    found = []
    for doc in DOCS:
        text = _text(doc).replace("\\\n", " ")
        for match in SCRIPT.finditer(text):
            found.append((_name(doc), match.group(1), match.group(2).split()))
    return sorted(set((d, s, tuple(a)) for d, s, a in found))  # type: ignore[arg-type]


@cache
def help_text(script: str, command: str | None = None) -> str:
    """``script [command] --help``."""
    result = subprocess.run(
        [sys.executable, script, *([command] if command else []), "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{script} --help failed:\n{result.stderr[-2000:]}"
    return result.stdout


@pytest.mark.parametrize(("doc", "script", "arguments"), script_commands())
def test_every_script_and_option_the_docs_show_exists(doc, script, arguments):
    assert (PROJECT_ROOT / script).is_file(), f"{doc}: {script} does not exist"
    usage = help_text(script)
    if arguments and re.fullmatch(r"[a-z]+", arguments[0]):  # a command: up, down, status
        assert re.search(rf"\b{arguments[0]}\b", usage), f"{doc}: {script} {arguments[0]}"
        usage = help_text(script, arguments[0])
    for argument in arguments:
        if argument.startswith("--"):
            option = argument.split("=", 1)[0]
            assert re.search(rf"{re.escape(option)}\b", usage), f"{doc}: {script} {option}"
    # the config a command reads (other files it names are ones it writes)
    for option, value in zip(arguments, arguments[1:], strict=False):
        if option == "--config" and value.upper() != value:  # not a placeholder (PATH)
            assert (PROJECT_ROOT / value).is_file(), f"{doc}: {script} reads {value}: missing"


def test_every_dagster_name_the_docs_show_is_defined():
    from impact_assets.definitions import defs

    text = "\n".join(_text(doc) for doc in DOCS)
    named = set(re.findall(r"dagster (?:schedule|sensor) (?:start|stop) (\w+)", text))
    assert named, "the docs show no schedule or sensor command"
    defined = {s.name for s in defs.schedules or []} | {s.name for s in defs.sensors or []}
    assert named <= defined, named - defined
    for workspace in set(re.findall(r"-w ([\w./]+\.yaml)", text)):
        assert (PROJECT_ROOT / workspace).is_file(), workspace


def yaml_blocks() -> list[tuple[str, str]]:
    return [
        (_name(doc), body)
        for doc in DOCS
        for lang, body in FENCE.findall(_text(doc))
        if lang == "yaml"
    ]


@pytest.mark.parametrize(("doc", "block"), yaml_blocks(), ids=lambda v: str(v)[:40])
def test_every_yaml_block_in_the_docs_parses_and_every_config_is_shipped(doc, block):
    parsed = yaml.safe_load(block)
    assert isinstance(parsed, dict), f"{doc}: a YAML block that is not a mapping"
    if "initiatives" in parsed:
        # a whole config: the docs show a file the repository ships, as it is
        shipped = [p for p in (PROJECT_ROOT / "examples").glob("*.yaml") if p.read_text() == block]
        assert shipped, f"{doc}: a config that is no file under examples/"
        load_config(shipped[0])


def test_the_complete_example_runs_through_the_cli(tmp_path):
    run = run_cli("--config", "examples/complete.yaml", dagster_home=tmp_path / "home")
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert "calibrated on 16 pilot-vs-scale pairs from the history file" in out
    assert "OUTCOME REPORTS" in out and "DECISION" in out
