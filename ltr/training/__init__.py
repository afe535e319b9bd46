"""Stage 2.4: the whole-page reranker's objectives, their training and early stopping."""
