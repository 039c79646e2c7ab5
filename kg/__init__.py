"""kg: a living knowledge graph of the literature on emergent abilities of large language models.

Harvest papers (arXiv, Semantic Scholar), extract the factors and mechanisms each paper claims
affect or explain an ability, build a citation-and-claims graph, and query or view it.
"""

__version__ = "0.1.0"

__all__ = ["KnowledgeGraph", "__version__"]


def __getattr__(name: str) -> object:
    # Imported lazily so that `import kg` (and `kg --version`) stays fast.
    if name == "KnowledgeGraph":
        from kg.query import KnowledgeGraph

        return KnowledgeGraph
    raise AttributeError(f"module 'kg' has no attribute {name!r}")
