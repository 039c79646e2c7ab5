"""Shared fixtures: the real spaCy model and vocabulary, loaded once per test session."""

from __future__ import annotations

import pytest

from kg.extract import Extractor


@pytest.fixture(scope="session")
def extractor() -> Extractor:
    """The default extractor (shipped vocabulary, installed default spaCy model)."""
    return Extractor()
