"""The model artifact: how a model is built, saved and loaded, the input contract it serves, and its release package.

Stands on `core` only; the evaluation and every capability stand on it.
"""
