"""The `spec-kitty` command-line interface."""
