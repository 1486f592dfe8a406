"""A program that records events through the Python API, as a one-shot command or live.

Run as `python -m tests._support.live_program ROOT MODE` with `SPEC_KITTY_HOME` set, MODE
`one-shot` (the emitter a CLI command uses) or `live` (`EventEmitter(live=True)`, a program
that keeps running). It emits one event, and in `live` mode waits (bounded) for the socket,
emits a second event and waits for its acknowledgement. It prints one JSON line: whether a
WebSocket client exists, whether it connected, and the socket's acknowledgements.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def _note(n: int) -> dict:
    return {"wp_id": "WP01", "entry_type": "note", "entry_content": f"live {n}",
            "author": "alice", "feature_slug": "001-live"}


def main() -> None:
    root, mode = Path(sys.argv[1]), sys.argv[2]
    from specify_cli.sync.emitter import EventEmitter

    emitter = EventEmitter(root=root, live=mode == "live")
    first = emitter.emit("HistoryAdded", _note(1))
    ws = emitter.runtime.ws
    report = {"first": first["event_id"], "socket": ws is not None, "connected": False,
              "acks": {}}
    if ws is not None:
        deadline = time.monotonic() + 60  # a hang guard: a busy machine is slow, not wrong
        while not ws.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        report["connected"] = ws.connected
        second = emitter.emit("HistoryAdded", _note(2))
        report["second"] = second["event_id"]
        ws.wait_for_acks(60)
        report["acks"] = dict(ws.acks)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
