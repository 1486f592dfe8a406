"""One module per command group, each exposing a Typer `app`; `sync_now` and `sync_status` hold
what `spec-kitty sync now` and `spec-kitty sync status` do and print."""
