"""Documentation keeps up with the code: every command and setting is in README.md."""

from __future__ import annotations

import re

import click

from kg.cli import cli
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def _commands(group: click.Group, prefix: str = "kg") -> list[str]:
    names = []
    for name, command in group.commands.items():
        names.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            names.extend(_commands(command, f"{prefix} {name}"))
    return names


def test_readme_starts_with_the_two_setup_commands() -> None:
    block = README.split("```")[1]
    commands = [line.split("#")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    assert commands == ["make run", "make test"]


def test_every_command_is_documented() -> None:
    missing = [name for name in _commands(cli) if f"`{name}" not in README]
    assert not missing, f"undocumented commands: {missing}"


def test_every_option_is_documented() -> None:
    def walk(group: click.Group):
        for command in group.commands.values():
            if isinstance(command, click.Group):
                yield from walk(command)
            else:
                yield from (p for p in command.params if isinstance(p, click.Option))

    missing = {opt for p in walk(cli) for opt in p.opts if opt.startswith("--")} - set(
        re.findall(r"--[a-z][a-z-]*", README)
    )
    assert not missing, f"undocumented options: {sorted(missing)}"


def test_every_environment_variable_is_documented() -> None:
    used = set()
    for path in (REPO / "kg").rglob("*.py"):
        used |= set(re.findall(r"\b(KG_[A-Z_]+|S2_API_KEY)\b", path.read_text()))
    missing = sorted(name for name in used if f"`{name}`" not in README)
    assert not missing, f"undocumented settings: {missing}"
