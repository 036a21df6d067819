"""Scoring a model and judging a change: metrics, paired intervals, the base model, the same rows, the gate's rules.

Stands on `core` and `model`; the stages, the review, deploy and monitoring use it.
"""
