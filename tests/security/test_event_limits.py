"""Oversized events and payloads nested too deep: rejected with a reason on both sides.

Client side, the real emitter refuses them before they reach the queue (one warning line);
server side, the batch endpoint rejects them per event, or the whole body with 400/413,
never with a 500.
"""

from __future__ import annotations

import gzip
import json

import httpx

from tests._support import figures, seed
from tests._support.logins import api_login
from tests._support.server_api import bearer


def test_emitter_refuses_oversized_and_deep_events(tmp_path, home, capsys):
    from specify_cli.sync.emitter import EventEmitter

    project = tmp_path / "proj"
    project.mkdir()
    emitter = EventEmitter(root=project, start_runtime=False)
    ok = emitter.emit("HistoryAdded", {"wp_id": "WP01", "entry_type": "note",
                                       "entry_content": "fine", "author": "a",
                                       "feature_slug": "001-x"})
    assert ok is not None
    deep: object = "bottom"
    for _ in range(50_000):
        deep = [deep]
    cases = {
        "oversized": ("ErrorLogged", {"error_type": "Boom", "error_message": "big",
                                      "stack_trace": "€" * 50_000}),
        "too long a field": ("HistoryAdded", {"wp_id": "WP01", "entry_type": "note",
                                              "entry_content": "x" * 100_000, "author": "a"}),
        "nested too deep": ("HistoryAdded", {"wp_id": "WP01", "entry_type": "note",
                                             "entry_content": "x", "author": "a",
                                             "extra": deep}),
        "deep in a string field": ("HistoryAdded", {"wp_id": "WP01", "entry_type": "note",
                                                    "entry_content": deep, "author": "a"}),
    }
    for name, (kind, payload) in cases.items():
        capsys.readouterr()
        assert emitter.emit(kind, {**payload, "feature_slug": "001-x"}) is None, name
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("warning:"), (name, err[:500])
        assert "Traceback" not in err and len(lines[0]) < 1000, name
    assert emitter.queue.pending_count() == 1
    emitter.queue.close()


def test_batch_endpoint_rejects_oversized_and_deep_events(two_teams):
    token = api_login(two_teams.url, "alice")["access"]
    url = f"{two_teams.url}/api/v1/events/batch/"
    statuses = []

    def post(content: bytes, **headers) -> httpx.Response:
        response = httpx.post(url, content=content, timeout=60,
                              headers={**bearer(token), "Content-Type": "application/json",
                                       **headers})
        statuses.append(response.status_code)
        assert response.status_code < 500, response.text[:300]
        assert "Traceback" not in response.text
        return response

    big = seed.event(content="ok")
    big["payload"]["entry_content"] = "€" * 9_000  # within the field limit ...
    big["payload"]["author"] = "a"
    big["causation_id"] = None
    huge = seed.event()
    huge["payload"]["entry_content"] = "x" * 70_000  # ... and far beyond it
    fine = seed.event(content="next to the bad ones")
    r = post(json.dumps({"events": [huge, fine]}).encode())
    assert r.status_code == 200
    bad, good = r.json()["results"]
    assert bad["status"] == "rejected" and bad["error"], bad
    assert good["status"] == "success"

    over_64k = seed.event()
    over_64k["payload"]["extra"] = "y" * 70_000
    r = post(json.dumps({"events": [over_64k]}).encode())
    assert r.status_code in (200, 400, 413)
    if r.status_code == 200:
        (result,) = r.json()["results"]
        assert result["status"] == "rejected" and result["error"]

    depth = 100_000
    nested = b'{"events":[{"payload":' + b"[" * depth + b"]" * depth + b"}]}"
    r = post(nested)
    assert r.status_code in (200, 400, 413)
    if r.status_code == 200:
        assert r.json()["results"][0]["status"] == "rejected"

    deep_event = json.dumps(seed.event()).replace('"author": "alice"', '"author": ' + "[" * 5000
                                                  + '"x"' + "]" * 5000).encode()
    r = post(b'{"events":[' + deep_event + b"]}")
    assert r.status_code in (200, 400, 413)

    assert post(json.dumps({"events": [seed.event()] * 1001}).encode()).status_code == 413
    bomb = gzip.compress(b'{"events":[' + b" " * (11 * 1024 * 1024) + b"]}")
    assert post(bomb, **{"Content-Encoding": "gzip"}).status_code in (400, 413)
    assert post(b'{"events":["' + b"z" * (11 * 1024 * 1024) + b'"]}').status_code == 413
    figures.fault_kind("oversized and deep events")
    print(f"limit statuses: {statuses}")
