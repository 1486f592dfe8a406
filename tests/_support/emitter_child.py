"""A process that emits events through the real emitter, for kill -9 and concurrency tests.

Run as `python -m tests._support.emitter_child ROOT COUNT [CONTENT-PREFIX]` with
`SPEC_KITTY_HOME` set. It prints `ready`, then one `ok EVENT_ID LAMPORT` line per event the
emitter stored (after `emit()` returned, so the line means "committed"), then
`done EMITTED DROPPED`. With `EMIT_PACE_SECONDS` set it sleeps that long after each event,
so that a concurrent sync loop overlaps the whole emitting run.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def main() -> None:
    root, count = Path(sys.argv[1]), int(sys.argv[2])
    prefix = sys.argv[3] if len(sys.argv) > 3 else "note"
    from specify_cli.sync.emitter import EventEmitter

    pace = float(os.environ.get("EMIT_PACE_SECONDS") or 0)
    emitter = EventEmitter(root=root, start_runtime=False)
    print("ready", flush=True)
    for n in range(count):
        stored = emitter.emit("HistoryAdded", {"wp_id": "WP01", "entry_type": "note",
                                               "entry_content": f"{prefix} {n}",
                                               "author": "alice",
                                               "feature_slug": "001-kill"})
        if stored is not None:
            sys.stdout.write(f"ok {stored['event_id']} {stored['lamport_clock']}\n")
            sys.stdout.flush()
        if pace:
            time.sleep(pace)
    print(f"done {emitter.emitted} {emitter.dropped}", flush=True)


if __name__ == "__main__":
    main()
