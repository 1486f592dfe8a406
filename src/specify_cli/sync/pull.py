"""Pull: fetch the team's new events from `GET /api/v1/events/` into the local event log.

Pages are requested from the persisted cursor until the server says `has_more` is false.
Each page is stored in one transaction with the new cursor and the Lamport clock's
`receive()`, so a pull killed half-way resumes where it stopped and never skips an event.
The server's high-water mark for this node (`node_lamport`, sent because the pull excludes
the node's own events) is adopted in the same transaction, so after a pull the clock is above
every value the server holds for this node, even if the local clock was lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from spec_kitty_protocol import EVENTS_PATH, MAX_LAMPORT, MAX_PAGE_SIZE
from specify_cli import http_client as _http
from specify_cli._text import plural
from specify_cli.account.session import Session, json_body
from specify_cli.errors import ServerError
from specify_cli.sync.queue import OfflineQueue

PAGE_SIZE = MAX_PAGE_SIZE
"""Events requested per page (the contract's maximum)."""

MAX_PAGES = 1000
"""Most pages (requests) per pull, so a misbehaving server cannot keep the CLI looping
(a million events; the next pull continues from the stored cursor). A server that answers
`has_more` but a cursor it sent before is stopped at once."""


@dataclass
class PullReport:
    """What a pull did.

    Attributes:
        pulled: Events new to the local log.
        pages: Pages fetched.
        cursor: The cursor the next pull resumes from.
    """

    pulled: int = 0
    pages: int = 0
    cursor: str | None = None


def pull(queue: OfflineQueue, session: Session, node_id: str | None, *,
         max_pages: int = MAX_PAGES) -> PullReport:
    """Fetch every new team event into the queue's event log and advance the clock.

    Args:
        queue: The account's scope database.
        session: An `account.session.Session` for the account's server.
        node_id: This node, whose Lamport clock receives the pulled values.
        max_pages: Stop after this many pages (the next pull continues).

    Returns:
        The report.

    Raises:
        ServerError: The server failed, answered something that is not the promised JSON, or
            said `has_more` with a cursor it had already sent.
        NotAuthenticatedError: The server refused the session even after a refresh.
    """
    report = PullReport(cursor=queue.get_state().get("pull_cursor"))
    seen = {hash(report.cursor)}  # hashes: a hostile server's cursors may be huge
    while report.pages < max_pages:
        params: dict[str, str | int] = {"limit": PAGE_SIZE}
        if node_id is not None:
            # This node's own events are already known here: don't download them back.
            # (A server without this extension ignores it; store_pulled copes with both.)
            params["exclude_node"] = node_id
        if report.cursor is not None:
            params["after"] = report.cursor
        response = session.request("GET", EVENTS_PATH, params=params)
        if response.status_code != 200:
            raise _http.status_error(session.server_url, response)
        body = json_body(session, response)
        if (not isinstance(body, dict) or not isinstance(body.get("events"), list)
                or not isinstance(body.get("next_cursor", ""), (str, int, type(None)))):
            raise _http.unexpected_response(session.server_url)
        events = [e for e in body["events"] if isinstance(e, dict)]
        cursor = body.get("next_cursor")
        cursor = str(cursor) if cursor is not None else report.cursor
        stuck = hash(cursor) in seen
        seen.add(hash(cursor))
        own_high = body.get("node_lamport")
        own_high = own_high if isinstance(own_high, int) and 0 <= own_high <= MAX_LAMPORT else 0
        report.pulled += queue.store_pulled(events, cursor, node_id, own_high)
        report.pages += 1
        report.cursor = cursor
        if not body.get("has_more") or not events:
            break
        if stuck:
            raise ServerError(f"the server at {session.server_url} said it has more events but "
                              f"sent a cursor it had sent before, so the pull stopped after "
                              f"{plural(report.pages, 'page')}; the events pulled so far are "
                              "kept; try again later, or tell the server's administrator")
    return report

