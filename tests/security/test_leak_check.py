"""The no-secret-leak check itself, and the outputs most likely to leak a token.

The suite-wide check (`tests/_support/leaks.py`, run at the end of every session by
`tests/_support/suite_report.py`) scans every CLI and server output of the whole run; these
tests prove it would notice a leak, and drive the paths where a token could slip out: a
ws-token in a WebSocket URL, verbose sync output, JSON status output.
"""

from __future__ import annotations

import asyncio
import json

import httpx

from tests._support import leaks
from tests._support.leaks import REGISTRY, Registry
from tests._support.logins import PASSWORD, api_login
from tests._support.server_api import bearer


def test_the_detector_finds_planted_secrets(tmp_path):
    registry = Registry()
    registry.secret(PASSWORD, "password")
    registry.secret("short", "too short to register")
    registry.output("clean", "Logged in as alice on http://127.0.0.1:1 (team acme).")
    registry.output("password", f"debug: sending {PASSWORD}")
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVlLTEyMw"
    registry.output("jwt", f"Authorization: Bearer {token}")
    log = tmp_path / "server.log"
    log.write_text(f"GET /ws/v1/events/?token={token} 101\n")
    registry.log_file(log)
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps({"access_token": "opaque-access-123",
                                 "refresh_token": "opaque-refresh-456"}))
    registry.credentials_file(creds)
    registry.output("opaque", "retrying with opaque-refresh-456")
    found, scanned = registry.find_leaks()
    assert scanned == 5
    kinds = sorted((leak.where, leak.kind) for leak in found)
    assert kinds == [("jwt", "jwt-shaped string"), ("opaque", "refresh token"),
                     ("password", "password"), ("server log server.log", "jwt-shaped string")]
    assert all(PASSWORD not in leak.describe() and token not in leak.describe()
               for leak in found)


def test_ws_token_in_the_url_stays_out_of_the_server_log(two_teams):
    import websockets

    alice = api_login(two_teams.url, "alice")
    ws = httpx.post(f"{two_teams.url}/api/v1/ws-token/", headers=bearer(alice["access"]),
                    timeout=30).json()
    REGISTRY.token_response(ws)
    url = two_teams.url.replace("http://", "ws://") + f"/ws/v1/events/?token={ws['ws_token']}"

    async def connect() -> str:
        async with websockets.connect(url, open_timeout=10) as sock:
            return json.loads(await asyncio.wait_for(sock.recv(), 10))["type"]

    assert asyncio.run(connect()) == "snapshot"
    # A plain GET with tokens in the query string, as a careless client might send.
    httpx.get(f"{two_teams.url}/api/v1/events/?access={alice['access']}", timeout=30)
    text = two_teams.log.read_text()
    assert ws["ws_token"] not in text and alice["access"] not in text
    assert not leaks.JWT_PATTERN.search(text)


def test_cli_outputs_never_show_tokens(cli, home, logged_in):
    creds = json.loads((home / "credentials.json").read_text())
    outputs = [cli("auth", "status"), cli("auth", "status", "--json"), cli("sync", "status"),
               cli("sync", "status", "--json"), cli("sync", "status", "--check"),
               cli("sync", "now", "--verbose")]
    for result in outputs:
        text = result.stdout + result.stderr
        for secret in (creds["access_token"], creds["refresh_token"], PASSWORD):
            assert secret not in text
        assert not leaks.JWT_PATTERN.search(text)
