"""Browser sessions and CSRF tokens for the dashboards.

The session cookie holds a random value; the database stores only its SHA-256. CSRF tokens
are HMACs bound to the session (or, before login, to a random `sk_login` cookie), so a form
can only be posted from a page this server rendered for the same browser.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from starlette.requests import Request
from starlette.responses import Response

from spec_kitty_server import credentials
from spec_kitty_server._state import AppState
from spec_kitty_server.accounts import User, get_user
from spec_kitty_server.settings import SESSION_LIFETIME

SESSION_COOKIE = "sk_session"
"""Name of the session cookie."""

LOGIN_COOKIE = "sk_login"
"""Name of the pre-login cookie the login form's CSRF token is bound to."""


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _same(expected: str, submitted: str) -> bool:
    # compare_digest refuses non-ASCII str; a token is hex, so anything else is simply wrong.
    return submitted.isascii() and hmac.compare_digest(expected, submitted)


def _sign(st: AppState, purpose: str, value: str) -> str:
    key = hashlib.sha256(("csrf|" + st.settings.secret).encode()).digest()
    return hmac.new(key, f"{purpose}|{value}".encode("utf-8", "surrogatepass"),
                    hashlib.sha256).hexdigest()


def set_cookie(st: AppState, response: Response, name: str, value: str, max_age: int) -> None:
    """Set an HttpOnly, SameSite=Lax cookie (Secure when served over TLS).

    Args:
        st: The app state.
        response: The response to add it to.
        name: Cookie name.
        value: Cookie value.
        max_age: Lifetime in seconds.
    """
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=st.settings.tls)


def clear_cookie(st: AppState, response: Response, name: str) -> None:
    """Delete a cookie.

    Args:
        st: The app state.
        response: The response to add the deletion to.
        name: Cookie name.
    """
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=st.settings.tls)


def login_nonce(request: Request) -> tuple[str, bool]:
    """The pre-login nonce of this browser, or a new one.

    Args:
        request: The request.

    Returns:
        The nonce and whether it is new (then it must be set as a cookie).
    """
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if 20 <= len(nonce) <= 100 and nonce.isascii():
        return nonce, False
    return secrets.token_urlsafe(24), True


def login_csrf(st: AppState, nonce: str) -> str:
    """The CSRF token of the login form.

    Args:
        st: The app state.
        nonce: The browser's pre-login nonce.

    Returns:
        The token.
    """
    return _sign(st, "login", nonce)


def check_login_csrf(st: AppState, request: Request, submitted: str) -> bool:
    """Whether a login form's CSRF token matches this browser's nonce.

    Args:
        st: The app state.
        request: The request.
        submitted: The token from the form.

    Returns:
        Whether it is valid.
    """
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or not submitted:
        return False
    return _same(login_csrf(st, nonce), submitted)


async def start_session(st: AppState, response: Response, user: User) -> None:
    """Create a session for a user and set its cookie.

    Args:
        st: The app state.
        response: The response to add the cookie to.
        user: Who logged in.
    """
    value = secrets.token_urlsafe(32)
    await st.db.write(credentials.create_session, _hash(value), user.username,
                      int(time.time()) + SESSION_LIFETIME)
    set_cookie(st, response, SESSION_COOKIE, value, SESSION_LIFETIME)
    clear_cookie(st, response, LOGIN_COOKIE)


def session_id_hash(request: Request) -> str | None:
    """The stored hash of this browser's session cookie.

    Args:
        request: The request.

    Returns:
        The hash, or `None` without a cookie.
    """
    value = request.cookies.get(SESSION_COOKIE)
    if not value or len(value) > 200:
        return None
    return _hash(value)


async def current_user(st: AppState, request: Request) -> User | None:
    """The logged-in user of a request.

    Args:
        st: The app state.
        request: The request.

    Returns:
        The user, or `None` when not logged in (or disabled).
    """
    id_hash = session_id_hash(request)
    if id_hash is None:
        return None
    username = await st.db.read(credentials.session_user, id_hash)
    user = await st.db.read(get_user, username) if username else None
    return user if user and not user.disabled else None


def session_csrf(st: AppState, request: Request) -> str:
    """The CSRF token of forms shown to a logged-in browser.

    Args:
        st: The app state.
        request: The request.

    Returns:
        The token (empty without a session).
    """
    id_hash = session_id_hash(request)
    return _sign(st, "session", id_hash) if id_hash else ""


def check_session_csrf(st: AppState, request: Request, submitted: str) -> bool:
    """Whether a logged-in form's CSRF token matches this browser's session.

    Args:
        st: The app state.
        request: The request.
        submitted: The token from the form.

    Returns:
        Whether it is valid (never without a session).
    """
    expected = session_csrf(st, request)
    return bool(expected and submitted) and _same(expected, submitted)


async def end_session(st: AppState, request: Request, response: Response) -> None:
    """Delete the session and its cookie.

    Args:
        st: The app state.
        request: The request.
        response: The response to clear the cookie on.
    """
    id_hash = session_id_hash(request)
    if id_hash:
        await st.db.write(credentials.delete_session, id_hash)
    clear_cookie(st, response, SESSION_COOKIE)
