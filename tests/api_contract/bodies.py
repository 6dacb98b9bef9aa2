"""Request bodies built from the live OpenAPI schema.

A test that must send a *plausible* body to every write (so that only the one
thing under test is wrong) takes the fields the operation documents, fills the
ones it knows from ``known`` (ids of the caller's own objects, sane amounts)
and gives every other required field a value of its documented type.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from rest_framework.test import APIClient

from tests.api_contract.routes import Route


def fetch_schema(client: APIClient) -> dict[str, Any]:
    response = client.get("/api/v1/schema?format=json")
    assert response.status_code == 200, response.content[:300]
    return response.json()


def path_template(route: Route) -> str:
    return unquote(route.url({k: "{" + k + "}" for k in route.kwargs}))


class Bodies:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = self.schema["components"]["schemas"][name]
        if isinstance(node, dict) and "allOf" in node:
            # drf-spectacular wraps a referenced enum as allOf: [{$ref}] (+ description).
            merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
            for part in node["allOf"]:
                part = self.resolve(part)
                for key, value in part.items():
                    if key == "properties":
                        merged.setdefault("properties", {}).update(value)
                    elif key == "required":
                        merged["required"] = [*merged.get("required", []), *value]
                    else:
                        merged.setdefault(key, value)
            return merged
        return node

    def request_schema(self, route: Route, method: str) -> dict[str, Any] | None:
        operation = self.schema.get("paths", {}).get(path_template(route), {}).get(method)
        if not operation or "requestBody" not in operation:
            return None
        content = operation["requestBody"].get("content", {})
        media = content.get("application/json") or next(iter(content.values()), None)
        return self.resolve(media.get("schema")) if media else None

    def body(self, route: Route, method: str, known: dict[str, Any]) -> dict[str, Any]:
        schema = self.request_schema(route, method)
        if not schema:
            return {}
        required = set(schema.get("required", []))
        body: dict[str, Any] = {}
        for name, prop in schema.get("properties", {}).items():
            prop = self.resolve(prop)
            if prop.get("readOnly"):
                continue
            if name in known:
                body[name] = known[name]
            elif name in required:
                body[name] = self.value(prop, known)
        return body

    def value(self, prop: dict[str, Any], known: dict[str, Any]) -> Any:
        prop = self.resolve(prop)
        if "enum" in prop:
            return next(v for v in prop["enum"] if v is not None)
        for key in ("oneOf", "anyOf"):
            if key in prop:
                return self.value(prop[key][0], known)
        kind = prop.get("type")
        if isinstance(kind, list):
            kind = next(k for k in kind if k != "null")
        if kind == "integer":
            return max(int(prop.get("minimum", 1)), 1)
        if kind == "number":
            return max(prop.get("minimum", 1), 1)
        if kind == "boolean":
            return False
        if kind == "array":
            return []
        if kind == "object":
            return {}
        if prop.get("format") == "date-time":
            return known["_future"]
        if prop.get("format") == "email":
            return "probe@example.com"
        if prop.get("format") == "uri":
            return "https://example.com/probe"
        return "probe"
