"""spec-kitty: the sync & auth CLI for teams that share a spec-kitty server.

`file_lock` is the inter-process lock every state file of the CLI is written under (the
credentials, a queue's sync and flush locks): exported so that cooperating code, the tests
among it, can hold the very lock the CLI takes.
"""

from specify_cli._files import file_lock

__version__ = "0.1.0"

__all__ = ["__version__", "file_lock"]
