"""drf-spectacular hooks.

Every API view may answer with the one error shape (mentorship/exceptions.py): the
authentication and permission checks run before any view code, path ids may name
nothing, and every write is rate-limited (accounts.throttles.WriteRateThrottle). Views
declare the errors particular to them; this hook adds these common ones to every
operation that does not declare them already, so the schema never misses one.
"""

from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}
UNSAFE = {"post", "put", "patch", "delete"}


def _error(description: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": ERROR_REF}}, "description": description}


def add_common_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Declare 400/401/403 everywhere, 404 where the path names an object, 429 on writes."""
    if "Error" not in result.get("components", {}).get("schemas", {}):
        return result
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            responses.setdefault("400", _error("Invalid input"))
            responses.setdefault("401", _error("Not signed in"))
            responses.setdefault("403", _error("Not allowed"))
            if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                responses.setdefault("404", _error("Not found"))
            if method in UNSAFE:
                responses.setdefault("429", _error("Too many requests"))
            operation["responses"] = dict(sorted(responses.items()))
    return result
