"""Where papers come from: the embedded snapshot, arXiv and Semantic Scholar."""
