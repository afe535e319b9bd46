"""The fitted model and what serving needs: scoring (in chunks), ranking and the run directory. Imports nothing
from training, ``pipeline`` or the package root, so loading a run to rerank or export stays light."""
