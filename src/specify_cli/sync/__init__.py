"""The sync engine: the offline queue, the Lamport clock, and the transports to the server.

Who the account is lives in `specify_cli.account`, which project an event belongs to in
`specify_cli.project`; the engine takes both as given and imports no CLI module. What the
commands use of the engine's private `_engine` module is exported here, loaded on first use:
a command that only records an event must not pay for the push and pull code.
"""

from __future__ import annotations

__all__ = ["SyncReport", "lock_holder", "summary", "sync_lock", "sync_once"]


def __getattr__(name: str) -> object:
    if name in __all__:
        # lazily: the engine brings httpx; `specify_cli.sync` alone must stay light.
        from specify_cli.sync import _engine

        return getattr(_engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
