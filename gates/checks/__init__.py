"""One package or module per gate."""
