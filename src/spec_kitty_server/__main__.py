"""`python -m spec_kitty_server` runs the `spec-kitty-server` command."""

from spec_kitty_server.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
