"""A login's save waits for the credentials lock, like a token refresh does, so the two never
interleave (the configuration page says the file is written under a file lock)."""

from __future__ import annotations

import threading
import time

from specify_cli import file_lock
from specify_cli.account import credentials as auth


def test_save_credentials_waits_for_the_credentials_lock(home):
    later = time.time() + 3600
    creds = auth.Credentials(server_url="http://127.0.0.1:9", username="alice",
                             team_slug="acme", access_token="a", refresh_token="r",
                             access_expires_at=later, refresh_expires_at=later)
    home.mkdir(mode=0o700)
    saved = threading.Event()
    with file_lock(auth._lock_path()):
        writer = threading.Thread(target=lambda: (auth.save_credentials(creds), saved.set()))
        writer.start()
        # While another holder has the lock the save cannot happen, however slow the machine.
        assert not saved.wait(0.5)
        assert not auth.credentials_path().exists()
    writer.join(30)
    assert saved.is_set() and auth.load_credentials().username == "alice"
