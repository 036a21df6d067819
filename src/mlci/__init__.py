"""A reproducible train-and-evaluate pipeline for binary classifiers, driven by DVC."""

__version__ = "0.1.0"
