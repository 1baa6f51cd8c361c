"""`python -m gates`."""

from gates.entry import run

run()
