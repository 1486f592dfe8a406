"""A yes/no check compiled from the event schema, cheap enough to run on every pushed event.

fastjsonschema's generated code builds an exception (with the whole rule as a dict literal)
for every `anyOf` branch that does not match, so the many nullable fields of an event cost
more than the checks themselves. `compile_check` turns the same schema parts into one
Python expression per field that only answers "valid for sure". It is conservative: it may
answer no for an event the schema accepts (an integer written as `2.0`, a `str` subclass),
never yes for one the schema refuses, and `spec_kitty_protocol.events.validate` asks
fastjsonschema whenever it answers no, so the verdict and every error message still come
from the schema. A keyword this compiler does not know stops the compilation, so a rule
added to the schema can never be skipped here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from spec_kitty_protocol import constants as _c

_IGNORED = frozenset({"$schema", "$id", "title", "description"})
_DOLLAR = re.compile(r"(?<!\\)\$")
"""fastjsonschema turns every unescaped `$` of a pattern into `\\Z` and searches with it; so
do we, so that `"WP01\\n"` fails here as it does there."""

_TYPE_TESTS = {
    # Exact types: what a JSON parser produces. bool is not an integer (it is an int subclass).
    "string": "type({v}) is str",
    "integer": "type({v}) is int",
    "number": "(type({v}) is int or type({v}) is float)",
    "object": "type({v}) is dict",
    "array": "type({v}) is list",
    "null": "{v} is None",
    "boolean": "type({v}) is bool",
}
_CONSTRAINTS = {"string": {"pattern", "minLength", "maxLength", "enum"},
                "integer": {"minimum", "maximum"}, "number": {"minimum", "maximum"},
                "object": {"properties", "required"}, "array": {"items", "maxItems"}}


_DIGIT0 = bytes.maketrans(b"0123456789", b"0" * 10)
_HEX0 = bytes.maketrans(b"0123456789abcdef", b"0" * 16)
_ULID_CHARS = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_UUID0 = b"00000000-0000-0000-0000-000000000000"
_ULID = "(len({v}) == 26 and {v}.isascii() and not {v}.encode().strip({ulid_chars}))"
_UUID = "(len({v}) == 36 and {v}.isascii() and {v}.encode().translate({hex0}) == {uuid0})"
_SHORTCUTS = {
    _c.ULID_PATTERN: _ULID,
    f"{_c.ULID_PATTERN}|{_c.UUID_PATTERN}": f"({_ULID} or {_UUID})",
    _c.TIMESTAMP_PATTERN: "({v}.isascii() and {v}.encode().translate({digit0}) in {stamps})",
}
"""Tests, at C speed, for patterns of fields that differ from event to event (ids, times),
where a remembered string rarely matches and `re` would run for every event. Each passes
only strings its pattern matches (`tests/protocol/test_fastcheck.py` holds them to it);
whatever they refuse still goes to the pattern. They look at the ASCII bytes (`isascii`
first: no other string matches, and a lone surrogate cannot be encoded). `strip` with the
class's characters leaves nothing only when every character is in the class; `translate`
maps each digit (or hex digit) to `0` and leaves every other byte as it is, so the result
equals a layout only when the digits and the separators are where the pattern puts them."""
_STAMPS = frozenset(b"0000-00-00T00:00:00" + fraction + b"Z"
                    for fraction in (b"", *(b"." + b"0" * n for n in range(1, 7))))
"""The `Z` layouts of `TIMESTAMP_PATTERN` (`+00:00` ones go to the pattern)."""


def shortcut(pattern: str, v: str, name: Callable[[Any], str]) -> str | None:
    """The C-speed test of `pattern` (`_SHORTCUTS`) as an expression of `v`, if it has one.

    Args:
        pattern: A schema pattern.
        v: The name of the tested value in the expression.
        name: Gives the name under which a constant is reachable from the expression.

    Returns:
        A Python expression, true only for strings `pattern` matches; None when the
        pattern has no shortcut.
    """
    template = _SHORTCUTS.get(pattern)
    if template is None:
        return None
    return template.format(v=v, ulid_chars=name(_ULID_CHARS), hex0=name(_HEX0),
                           uuid0=name(_UUID0), digit0=name(_DIGIT0), stamps=name(_STAMPS))


_REMEMBERED = 4096
"""Strings remembered per pattern: an event's slugs, ids and lanes repeat from one event to
the next, and a set look-up costs a fraction of a regular-expression search."""


def _remembered(search: Callable[[str], Any]) -> tuple[set[str], Callable[[str], bool]]:
    """A set of strings known to match, and a matcher that searches and fills it."""
    seen: set[str] = set()

    def match(value: str) -> bool:
        if search(value) is None:
            return False
        if len(seen) >= _REMEMBERED:
            seen.clear()
        seen.add(value)
        return True

    return seen, match


class _Compiler:
    def __init__(self) -> None:
        self.names: dict[str, Any] = {}
        self.functions: list[str] = []

    def constant(self, value: Any) -> str:
        name = f"_c{len(self.names)}"
        self.names[name] = value
        return name

    def expression(self, rule: dict[str, Any], v: str) -> str:
        """A Python expression, true only if the value named `v` satisfies `rule`."""
        keys = set(rule) - _IGNORED
        if "anyOf" in keys:
            if keys != {"anyOf"}:
                raise ValueError(f"anyOf with siblings is not supported: {sorted(keys)}")
            return "(" + " or ".join(self.expression(r, v) for r in rule["anyOf"]) + ")"
        kinds = rule.get("type")
        if isinstance(kinds, list):
            if keys != {"type"}:
                raise ValueError(f"a list of types with constraints is not supported: {rule}")
            return "(" + " or ".join(_TYPE_TESTS[k].format(v=v) for k in kinds) + ")"
        if kinds not in _TYPE_TESTS:
            raise ValueError(f"a rule without a supported type: {rule}")
        unknown = keys - {"type"} - _CONSTRAINTS.get(kinds, set())
        if unknown:
            raise ValueError(f"unsupported keywords for {kinds}: {sorted(unknown)}")
        parts = [_TYPE_TESTS[kinds].format(v=v)]
        if "enum" in rule:
            if not all(type(item) is str for item in rule["enum"]):
                raise ValueError(f"only string enums are supported: {rule['enum']}")
            parts.append(f"{v} in {self.constant(frozenset(rule['enum']))}")
        if "minLength" in rule:
            parts.append(f"len({v}) >= {int(rule['minLength'])}")
        if "maxLength" in rule:
            parts.append(f"len({v}) <= {int(rule['maxLength'])}")
        if "pattern" in rule:
            seen, match = _remembered(re.compile(_DOLLAR.sub(r"\\Z", rule["pattern"])).search)
            quick = shortcut(rule["pattern"], v, self.constant)
            parts.append(f"({quick + ' or ' if quick else ''}{v} in {self.constant(seen)} "
                         f"or {self.constant(match)}({v}))")
        if "minimum" in rule:
            parts.append(f"{v} >= {self.constant(rule['minimum'])}")
        if "maximum" in rule:
            parts.append(f"{v} <= {self.constant(rule['maximum'])}")
        if "maxItems" in rule:
            parts.append(f"len({v}) <= {int(rule['maxItems'])}")
        if "items" in rule:
            parts.append(f"all({self.expression(rule['items'], '_x')} for _x in {v})")
        if kinds == "object" and keys & {"properties", "required"}:
            return f"{self.object_function(rule)}({v})"  # it tests the type itself
        return "(" + " and ".join(parts) + ")"

    def object_function(self, rule: dict[str, Any]) -> str:
        """Define a function checking an object's required keys and properties; its name."""
        name = f"_object{len(self.functions)}"
        self.functions.append("")  # reserve the name before nested objects take theirs
        # The type test is the function's own, so a top-level object rule needs no wrapper.
        lines = [f"def {name}(d):", "    if type(d) is not dict:", "        return False"]
        required = set(rule.get("required", ()))
        if required:
            lines.append(f"    if not d.keys() >= {self.constant(frozenset(required))}:")
            lines.append("        return False")
        for key, sub in rule.get("properties", {}).items():
            # Subscripts rather than d.get(): no method call per field, which is most of
            # the cost once string patterns are remembered.
            pad = "    " if key in required else "        "
            if key not in required:
                lines.append(f"    if {key!r} in d:")
            lines.append(f"{pad}v = d[{key!r}]")
            lines.append(f"{pad}if not {self.expression(sub, 'v')}:")
            lines.append(f"{pad}    return False")
        lines.append("    return True")
        self.functions[int(name.removeprefix("_object"))] = "\n".join(lines)
        return name


def compile_check(rule: dict[str, Any]) -> Callable[[Any], bool]:
    """Compile a schema (the subset the event schema uses) into a yes/no check.

    Args:
        rule: A JSON Schema object using only `type`, `enum`, `pattern`, `minLength`,
            `maxLength`, `minimum`, `maximum`, `properties`, `required`, `items`, `maxItems`
            and `anyOf` (plus annotations).

    Returns:
        A function of a parsed value: True only if the schema accepts it.

    Raises:
        ValueError: The schema uses a keyword, or a combination, this compiler does not know.
    """
    compiler = _Compiler()
    body = compiler.expression(rule, "value")
    source = "\n\n".join([*compiler.functions, f"def check(value):\n    return bool({body})"])
    namespace: dict[str, Any] = dict(compiler.names)
    exec(compile(source, "<spec_kitty_protocol schema check>", "exec"), namespace)  # noqa: S102
    # An object rule (every event part) is its function: one call per check, not two.
    return namespace["_object0"] if body == "_object0(value)" else namespace["check"]
