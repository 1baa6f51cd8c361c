"""Targets: the things gates look at, read from disk or stdin with their positions kept."""
