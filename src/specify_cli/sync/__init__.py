"""The sync engine: the offline queue, the Lamport clock, and the transports to the server.

Who the account is lives in `specify_cli.account`, which project an event belongs to in
`specify_cli.project`; the engine takes both as given and imports no CLI module. What the
commands use of the engine's private `_engine` module is exported here.
"""

from specify_cli.sync._engine import SyncReport, lock_holder, summary, sync_lock, sync_once

__all__ = ["SyncReport", "lock_holder", "summary", "sync_lock", "sync_once"]
