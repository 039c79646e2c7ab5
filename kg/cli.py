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
@click.option(
    "--wait",
    is_flag=True,
    help="If another refresh of this pipeline is running, wait for it instead of exiting 3.",
)
def refresh(pipeline_file: Path | None, offline: bool, out_dir: Path | None, wait: bool) -> None:
    """Harvest (or import the snapshot), extract, build and render the graph.

    Exit codes: 0 ok, 1 failed, 2 usage or configuration error, 3 another refresh of this
    pipeline is running (see --wait), 4 partial (some sources failed; the rest is kept),
    143 terminated by SIGTERM.
    """
    from kg.config import load_pipeline
    from kg.errors import EXIT_PARTIAL
    from kg.pipeline import refresh as run_refresh

    config = load_pipeline(pipeline_file)
    _terminate_cleanly()
    with _RefreshProgress(err) as progress:
        result = run_refresh(config, offline=offline, out_dir=out_dir, wait=wait, progress=progress)
    _print_refresh(result)
    if result.status == "partial":
        err.print(
            f"kg: partial refresh: {len(result.failures)} source(s) failed after retries "
            f"(data from the others is kept): {'; '.join(result.failures)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(EXIT_PARTIAL)


def _terminate_cleanly() -> None:
    """Turn SIGTERM into an exception, so the run is recorded `failed` (not left `running`),
    the open transaction rolls back and temporary files are removed before exiting 143."""
    import signal

    from kg.errors import Terminated

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
        raise Terminated(
            "terminated by SIGTERM before it finished; what was committed is kept and the "
            "next refresh carries on"
        )

    signal.signal(signal.SIGTERM, handler)


def _stage_text(counts: Any) -> str:
    """A stage that was skipped, or a count that is not a table of counts."""
    if isinstance(counts, dict) and "skipped" in counts:
        return f"skipped ({counts['skipped']})"
    return str(counts)


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
        if message.startswith("waiting"):  # for --wait: say so even when not a terminal
            self._progress.console.print(
                f"kg: {message}", markup=False, highlight=False, soft_wrap=True
            )

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
        if stage in ("changes", "failures"):  # shown in their own rows below
            continue
        if isinstance(counts, dict) and "skipped" not in counts:
            for name, text in _count_rows(stage, counts):
                table.add_row(name, text)
        else:
            table.add_row(stage, _stage_text(counts))
    for part in ("nodes", "edges"):
        shown = ", ".join(f"{k} {v}" for k, v in result.graph.get(part, {}).items())
        table.add_row(f"graph {part}", shown)
    table.add_row("changes", result.headline)
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


@cli.command("eval")
@click.option(
    "--gold",
    "gold",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Hand labels, JSONL (the format of tests/data/dev_gold.jsonl).",
)
@click.option(
    "--papers",
    "papers",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The labelled papers, JSONL with paper_id, title, abstract.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def evaluate(gold: Path, papers: Path, as_json: bool) -> None:
    """Extract from PAPERS and score against GOLD: concept and claim P/R/F1, polarity."""
    import json

    from kg.evaluate import evaluate_files

    report = evaluate_files(gold, papers)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(report.render())


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
@click.option(
    "--runs",
    "n_runs",
    type=click.IntRange(1),
    default=10,
    show_default=True,
    help="How many of the last runs to show.",
)
def status(pipeline_file: Path | None, n_runs: int) -> None:
    """Show the store's counts, its last runs, the harvest watermarks and the lock."""
    from kg.config import load_pipeline
    from kg.lock import holder_alive, lock_holder, lock_path
    from kg.store import Store

    config = load_pipeline(pipeline_file)
    with Store.for_pipeline(config.name) as store:
        out.print(f"store {store.path} (schema {store.schema_version})")
        lock = lock_path(store.path.parent, config.name)
        holder = lock_holder(lock)
        if holder and holder_alive(lock):
            out.print(f"refresh running: {holder}")
        else:
            out.print("no refresh running")
        out.print(", ".join(f"{k} {v}" for k, v in store.counts().items()), highlight=False)
        out.print("last runs, newest first:")
        for run in store.runs(n_runs):
            took = _took(run.started_at, run.ended_at)
            out.print(
                f"  run {run.run_id}  {run.status}  {run.mode}  started {run.started_at}"
                + (f", took {took}" if took else ""),
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            stages = [
                f"{stage}: {_stage_text(run.counts[stage])}"
                for stage in ("recovered", "ingest", "extract", "build")
                if stage in run.counts
            ]
            if stages:
                out.print(
                    "      " + "; ".join(stages), markup=False, highlight=False, soft_wrap=True
                )
            moved = {
                k: (run.watermarks_before.get(k), v)
                for k, v in run.watermarks_after.items()
                if run.watermarks_before.get(k) != v
            }
            if moved and run.ended_at:
                shown = "; ".join(f"{k} {a or 'none'} -> {b}" for k, (a, b) in moved.items())
                out.print(
                    f"      watermarks: {shown}", markup=False, highlight=False, soft_wrap=True
                )
            if "changes" in run.counts:
                out.print(
                    f"      changes: {run.counts['changes']}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            if run.message:
                out.print(f"      {run.message}", markup=False, highlight=False, soft_wrap=True)
        marks = store.watermark_rows()
        out.print("watermarks:" if marks else "watermarks: none yet")
        for source, key, mark, run_id in marks:
            by = "" if run_id is None else f" (set by run {run_id})"
            out.print(
                f"  {source}:{key} = {mark}{by}", markup=False, highlight=False, soft_wrap=True
            )


def _took(started: str, ended: str | None) -> str:
    from datetime import datetime

    if not ended:
        return ""
    seconds = (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()
    return "<1 s" if seconds < 1 else f"{seconds:.0f} s"


@cli.command()
@pipeline_option
@click.option(
    "--since",
    default=None,
    metavar="RUN|DATE",
    help="Changes of the runs after run RUN, or of runs started on or after DATE "
    "(YYYY-MM-DD or an ISO date-time). Default: the latest change.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per change).")
def changes(pipeline_file: Path | None, since: str | None, as_json: bool) -> None:
    """What the last refresh (or every refresh since RUN or DATE) changed in the graph."""
    import json

    from kg.changes import ChangeSet, render_changes
    from kg.config import load_pipeline
    from kg.store import Store

    after_run, since_date = _parse_since(since)
    config = load_pipeline(pipeline_file)
    with Store.for_pipeline(config.name) as store:
        if since is None:
            records = store.changes(limit=1)
        else:
            records = store.changes(after_run=after_run, since=since_date)
    if as_json:
        for record in records:
            click.echo(json.dumps(record.__dict__, sort_keys=True))
        return
    if not records:
        scope = f" since {since}" if since else ""
        click.echo(f"no changes recorded{scope}")
        return
    for record in records:
        change = ChangeSet.from_dict(record.summary)
        click.echo(
            f"## run {record.run_id} ({record.started_at}, {record.status}): "
            f"{change.headline()}\n{record.out_dir}\n"
        )
        click.echo(render_changes(change))


def _parse_since(since: str | None) -> tuple[int | None, str | None]:
    """`--since` as (run id, None) or (None, ISO UTC timestamp)."""
    from datetime import UTC, datetime

    if since is None:
        return None, None
    if since.isdigit():
        return int(since), None
    try:
        when = datetime.fromisoformat(since)
    except ValueError:
        raise UsageError(
            f"--since {since!r} is neither a run id nor a date; use e.g. --since 12 "
            "or --since 2025-01-31"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return None, when.astimezone(UTC).isoformat(timespec="seconds")


# -- query and view: thin layers over kg.query and kg.html ----------------------------------

graph_option = click.option(
    "--graph",
    "graph_path",
    type=click.Path(path_type=Path),
    default=None,
    help="graph.json (or its folder) to use (default: the graph shipped with kg).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
since_option = click.option(
    "--since", default=None, help="Only papers from this year (2023) or date (2023-05-01) on."
)


def _load(graph_path: Path | None) -> Any:
    from kg.query import KnowledgeGraph

    return KnowledgeGraph.load(graph_path)


def _cell(value: Any) -> Any:
    """Table cells as plain text: rich markup in paper text (`[bold]`, `[link=...]`) stays text."""
    from rich.text import Text

    if value is None:
        return Text("")
    if isinstance(value, dict):
        value = ", ".join(f"{k} {v}" for k, v in value.items() if v)
    elif isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, float):
        value = f"{value:.4f}"
    return Text(str(value))


def _print_rows(rows: Any, columns: list[str], title: str, as_json: bool) -> None:
    if as_json:
        import orjson

        sys.stdout.write(orjson.dumps(rows.to_dicts(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = Table(title=_cell(title), show_lines=False)
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows.to_dicts():
        table.add_row(*(_cell(row.get(c)) for c in columns))
    out.print(table)
    if not rows:
        out.print("no rows")


@cli.group()
def query() -> None:
    """Ask the graph: factors, mechanisms, evidence, contested claims, papers, ..."""


@query.command("factors")
@click.argument("concept")
@since_option
@click.option("--min-papers", type=click.IntRange(min=1), default=1, help="Drop rarer rows.")
@graph_option
@json_option
def query_factors(
    concept: str, since: str | None, min_papers: int, graph_path: Path | None, as_json: bool
) -> None:
    """Concepts papers claim affect CONCEPT (an ability or a risk; id, label or alias)."""
    _print_aggregates("factors", concept, since, min_papers, graph_path, as_json)


@query.command("mechanisms")
@click.argument("concept")
@since_option
@click.option("--min-papers", type=click.IntRange(min=1), default=1, help="Drop rarer rows.")
@graph_option
@json_option
def query_mechanisms(
    concept: str, since: str | None, min_papers: int, graph_path: Path | None, as_json: bool
) -> None:
    """Mechanisms papers claim explain CONCEPT."""
    _print_aggregates("mechanisms", concept, since, min_papers, graph_path, as_json)


def _print_aggregates(
    question: str,
    concept: str,
    since: str | None,
    min_papers: int,
    graph_path: Path | None,
    as_json: bool,
) -> None:
    """`kg query factors` / `mechanisms`: the KnowledgeGraph question of that name."""
    kg = _load(graph_path)
    rows = getattr(kg, question)(concept, since=since, min_papers=min_papers)
    columns = ["concept", "counts", "n_papers", "first_year", "last_year", "consensus"]
    _print_rows(rows, columns, f"{question} of {kg.resolve(concept)}", as_json)


@query.command("evidence")
@click.argument("subject")
@click.argument("object", required=False)
@graph_option
@json_option
def query_evidence(
    subject: str, object: str | None, graph_path: Path | None, as_json: bool
) -> None:
    """The claims of SUBJECT about OBJECT (or about anything): sentence, paper, year, link."""
    kg = _load(graph_path)
    rows = kg.evidence(subject, object)
    columns = ["polarity", "object", "sentence", "title", "year", "url"]
    _print_rows(rows, columns, f"evidence: {kg.resolve(subject)}", as_json)


@query.command("contested")
@click.argument("concept", required=False)
@graph_option
@json_option
def query_contested(concept: str | None, graph_path: Path | None, as_json: bool) -> None:
    """Subject/object pairs whose papers disagree (about CONCEPT, if given), both sides."""
    kg = _load(graph_path)
    rows = kg.contested(concept)
    if as_json:
        _print_rows(rows, [], "", True)
        return
    if not rows:
        out.print("no contested claims")
    for row in rows:
        table = Table(
            title=_cell(f"{row.subject_label} {row.relation} {row.object_label}"),
            show_header=True,
        )
        for column in ("polarity", "sentence", "paper", "year"):
            table.add_column(column, overflow="fold")
        for polarity, side in row.sides.items():
            for ev in side:
                table.add_row(*(_cell(v) for v in (polarity, ev.sentence, ev.title, ev.year)))
        out.print(table)


@query.command("papers")
@click.option("--concept", default=None, help="Only papers on this concept.")
@since_option
@graph_option
@json_option
def query_papers(
    concept: str | None, since: str | None, graph_path: Path | None, as_json: bool
) -> None:
    """Papers (on a concept, since a year or date), newest first."""
    rows = _load(graph_path).papers(concept, since=since)
    columns = ["paper_id", "year", "title", "venue", "cited_in_corpus", "n_claims"]
    _print_rows(rows, columns, "papers", as_json)


@query.command("timeline")
@click.argument("concept")
@graph_option
@json_option
def query_timeline(concept: str, graph_path: Path | None, as_json: bool) -> None:
    """Papers on CONCEPT per year, and their claims about it."""
    kg = _load(graph_path)
    _print_rows(kg.timeline(concept), ["year", "papers", "claims"], kg.resolve(concept), as_json)


@query.command("influential")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=10, help="How many papers.")
@graph_option
@json_option
def query_influential(limit: int, graph_path: Path | None, as_json: bool) -> None:
    """The papers with the highest PageRank in the corpus citation graph."""
    rows = _load(graph_path).influential(limit)
    columns = ["paper_id", "year", "title", "pagerank", "cited_in_corpus", "citation_count"]
    _print_rows(rows, columns, "influential papers", as_json)


@query.command("new-since")
@click.argument("run_or_date")
@graph_option
@json_option
def query_new_since(run_or_date: str, graph_path: Path | None, as_json: bool) -> None:
    """Papers new since a run (its id, see `kg status`) or a date (2024-05-01)."""
    rows = _load(graph_path).new_since(run_or_date)
    columns = ["paper_id", "year", "published", "title"]
    _print_rows(rows, columns, f"new since {run_or_date}", as_json)


@query.command("concepts")
@click.option(
    "--kind",
    type=click.Choice(["ability", "factor", "mechanism", "risk"]),
    default=None,
    help="Only concepts of this kind.",
)
@graph_option
@json_option
def query_concepts(kind: str | None, graph_path: Path | None, as_json: bool) -> None:
    """The concepts of the graph with their aliases and paper counts."""
    rows = _load(graph_path).concepts(kind)
    _print_rows(rows, ["concept", "label", "n_papers", "n_claims", "aliases"], "concepts", as_json)


@cli.command()
@click.option("--focus", default=None, help="Open on this concept and its neighbourhood.")
@click.option("--open", "open_page", is_flag=True, help="Open the page in a browser.")
@graph_option
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the page (default: KG_HOME/view/...).",
)
def view(
    focus: str | None, open_page: bool, graph_path: Path | None, out_file: Path | None
) -> None:
    """Render the interactive page (offline) and print its path."""
    from kg.html import write_page
    from kg.store import default_home

    kg = _load(graph_path)
    concept = kg.resolve(focus) if focus else None
    name = (Path(graph_path) if graph_path else Path("emergent_abilities")).resolve()
    name = name.parent if name.suffix == ".json" else name
    heading = "kg: " + name.name.replace("_", " ")
    if concept:
        heading += f" — {kg.label(concept)}"
    slug = concept.replace(":", "-") if concept else "index"
    target = out_file or default_home() / "view" / f"{name.name}-{slug}.html"
    write_page(kg.graph, heading, target, focus=concept)
    click.echo(f"wrote {target}")
    if open_page:
        click.launch(target.resolve().as_uri())


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
        err.print(f"kg: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
