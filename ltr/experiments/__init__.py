"""Experiments over many fits: the annotation-cost sweep (with its plot and paired tests) and Optuna tuning."""
