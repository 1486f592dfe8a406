"""Build-time generators for the documentation site.

Everything here runs inside `mkdocs build` through scripts/mkdocs_hooks.py: the navigation
from toc/, facts inserted from the code, and the reference pages rendered from the code's
own models. Nothing generated is committed.
"""
