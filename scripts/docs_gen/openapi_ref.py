"""The server API reference, rendered from the reference server's OpenAPI 3 document."""

from __future__ import annotations

import importlib
import json
from typing import Any

from scripts.docs_gen.schema_md import anchor, cell, code, fields_table, type_of

MODULE = "spec_kitty_server.openapi"
CANDIDATES = ("OPENAPI", "openapi", "build_openapi", "openapi_document", "get_openapi",
              "document", "spec")
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


class NotAvailable(Exception):
    """The server's OpenAPI module does not exist (yet) in this tree."""


def load_document() -> dict[str, Any]:
    """Import the OpenAPI document from the server package.

    Raises:
        NotAvailable: The module does not exist.
        ValueError: The module exists but exposes no OpenAPI dict.
    """
    try:
        module = importlib.import_module(MODULE)
    except ModuleNotFoundError as exc:
        if exc.name and MODULE.startswith(exc.name):
            raise NotAvailable(MODULE) from None
        raise
    for name in CANDIDATES:
        value = getattr(module, name, None)
        if callable(value):
            value = value()
        if isinstance(value, dict) and "paths" in value:
            return value
    raise ValueError(f"{MODULE} exposes no OpenAPI dict (looked for {', '.join(CANDIDATES)})")


def _resolver(doc: dict[str, Any]):
    def resolve(ref: str) -> dict[str, Any]:
        node: Any = doc
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return node

    return resolve


def _deref(schema: dict[str, Any], resolve) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 10:
        schema = resolve(schema["$ref"])
        seen += 1
    return schema


def _schema_block(schema: dict[str, Any], resolve, lines: list[str]) -> None:
    target = _deref(schema, resolve)
    if target.get("type") == "object" or "properties" in target:
        table = fields_table(target, None)
        if table:
            lines += table + [""]
        else:
            lines += ["A JSON object.", ""]
        for name, sub in target.get("properties", {}).items():
            sub = _deref(sub, resolve)
            items = sub.get("items")
            if sub.get("type") == "array" and isinstance(items, dict):
                inner = _deref(items, resolve)
                if inner.get("properties"):
                    lines += [f"Each item of {code(name)}:", ""]
                    lines += fields_table(inner, None) + [""]
    else:
        lines += [f"Type: {type_of(target)}", ""]


def _example(media: dict[str, Any]) -> Any:
    if "example" in media:
        return media["example"]
    examples = media.get("examples") or {}
    for ex in examples.values():
        if isinstance(ex, dict) and "value" in ex:
            return ex["value"]
    return None


def _content(content: dict[str, Any], resolve, lines: list[str]) -> None:
    for media_type, media in content.items():
        lines += [f"Content type {code(media_type)}.", ""]
        schema = media.get("schema")
        if isinstance(schema, dict):
            _schema_block(schema, resolve, lines)
        example = _example(media)
        if example is not None:
            lines += ["```json", json.dumps(example, indent=2), "```", ""]


def operation_id(method: str, path: str) -> str:
    """The heading id of one endpoint, such as `post-apiv1token`."""
    return anchor(f"{method.upper()} {path}")


def render() -> str:
    """Every endpoint: method, path, auth, parameters, request body, each status and body."""
    try:
        doc = load_document()
    except NotAvailable:
        return ("!!! warning \"Not generated yet\"\n    The reference server's OpenAPI "
                f"document (`{MODULE}`) is not in this build yet.\n")
    resolve = _resolver(doc)
    info = doc.get("info", {})
    lines: list[str] = []
    if info.get("description"):
        lines += [info["description"], ""]
    lines += ["| Method | Path | Summary |", "| --- | --- | --- |"]
    ops: list[tuple[str, str, dict[str, Any]]] = []
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                ops.append((method, path, item[method]))
    for method, path, op in ops:
        lines.append(f"| {method.upper()} | [{code(path)}](#{operation_id(method, path)}) | "
                     f"{cell(op.get('summary', ''))} |")
    lines.append("")
    global_security = doc.get("security")
    for method, path, op in ops:
        lines += [f"### {method.upper()} {path}", ""]
        if op.get("summary"):
            lines += [f"**{op['summary'].rstrip('.')}.**", ""]
        if op.get("description"):
            lines += [op["description"], ""]
        security = op.get("security", global_security)
        if security:
            schemes = sorted({name for req in security for name in req})
            if schemes:
                lines += [f"Authentication: {', '.join(code(s) for s in schemes)}.", ""]
            else:
                lines += ["Authentication: none.", ""]
        params = op.get("parameters", []) + doc["paths"][path].get("parameters", [])
        if params:
            lines += ["| Parameter | In | Type | Required | Description |",
                      "| --- | --- | --- | --- | --- |"]
            for param in params:
                param = _deref(param, resolve)
                schema = param.get("schema", {})
                lines.append(f"| {code(param['name'])} | {param.get('in', '')} | "
                             f"{cell(type_of(_deref(schema, resolve)))} | "
                             f"{'yes' if param.get('required') else 'no'} | "
                             f"{cell(param.get('description', ''))} |")
            lines.append("")
        body = op.get("requestBody")
        if body:
            body = _deref(body, resolve)
            lines += ["**Request body**" + (" (required)" if body.get("required") else ""), ""]
            if body.get("description"):
                lines += [body["description"], ""]
            _content(body.get("content", {}), resolve, lines)
        lines += ["**Responses**", ""]
        for status, response in op.get("responses", {}).items():
            response = _deref(response, resolve)
            lines += [f"- **{status}**: {response.get('description', '')}"]
            headers = response.get("headers") or {}
            for header, spec in headers.items():
                lines.append(f"    - header {code(header)}: "
                             f"{_deref(spec, resolve).get('description', '')}")
        lines.append("")
        for status, response in op.get("responses", {}).items():
            response = _deref(response, resolve)
            if response.get("content"):
                lines += [f"Body of **{status}**:", ""]
                _content(response["content"], resolve, lines)
    return "\n".join(lines) + "\n"
