"""The `kg` command: a thin layer that parses, calls one library function and prints.

User errors (`KGError`) print one line saying what to do and exit with the error's code;
tracebacks are for bugs only.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from kg import __version__
from kg.errors import KGError, UsageError

err = Console(stderr=True)
out = Console()


def _setup_logging() -> None:
    level = os.environ.get("KG_LOG_LEVEL", "WARNING").upper()
    if level not in logging.getLevelNamesMapping():
        raise UsageError(f"KG_LOG_LEVEL={level!r} is not a level; use DEBUG, INFO or WARNING")
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kg")
def cli() -> None:
    """kg: the emergent-abilities literature knowledge graph.

    Harvest papers, extract the factors and mechanisms they claim affect or explain LLM
    abilities, build a citation-and-claims graph, query it and view it.
    """
    _setup_logging()


pipeline_option = click.option(
    "--pipeline",
    "pipeline_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Pipeline definition (default: pipelines/emergent_abilities.toml).",
)


@cli.command()
@pipeline_option
@click.option("--offline", is_flag=True, help="Build from the embedded snapshot (no network).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: the pipeline's output, e.g. graphs/emergent_abilities).",
)
def refresh(pipeline_file: Path | None, offline: bool, out_dir: Path | None) -> None:
    """Harvest (or import the snapshot), extract, build and render the graph."""
    from kg.config import load_pipeline
    from kg.pipeline import refresh as run_refresh

    config = load_pipeline(pipeline_file)
    with _RefreshProgress(err) as progress:
        result = run_refresh(config, offline=offline, out_dir=out_dir, progress=progress)
    _print_refresh(result)


class _RefreshProgress:
    """Stage messages on a spinner line, plus the harvest's bars (`kg.harvest.ProgressBars`).

    Drawn on stderr only when it is a terminal; bars vanish when their task ends.
    """

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._stage = self._progress.add_task("refreshing", total=None)

    def __enter__(self) -> _RefreshProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, message: str) -> None:
        self._progress.update(self._stage, description=message)

    def start_task(self, description: str, total: int | None = None) -> int:
        return int(self._progress.add_task(description, total=total))

    def update_task(self, task: int, *, advance: int = 0, total: int | None = None) -> None:
        self._progress.update(task, advance=advance, total=total)  # type: ignore[arg-type]

    def end_task(self, task: int) -> None:
        self._progress.remove_task(task)  # type: ignore[arg-type]


def _count_rows(stage: str, counts: dict[str, Any]) -> list[tuple[str, str]]:
    """A stage's counts as table rows: main counts, then skipped by reason, then requests."""
    groups: dict[str, list[str]] = {stage: [], f"{stage} skipped": [], "requests": []}
    for key, value in counts.items():
        if key.startswith("skipped_"):
            groups[f"{stage} skipped"].append(f"{key[8:].replace('_', ' ')} {value}")
        elif key.startswith(("requests_", "retries_")):
            groups["requests"].append(f"{key.replace('_', ' ')} {value}")
        else:
            groups[stage].append(f"{key.replace('_', ' ')} {value}")
    rows = [(stage, ", ".join(groups[stage]) or "nothing")]
    rows += [(name, ", ".join(parts)) for name, parts in list(groups.items())[1:] if parts]
    return rows


def _print_refresh(result: Any) -> None:
    table = Table(title=f"kg refresh: run {result.run_id} {result.status}", show_header=False)
    for stage, counts in result.counts.items():
        if isinstance(counts, dict):
            for name, text in _count_rows(stage, counts):
                table.add_row(name, text)
        else:
            table.add_row(stage, str(counts))
    for part in ("nodes", "edges"):
        shown = ", ".join(f"{k} {v}" for k, v in result.graph.get(part, {}).items())
        table.add_row(f"graph {part}", shown)
    written = ", ".join(result.written) if result.written else "none (no changes)"
    table.add_row("written", f"{written} in {result.out_dir}")
    for line in getattr(result, "failures", []):
        table.add_row("failed", line)
    out.print(table)


@cli.command()
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
def extract(file: Any) -> None:
    """Extract concepts and claims from papers JSONL (FILE or - for stdin) as JSONL."""
    from kg.extract import Extractor
    from kg.extract.jsonl import extract_jsonl

    extractor = Extractor()
    for line in extract_jsonl(file, file.name, extractor):
        click.echo(line)


@cli.group()
def snapshot() -> None:
    """Export the store as a snapshot that others can import offline."""


@snapshot.command("export")
@pipeline_option
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def snapshot_export(pipeline_file: Path | None, folder: Path) -> None:
    """Write the store's papers and citations to FOLDER (papers.jsonl, citations.jsonl)."""
    from kg.config import load_pipeline
    from kg.sources.snapshot import write_snapshot
    from kg.store import Store

    config = load_pipeline(pipeline_file)
    with Store.for_pipeline(config.name) as store:
        n_papers, n_cites = write_snapshot(store, folder)
    out.print(f"wrote {n_papers} papers and {n_cites} citations to {folder}")


@cli.command()
@pipeline_option
def status(pipeline_file: Path | None) -> None:
    """Show the store's counts, its last runs and the harvest watermarks."""
    from kg.config import load_pipeline
    from kg.store import Store

    config = load_pipeline(pipeline_file)
    with Store.for_pipeline(config.name) as store:
        out.print(f"store {store.path} (schema {store.schema_version})")
        out.print(", ".join(f"{k} {v}" for k, v in store.counts().items()))
        runs = Table(title="last runs")
        for column in ("run", "started", "ended", "status", "mode", "counts"):
            runs.add_column(column)
        for run in store.runs():
            runs.add_row(
                str(run.run_id),
                run.started_at,
                run.ended_at or "",
                run.status,
                run.mode,
                str(run.counts),
            )
        out.print(runs)
        for key, value in store.watermarks().items():
            out.print(f"watermark {key} = {value}")


def main() -> None:
    """Entry point: run the CLI, turning `KGError`s into one-line messages and exit codes."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        err.print("kg: aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KGError as exc:
        err.print(f"kg: error: {exc}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
