"""`kg query ...` and `kg view`: thin layers over KnowledgeGraph and the page renderer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import cli
from tests.small_graph import HOSTILE_TITLE, ICL, P1, P2, P5


@pytest.fixture(autouse=True)
def wide_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    monkeypatch.setattr("kg.cli.out", Console(width=240))


@pytest.fixture
def run(small_graph_dir: Path):
    def invoke(*args: str) -> str:
        result = CliRunner().invoke(cli, [*args, "--graph", str(small_graph_dir)])
        assert result.exit_code == 0, result.output + repr(result.exception)
        return result.output

    return invoke


def test_factors_table_and_json(run) -> None:
    table = run("query", "factors", "ICL")
    assert "factors of ability:in-context-learning" in table
    assert "factor:label-correctness" in table and "contested" in table
    rows = json.loads(run("query", "factors", "in-context learning", "--json"))
    assert [r["concept"] for r in rows][:2] == ["factor:label-correctness", "factor:model-scale"]
    assert rows[0]["counts"] == {"increases": 1, "decreases": 0, "matters": 0, "no-effect": 2}
    recent = json.loads(run("query", "factors", "ICL", "--since", "2024", "--json"))
    assert [(r["concept"], r["papers"]) for r in recent] == [("factor:label-correctness", [P5])]
    assert len(json.loads(run("query", "factors", "ICL", "--min-papers", "2", "--json"))) == 2


def test_mechanisms(run) -> None:
    rows = json.loads(run("query", "mechanisms", "ICL", "--json"))
    assert [r["consensus"] for r in rows] == ["contested", "single-source"]


def test_evidence(run) -> None:
    rows = json.loads(run("query", "evidence", "factor:label-correctness", "ICL", "--json"))
    assert [r["paper_id"] for r in rows] == [P1, P2, P5]
    assert rows[1]["sentence"] == "Correct labels improve in-context learning substantially."
    assert rows[1]["url"] == "https://arxiv.org/abs/2202.00002"
    table = run("query", "evidence", "label correctness", "ICL")
    assert "Labels matter after all" in table


def test_contested(run) -> None:
    table = run("query", "contested")
    assert "Correct labels improve" in table and "Randomly replacing" in table
    rows = json.loads(run("query", "contested", "--json"))
    assert [r["subject"] for r in rows] == [
        "factor:label-correctness",
        "mechanism:implicit-gradient-descent",
    ]
    assert "no contested claims" in run("query", "contested", "chain-of-thought")


def test_papers_timeline_influential_new_since_concepts(
    run, small_graph_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    papers = json.loads(run("query", "papers", "--concept", "CoT", "--json"))
    assert [p["paper_id"] for p in papers] == [P5, "2303.00003"]
    assert len(json.loads(run("query", "papers", "--since", "2024-01-01", "--json"))) == 2
    timeline = json.loads(run("query", "timeline", "ICL", "--json"))
    assert [(t["year"], t["papers"]) for t in timeline] == [
        (2021, 1),
        (2022, 2),
        (2023, 2),
        (2024, 1),
    ]
    top = json.loads(run("query", "influential", "--limit", "2", "--json"))
    assert [p["paper_id"] for p in top] == [P1, P2]
    monkeypatch.setenv("KG_HOME", str(small_graph_dir))  # new-since RUN reads its store
    assert [p["paper_id"] for p in json.loads(run("query", "new-since", "1", "--json"))] == [P5]
    kinds = json.loads(run("query", "concepts", "--kind", "mechanism", "--json"))
    assert {c["kind"] for c in kinds} == {"mechanism"} and len(kinds) == 17


def test_paper_text_is_not_rich_markup(run, small_graph_dir: Path, tmp_path: Path) -> None:
    """A title like `[bold]x[/bold]` or `[link=...]` prints as typed."""
    assert "<img src=x" in run("query", "papers")
    graph = json.loads((small_graph_dir / "graph.json").read_text())
    for node in graph["nodes"]:
        if node["id"] == P1:
            node["title"] = "[bold red]Loud[/bold red] [link=https://evil.example]x[/link]"
    (tmp_path / "graph.json").write_text(json.dumps(graph))
    result = CliRunner().invoke(cli, ["query", "influential", "--graph", str(tmp_path)])
    assert "[bold red]Loud[/bold red] [link=https://evil.example]x[/link]" in result.output


def test_view_writes_the_page(small_graph_dir: Path, tmp_path: Path, kg_home: Path) -> None:
    result = CliRunner().invoke(cli, ["view", "--graph", str(small_graph_dir)])
    assert result.exit_code == 0, result.output
    page = kg_home / "view" / f"{small_graph_dir.name}-index.html"
    assert f"wrote {page}" in result.output and page.exists()
    out = tmp_path / "focus.html"
    result = CliRunner().invoke(
        cli, ["view", "--graph", str(small_graph_dir), "--focus", "ICL", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert f'"focus":"{ICL}"' in text and "In-context learning" in text
    assert HOSTILE_TITLE not in text  # escaped inside the JSON block


def test_view_open_launches_a_browser(
    small_graph_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = []
    monkeypatch.setattr("click.launch", lambda url, **kw: opened.append(url))
    out = tmp_path / "page.html"
    args = ["view", "--graph", str(small_graph_dir), "--out", str(out), "--open"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert opened == [out.resolve().as_uri()]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("query", "factors", "quantum gravity"), "no concept named 'quantum gravity'"),
        (("query", "papers", "--since", "last month"), "give a year (2023) or an ISO date"),
        (("query", "new-since", "yesterday"), "give a run id"),
        (("view", "--focus", "nope"), "no concept named 'nope'"),
    ],
)
def test_user_errors_are_one_line(
    args: tuple[str, ...], message: str, small_graph_dir: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kg", *args, "--graph", str(small_graph_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "60"},
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_missing_graph_is_a_user_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kg", "query", "contested", "--graph", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "no such graph" in done.stderr
