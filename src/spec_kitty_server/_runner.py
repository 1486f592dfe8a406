"""Runs the app on uvicorn: binds the socket first (so `--port 0` can print the real port),
serves HTTP or HTTPS with header and body timeouts (`_protocol`), and stops cleanly on
SIGINT or SIGTERM.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import socket
import sys
import threading
from collections.abc import Generator

import uvicorn

from spec_kitty_server._protocol import protocol_class
from spec_kitty_server.app import create_app
from spec_kitty_server.settings import ServerSettings, SettingsError

GC_THRESHOLD = 50_000
"""Containers allocated (net of those freed) between two young garbage collections."""


class _Server(uvicorn.Server):
    """uvicorn's server without re-raising the stop signal after a graceful shutdown, which
    says `Serving on URL` once it is ready: the app started and Ctrl-C handled gracefully."""

    def __init__(self, config: uvicorn.Config, banner: str) -> None:
        super().__init__(config)
        self._banner = banner

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(self._banner, flush=True)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        originals = {sig: signal.signal(sig, self.handle_exit)
                     for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


def configure_logging() -> None:
    """Send the server's log lines to stderr: one line per request, warnings from uvicorn."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                           "%Y-%m-%dT%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _raise_open_files_limit() -> None:
    # Every open connection holds a descriptor; the soft limit (often 1024) is reached long
    # before the hard one, and then new connections, health checks included, are refused.
    try:
        import resource  # lazily: Unix only (the ImportError below)

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY
                                                        else max(soft, 65536), hard))
    except (ImportError, ValueError, OSError):  # not Unix, or not allowed: keep the limit
        pass


def serve(settings: ServerSettings, host: str, port: int, certfile: str | None = None,
          keyfile: str | None = None) -> None:
    """Serve until SIGINT or SIGTERM.

    Args:
        settings: The instance settings.
        host: Address to listen on.
        port: Port to listen on (0 picks a free one).
        certfile: TLS certificate (PEM), for HTTPS.
        keyfile: TLS private key (PEM).

    Raises:
        SettingsError: The address, certificate or database is unusable.
    """
    configure_logging()
    app = create_app(settings)
    _raise_open_files_limit()
    http = protocol_class(settings.header_timeout, settings.body_timeout)
    config = uvicorn.Config(app, log_config=None, access_log=False, http=http,
                            ws="websockets-sansio", lifespan="on", server_header=False,
                            ssl_certfile=certfile, ssl_keyfile=keyfile, ws_max_size=1 << 20,
                            timeout_graceful_shutdown=3, proxy_headers=False)
    try:
        config.load()
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot load the TLS certificate or key: {exc}") from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets whose proto says TCP,
    # and without it every small response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SettingsError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    except (socket.gaierror, UnicodeError) as exc:
        sock.close()
        raise SettingsError(f"cannot listen on {host}:{port}: {exc}") from None
    sock.listen(1024)
    actual = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if certfile else "http"
    # Everything loaded so far (modules, the app, templates) lives as long as the process:
    # frozen, the collector's full passes no longer walk it, which a batch push of
    # thousands of short-lived dicts triggers again and again (about a fifth of ingest CPU).
    gc.freeze()
    # A pushed batch of 1,000 events holds some 30,000 short-lived containers at once (parsed
    # events, their checks, rows and results), all freed with the request; at the default
    # threshold of 700 every batch paid ~40 young collections that walk them (~7 % of ingest
    # CPU). Collections still run, once this many more containers are alive than freed.
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
    _Server(config, f"Serving on {scheme}://{shown}:{actual}").run(sockets=[sock])
    print("Stopped.", flush=True)
