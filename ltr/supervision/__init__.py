"""Stage 2.4's inputs: the constructed pairwise constraints (intra-modal, cross-modal anchors, single-modal pool)."""
