"""The project: its root, its `.kittify/config.yaml`, and the identity stamped on its events."""
