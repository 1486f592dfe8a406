"""Work packages of a feature (`kitty-specs/<NNN-slug>/`) and the actions that emit sync events."""
