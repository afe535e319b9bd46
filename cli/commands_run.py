"""placeholder: fit / eval / rerank / tune."""
