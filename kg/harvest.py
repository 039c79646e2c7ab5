"""Online harvest of the pipeline's topic from arXiv and Semantic Scholar."""

from __future__ import annotations

from collections.abc import Callable

from kg.config import PipelineConfig
from kg.errors import UsageError
from kg.store import Store


def harvest(
    store: Store,
    config: PipelineConfig,
    run_id: int | None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Harvest new papers into `store` (not built yet: the offline snapshot is the source)."""
    raise UsageError("online harvest is not available yet; run `kg refresh --offline`")
