from __future__ import annotations

import pytest

from kg.records import Paper, normalize_title, paper_key, split_arxiv_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2202.12837", ("2202.12837", None)),
        ("2202.12837v3", ("2202.12837", 3)),
        ("arXiv:2202.12837v1", ("2202.12837", 1)),
        ("http://arxiv.org/abs/2104.12255v1", ("2104.12255", 1)),
        ("https://arxiv.org/pdf/2104.12255v2.pdf", ("2104.12255", 2)),
        ("hep-th/9901001v2", ("hep-th/9901001", 2)),
        ("0704.0001", ("0704.0001", None)),
    ],
)
def test_split_arxiv_id_accepts_every_spelling(raw: str, expected: tuple) -> None:
    assert split_arxiv_id(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "", "22021.12837", "10.1000/xyz", "2202.12837v"])
def test_split_arxiv_id_rejects_non_ids(raw: str) -> None:
    with pytest.raises(ValueError, match="not an arXiv id"):
        split_arxiv_id(raw)


def test_paper_key_prefers_arxiv_then_s2_then_doi() -> None:
    assert paper_key("2202.12837v2", "abc", "10.1/X") == "2202.12837"
    assert paper_key(None, "abc", "10.1/X") == "s2:abc"
    assert paper_key(None, None, "10.1/X") == "doi:10.1/x"
    with pytest.raises(ValueError):
        paper_key(None, None, None)


def test_normalize_title_folds_case_accents_and_punctuation() -> None:
    assert normalize_title("  Rethinking   the Rôle of Demonstrations: What…? ") == (
        "rethinking the role of demonstrations what"
    )


def test_paper_dict_round_trip_and_text() -> None:
    paper = Paper("2202.12837", "T", "A b.", authors=("X", "Y"), categories=("cs.CL",), year=2022)
    assert Paper.from_dict(paper.to_dict()) == paper
    assert paper.text == "T\nA b."
    assert paper.content_hash != Paper("2202.12837", "T", "A c.").content_hash
