"""`python -m tests.kg_fake ARGS...`: the real `kg` command, with the spaCy-free
`TaggedExtractor` in place of the default extractor (so a subprocess that refreshes is cheap)."""

from __future__ import annotations

import sys

import kg.pipeline
from kg.cli import main
from tests.fakes import TaggedExtractor

if __name__ == "__main__":
    kg.pipeline.default_extractor = TaggedExtractor
    sys.argv[0] = "kg"
    main()
