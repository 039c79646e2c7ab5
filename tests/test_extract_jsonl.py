"""Reading papers JSONL: input order, id spellings, and malformed lines named file:line."""

from __future__ import annotations

import json

import pytest

from kg.errors import InputError
from kg.extract import Extractor
from kg.extract.jsonl import extract_jsonl, read_papers


def test_one_line_per_paper_in_input_order_blank_lines_skipped(extractor: Extractor) -> None:
    lines = [
        json.dumps({"paper_id": "b", "title": "Chain-of-thought prompting", "abstract": "x"}),
        "",
        json.dumps({"arxiv_id": "2202.12837", "title": "In-context learning", "abstract": None}),
        json.dumps({"paper_id": "a", "title": "", "abstract": "Emergent abilities of LLMs."}),
    ]
    out = [json.loads(o) for o in extract_jsonl(lines, "in.jsonl", extractor)]
    assert [o["paper_id"] for o in out] == ["b", "2202.12837", "a"]
    assert all(set(o) == {"paper_id", "concepts", "claims"} for o in out)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"title": "no id"}', "paper_id"),
        ('{"paper_id": "", "title": "t"}', "paper_id"),
        ('{"paper_id": "x", "title": 3}', "'title' must be a string"),
        ('{"paper_id": "x", "title": "t", "abstract": ["a"]}', "'abstract' must be a string"),
    ],
)
def test_malformed_line_names_file_and_line(line: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        list(read_papers(["", "", "", "", "", "", line], "papers.jsonl"))
    assert str(err.value).startswith("papers.jsonl:7: ")


def test_malformed_line_raises_before_output_for_it(extractor: Extractor) -> None:
    good = json.dumps({"paper_id": "ok", "title": "In-context learning", "abstract": ""})
    lines = [good, good, "{oops", good]
    out: list[str] = []
    with pytest.raises(InputError, match=r"^batch\.jsonl:3: not valid JSON"):
        out.extend(extract_jsonl(lines, "batch.jsonl", extractor))
    assert len(out) <= 2
