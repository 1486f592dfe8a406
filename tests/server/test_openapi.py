"""The OpenAPI document is the single source of the API reference: it must match the app."""

from __future__ import annotations

import httpx
from starlette.routing import Mount, Route, WebSocketRoute

from spec_kitty_server.app import routes
from spec_kitty_server.openapi import OPENAPI


def _app_operations() -> set[tuple[str, str]]:
    operations = set()
    for route in routes():
        if isinstance(route, Mount):
            continue
        if isinstance(route, WebSocketRoute):
            operations.add((route.path, "get"))
            continue
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method != "HEAD":
                operations.add((route.path, method.lower()))
    return operations


def _document_operations() -> set[tuple[str, str]]:
    return {(path, method) for path, item in OPENAPI["paths"].items() for method in item}


def test_every_route_documented_and_vice_versa():
    assert _app_operations() == _document_operations()


def test_every_operation_is_complete():
    ids = set()
    for path, item in OPENAPI["paths"].items():
        for method, operation in item.items():
            assert operation["summary"] and operation["operationId"] not in ids, (path, method)
            ids.add(operation["operationId"])
            assert operation["responses"], (path, method)
            for status, response in operation["responses"].items():
                assert status.isdigit() and response["description"], (path, method, status)
            if path.startswith("/api/") and method == "post" and "ws-token" not in path:
                assert "requestBody" in operation, path
    schemas = OPENAPI["components"]["schemas"]
    refs = []

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(OPENAPI)
    assert refs and all(ref.removeprefix("#/components/schemas/") in schemas for ref in refs)
    assert "pattern" in schemas["Event"]["properties"]["event_type"]


def test_served_document_matches_module(shared_server):
    r = httpx.get(f"{shared_server.url}/api/v1/openapi.json")
    assert r.status_code == 200 and r.json() == OPENAPI
