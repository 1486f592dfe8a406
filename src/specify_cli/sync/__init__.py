"""The sync engine: credentials, events, the offline queue and the transports to the server."""
