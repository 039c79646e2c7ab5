"""Helpers for harvest tests: a pipeline file pointed at a loopback world, and a harvest run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kg.config import PipelineConfig, load_pipeline
from kg.harvest import HarvestReport, harvest
from kg.store import Store
from tests.worlds import World

NOW = datetime(2026, 4, 12, 12, 0, tzinfo=UTC)

SECTIONS: dict[str, dict[str, Any]] = {
    "pipeline": {"name": "t", "topic": "Emergent abilities (test)", "output": "out"},
    "arxiv": {
        "queries": ["in-context learning", "chain-of-thought"],
        "categories": ["cs.CL", "cs.LG", "cs.AI"],
        "date_floor": "2019-01-01",
        "page_size": 3,
        "overlap_days": 3,
        "request_interval": 0.0,
        "timeout": 2.0,
    },
    "semantic_scholar": {
        "queries": ["emergent abilities"],
        "year_floor": 2019,
        "request_interval": 0.0,
        "timeout": 2.0,
    },
    "snowball": {"min_citing": 3, "depth": 1},
    "harvest": {"max_tries": 2, "backoff": 0.01, "backoff_cap": 0.02},
}


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def write_pipeline(folder: Path, **overrides: dict[str, Any]) -> Path:
    """A pipeline file with `SECTIONS`, each section updated from `overrides[section]`."""
    lines = []
    for section, values in SECTIONS.items():
        merged = {**values, **overrides.get(section, {})}
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml(value)}" for key, value in merged.items()]
    path = folder / "pipeline.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def pipeline(
    folder: Path, world: World | None = None, **overrides: dict[str, Any]
) -> PipelineConfig:
    """Load a test pipeline; seeds default to the world's `SEED` and one id it does not know."""
    if world is not None and "SEED" in world.named:
        seeds = {"seed_ids": [f"arXiv:{world.named['SEED']}", "arXiv:9999.99999"]}
        overrides = {
            **overrides,
            "semantic_scholar": {**seeds, **overrides.get("semantic_scholar", {})},
        }
    return load_pipeline(write_pipeline(folder, **overrides))


def run(store: Store, config: PipelineConfig, now: datetime = NOW, **kw: Any) -> HarvestReport:
    """One harvest as `kg refresh` runs it: a run in the ledger, then `harvest`."""
    run_id = store.start_run(config.name, "online")
    return harvest(store, config, run_id, clock=lambda: now, **kw)
