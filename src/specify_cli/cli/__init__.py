"""The `spec-kitty` command-line interface.

Its one console style is exported here for code that must print exactly as the commands do
(the hostile-server tests, say): `error` and `warn` print one prefixed line on stderr, `info`
prints on stdout, and none lets a control character through.
"""

from specify_cli.cli._output import error, info, warn

__all__ = ["error", "info", "warn"]
