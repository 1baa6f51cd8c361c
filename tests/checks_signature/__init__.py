"""Tests of the signature gate against a real registry."""
