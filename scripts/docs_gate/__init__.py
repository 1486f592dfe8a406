"""The docs gate: proves the published docs agree with the CLI, the server and Netlify.

Run it as `python -m scripts.docs_gate` (that is what `./scripts/build` does). Each check lives
in its own module and returns a `Result`; `__main__` runs them in order and prints one line each.
"""
