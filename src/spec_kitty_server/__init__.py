"""The spec-kitty reference sync server: HTTP + WebSocket API and team dashboards."""

__version__ = "0.1.0"
