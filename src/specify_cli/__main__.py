"""`python -m specify_cli` runs the CLI."""

from specify_cli.cli.app import main

main()
