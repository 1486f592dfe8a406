"""spec-kitty: the sync & auth CLI for teams that share a spec-kitty server."""

__version__ = "0.1.0"
