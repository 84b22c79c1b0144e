"""srs: spaced repetition for behavioral-interview preparation."""

__version__ = "0.1.0"
