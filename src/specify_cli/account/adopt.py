"""After a login: put the clock back above the server's, and adopt work recorded logged out.

Events recorded while logged out wait in the `local` queue, stamped with team `local`. They
were never sent anywhere, so at login they can be moved into the new account's queue with
that account's team stamped in, then pushed. Events stamped with any other team (they were
recorded for another account) are never replayed under a new one; they are left where they
are. Moving is safe against a kill at any moment: events are first inserted into the
account's queue (a second insert of an event id is ignored), then deleted from `local`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx

from spec_kitty_protocol import EVENTS_PATH, InvalidEventError, encode, validate
from specify_cli import http_client
from specify_cli.account.scope import open_queue, pending_events

if TYPE_CHECKING:
    from specify_cli.account.credentials import Credentials
    from specify_cli.sync.queue import OfflineQueue

LOCAL_TEAM = "local"
"""The team stamped on events recorded while logged out."""


def local_pending() -> int:
    """Return how many events recorded while logged out wait in the `local` queue."""
    return pending_events(None)


def adopt_local(target: OfflineQueue, team_slug: str) -> int:
    """Move the `local` queue's team-`local` events into `target`, stamped with `team_slug`.

    Args:
        target: The logged-in account's queue.
        team_slug: The account's team.

    Returns:
        How many events were adopted.
    """
    local = open_queue(None, cap=1)
    adopted = 0
    after = 0
    while True:
        rows = local.read_batch(after, 500)
        if not rows:
            return adopted
        after = rows[-1].id
        moved: list[tuple[str, str, str]] = []
        moved_ids: list[int] = []
        for row in rows:
            try:
                event = json.loads(row.body)
            except ValueError:
                continue
            if not isinstance(event, dict) or event.get("team_slug") != LOCAL_TEAM:
                continue  # another account's event: never replayed under this one
            event["team_slug"] = team_slug
            try:
                validate(event)
            except InvalidEventError:
                continue
            moved.append((row.event_id, str(event["event_type"]), encode(event)))
            moved_ids.append(row.id)
        target.insert_stamped(moved)
        local.delete_rows(moved_ids)
        adopted += len(moved)


def recover_clock(queue: OfflineQueue, creds: Credentials, node_id: str) -> int:
    """Adopt the server's highest clock for this node, so no value is stamped twice.

    Args:
        queue: The account's queue (its clock is the machine's).
        creds: The fresh credentials.
        node_id: This node.

    Returns:
        The server's high-water mark for the node.

    Raises:
        SpecKittyError: The server could not be asked.
    """
    # The fresh access token, without the session's refresh logic: a login must not rotate
    # the refresh token it has just received. A cursor past every event: no events come
    # back, only the node's high-water mark.
    try:
        with http_client.make_client(creds.server_url) as client:
            response = client.get(EVENTS_PATH, params={
                "limit": 1, "after": "9" * 18, "exclude_node": node_id},
                headers={"Authorization": f"Bearer {creds.access_token}"})
    except httpx.HTTPError as exc:
        raise http_client.transport_error(creds.server_url, exc) from None
    if response.status_code != 200:
        raise http_client.status_error(creds.server_url, response)
    try:
        body = response.json()
    except ValueError:
        raise http_client.unexpected_response(creds.server_url) from None
    high = body.get("node_lamport") if isinstance(body, dict) else None
    high = high if isinstance(high, int) and high >= 0 else 0
    if high:  # nothing to adopt otherwise: leave a queue that does not exist uncreated
        queue.store_pulled([], None, node_id, high)
    return high
