"""The one place that builds HTTP clients and turns transport failures into user messages.

Credentials, the authenticated session and the sync engine all reach the server through it.
"""

from __future__ import annotations

import os
import re
import ssl
from urllib.parse import urlsplit

import httpx

from specify_cli import __version__, config
from specify_cli._text import without_surrogates
from specify_cli.docs_links import see
from specify_cli.errors import ConfigError, ServerError

USER_AGENT = f"spec-kitty/{__version__}"
"""The `User-Agent` header of every request the CLI makes."""


def make_client(base_url: str, timeout: float | None = None) -> httpx.Client:
    """Return an `httpx.Client` for the server with timeouts and the spec-kitty User-Agent.

    Args:
        base_url: The server URL.
        timeout: Seconds per request; `server.timeout_seconds` from the config by default.

    Raises:
        ConfigError: `SSL_CERT_FILE` names a file that is missing or holds no certificate.
    """
    seconds = float(timeout if timeout is not None else config.get("server.timeout_seconds"))
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(seconds, connect=min(seconds, 5.0)),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        verify=_ssl_context(),
    )


_contexts: dict[tuple[str | None, str | None], object] = {}


def _ssl_context():
    """The TLS context of every client, built once per process and trust settings.

    Loading the CA bundle is most of what building an `httpx.Client` costs (0.02-0.2 s), and
    a command may build several clients. httpx reads `SSL_CERT_FILE` even for a plain-http
    URL, so a bad one is reported here, as one line.
    """
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = _contexts.get(key)
    if context is None:
        try:
            context = _contexts[key] = httpx.create_ssl_context()
        except OSError as exc:
            raise _certificate_file_error(exc) from None
    return context


def _certificate_file_error(exc: OSError) -> ConfigError:
    """Return the error for an `SSL_CERT_FILE` that cannot be loaded (missing, not PEM...)."""
    path = os.environ.get("SSL_CERT_FILE", "")
    reason = ("it holds no PEM certificate" if isinstance(exc, ssl.SSLError)
              else exc.strerror or str(exc))
    return ConfigError(f"SSL_CERT_FILE={path} cannot be used ({reason}); point it at the "
                       "server's PEM certificate, or unset it" + see("ssl-cert-file"))


def transport_error(base_url: str, exc: httpx.HTTPError) -> ServerError:
    """Translate an httpx transport failure into a one-line `ServerError`.

    Args:
        base_url: The server URL, named in the message.
        exc: The exception httpx raised.
    """
    if isinstance(exc, httpx.TimeoutException):
        return ServerError(f"the server at {base_url} did not answer in time" + see("timeout"))
    if _is_certificate_error(exc):
        return ServerError(f"the TLS certificate of {base_url} is not trusted; for your own "
                           "server, set SSL_CERT_FILE to its certificate"
                           + see("untrusted-certificate"))
    return ServerError(f"cannot reach the server at {base_url}" + see("unreachable"))


def _is_certificate_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(5):  # the ssl error sits a few causes down inside httpx's ConnectError
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def status_error(base_url: str, response: httpx.Response) -> ServerError:
    """Translate an unexpected HTTP status into a one-line `ServerError` carrying the status.

    Args:
        base_url: The server URL, named in the message.
        response: The response with the unexpected status.
    """
    code = response.status_code
    if code in _NOT_A_SYNC_API:
        return ServerError(f"the server at {base_url} has no spec-kitty sync API (HTTP {code}); "
                           + _url_advice(base_url) + see("no-sync-api"), status=code)
    if code >= 500:
        return ServerError(f"the server at {base_url} is temporarily unavailable "
                           f"(HTTP {code}); try again later" + see("server-unavailable"),
                           status=code)
    return ServerError(f"the server at {base_url} answered HTTP {code}: {_detail(response)}",
                       status=code)


_NOT_A_SYNC_API = frozenset({404, 405, 501})
"""Statuses a sync server never answers on its own endpoints: another server is at the URL
(or the URL has a path that should not be there)."""


def _url_advice(base_url: str) -> str:
    parts = urlsplit(base_url)
    index = parts.path.find("/api")
    if index >= 0:
        base = f"{parts.scheme}://{parts.netloc}{parts.path[:index]}"
        return f"drop `{parts.path[index:]}` from the URL: `spec-kitty sync server {base}`"
    return ("check that the URL is the sync server's base URL, and set it with "
            "`spec-kitty sync server URL`")


def json_of(response: httpx.Response):
    """Return a response's JSON body, safe to store and print.

    Raises:
        ValueError: The body is not JSON, or is nested too deep for the parser.
    """
    try:
        data = response.json()
    except RecursionError:  # a body nested thousands of levels deep
        raise ValueError("JSON nested too deep") from None
    if re.search(r"\\u[dD][89a-fA-F]", response.text):
        data = without_surrogates(data)
    return data


def unexpected_response(base_url: str) -> ServerError:
    """Return the error for a body that is not the JSON the protocol promises."""
    return ServerError(f"the server at {base_url} sent an unexpected response; "
                       "is it a spec-kitty sync server?" + see("unexpected-response"))


def _detail(response: httpx.Response) -> str:
    try:
        detail = json_of(response).get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = str(detail) if detail else response.reason_phrase
    return " ".join(text.split())[:200]
