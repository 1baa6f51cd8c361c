"""Tests of the verification summaries: statements, their files, signing, and the round trip through a registry."""
