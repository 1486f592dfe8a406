"""The server API reference, rendered from the reference server's OpenAPI 3 document."""

from __future__ import annotations

from typing import Any

from scripts.docs_gen.schema_md import anchor, cell, code, constraints, fields_table, type_of
from spec_kitty_server.openapi import OPENAPI

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


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


def _schema_link(schema: dict[str, Any], resolve) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{anchor(name)})"
    return type_of(schema, resolve)


def _media_summary(content: dict[str, Any], resolve) -> str:
    parts = []
    for media_type, media in content.items():
        schema = media.get("schema")
        body = _schema_link(schema, resolve) if isinstance(schema, dict) else "any"
        parts.append(f"{body} ({code(media_type)})")
    return ", ".join(parts)


def _example(media: dict[str, Any]) -> Any:
    if "example" in media:
        return media["example"]
    for ex in (media.get("examples") or {}).values():
        if isinstance(ex, dict) and "value" in ex:
            return ex["value"]
    return None


def operation_id(method: str, path: str) -> str:
    """The heading id of one endpoint, such as `post-apiv1token`."""
    return anchor(f"{method.upper()} {path}")


def _operation(method: str, path: str, op: dict[str, Any], doc: dict[str, Any],
               resolve) -> list[str]:
    lines = [f"### {method.upper()} {path}", ""]
    if op.get("summary"):
        lines += [f"**{op['summary'].rstrip('.')}.**", ""]
    if op.get("description"):
        lines += [op["description"], ""]
    security = op.get("security", doc.get("security"))
    if security is not None:
        schemes = sorted({name for req in security for name in req})
        lines += [f"Authentication: {', '.join(code(s) for s in schemes) or 'none'}.", ""]
    params = op.get("parameters", []) + doc["paths"][path].get("parameters", [])
    if params:
        lines += ["| Parameter | In | Type | Required | Description |",
                  "| --- | --- | --- | --- | --- |"]
        for param in params:
            param = _deref(param, resolve)
            schema = _deref(param.get("schema", {}), resolve)
            lines.append(f"| {code(param['name'])} | {param.get('in', '')} | "
                         f"{cell(type_of(schema))} | {'yes' if param.get('required') else 'no'}"
                         f" | {cell(param.get('description', '') or constraints(schema))} |")
        lines.append("")
    body = op.get("requestBody")
    if body:
        body = _deref(body, resolve)
        required = " (required)" if body.get("required") else ""
        lines += [f"Request body{required}: {_media_summary(body.get('content', {}), resolve)}.",
                  ""]
        if body.get("description"):
            lines += [body["description"], ""]
    responses = op.get("responses", {})
    if responses:
        lines += ["| Status | Meaning | Body |", "| --- | --- | --- |"]
        for status, response in responses.items():
            response = _deref(response, resolve)
            meaning = response.get("description", "")
            for header, spec in (response.get("headers") or {}).items():
                meaning += f" Header {code(header)}: {_deref(spec, resolve).get('description', '')}"
            content = response.get("content")
            lines.append(f"| {status} | {cell(meaning)} | "
                         f"{cell(_media_summary(content, resolve)) if content else ' '} |")
        lines.append("")
    ws = op.get("x-websocket-messages")
    if isinstance(ws, dict):
        for side, title in (("server", "Server to client"), ("client", "Client to server")):
            if ws.get(side):
                lines += [f"{title} messages:", ""]
                lines += [f"- {code(m)}" for m in ws[side]] + [""]
        if ws.get("close_codes"):
            lines += ["| Close code | Meaning |", "| --- | --- |"]
            lines += [f"| {c} | {cell(m)} |" for c, m in ws["close_codes"].items()] + [""]
    return lines


def render() -> str:
    """Every endpoint (method, path, auth, parameters, body, each status) and every schema."""
    doc = OPENAPI
    resolve = _resolver(doc)
    info = doc.get("info", {})
    lines: list[str] = []
    if info.get("description"):
        lines += [info["description"], ""]
    ops = [(m, p, item[m]) for p, item in doc["paths"].items() for m in METHODS if m in item]
    tags = [t["name"] for t in doc.get("tags", [])]
    for _method, _path, op in ops:
        for tag in op.get("tags", []):
            if tag not in tags:
                tags.append(tag)
    groups = [(t, [o for o in ops if t in o[2].get("tags", [])]) for t in tags]
    untagged = [o for o in ops if not o[2].get("tags")]
    if untagged:
        groups.append(("other", untagged))
    tag_text = {t["name"]: t.get("description", "") for t in doc.get("tags", [])}
    lines += ["| Method | Path | Summary |", "| --- | --- | --- |"]
    for _, group in groups:
        for method, path, op in group:
            lines.append(f"| {method.upper()} | [{code(path)}](#{operation_id(method, path)}) | "
                         f"{cell(op.get('summary', ''))} |")
    lines.append("")
    schemes = doc.get("components", {}).get("securitySchemes", {})
    if schemes:
        lines += ["Authentication schemes:", ""]
        for name, scheme in schemes.items():
            what = scheme.get("scheme") or scheme.get("type", "")
            extra = scheme.get("bearerFormat") or scheme.get("name") or ""
            lines.append(f"- {code(name)}: {what} {extra}".rstrip())
        lines.append("")
    for tag, group in groups:
        if not group:
            continue
        lines += [f"## {tag.capitalize()} endpoints", ""]
        if tag_text.get(tag):
            lines += [tag_text[tag], ""]
        for method, path, op in group:
            lines += _operation(method, path, op, doc, resolve)
    schemas = doc.get("components", {}).get("schemas", {})
    if schemas:
        lines += ["## Schemas", ""]
        for name, schema in schemas.items():
            lines += [f"### {name}", ""]
            if schema.get("description"):
                lines += [schema["description"], ""]
            if schema.get("allOf"):
                parts = [_schema_link(part, resolve) for part in schema["allOf"]
                         if "$ref" in part]
                if parts:
                    lines += [f"Everything in {', '.join(parts)}, plus:", ""]
                extra = {"properties": {}, "required": []}
                for part in schema["allOf"]:
                    if "$ref" not in part:
                        extra["properties"].update(part.get("properties", {}))
                        extra["required"] += part.get("required", [])
                if extra["properties"]:
                    lines += fields_table(extra, resolve) + [""]
            elif schema.get("properties"):
                lines += fields_table(schema, resolve) + [""]
            else:
                rules = constraints(schema)
                lines += [f"Type: {type_of(schema, resolve)}" + (f"; {rules}" if rules else "")
                          + ".", ""]
    return "\n".join(lines) + "\n"
