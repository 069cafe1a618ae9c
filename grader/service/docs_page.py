"""`/docs`: the API's reference as one server-rendered page, made from the app's own OpenAPI document.

FastAPI's default /docs loads Swagger UI from a CDN, which a course server without internet
access (and the project's rule: no asset from a CDN) cannot use. This page needs no script and
one stylesheet served by the app (static/docs.css: the Content-Security-Policy allows no inline
style): every endpoint with its parameters, bodies and answers, and every model with its fields
and their descriptions. `/openapi.json` remains for tools.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter()



def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _type(schema: dict[str, Any]) -> str:
    """A schema's type as a short text, models named (and linked)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#model-{_e(name)}">{_e(name)}</a>'
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(f"<code>{_e(v)}</code>" for v in schema["enum"])
    if "const" in schema:
        return f"<code>{_e(schema['const'])}</code>"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
        return f"object of {_type(schema['additionalProperties'])}"
    return _e(kind) + (f" ({_e(schema['format'])})" if "format" in schema else "")


def _fields(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{_e(name)}</code>{'' if name in required else ' <small>optional</small>'}</td>"
        f"<td>{_type(field)}</td><td>{_e(field.get('description', ''))}</td></tr>"
        for name, field in schema.get("properties", {}).items()
    )
    return f"<table><tr><th>field</th><th>type</th><th>meaning</th></tr>{rows}</table>" if rows else ""


def render(document: dict[str, Any]) -> str:
    """The reference page of an OpenAPI document (every text escaped)."""
    info = document.get("info", {})
    parts = [f"<!doctype html><html lang=en><meta charset=utf-8><title>{_e(info.get('title', 'API'))} API</title>",
             '<meta name="viewport" content="width=device-width, initial-scale=1">'
             '<link rel="stylesheet" href="/static/docs.css">'
             f"<h1>{_e(info.get('title', ''))} {_e(info.get('version', ''))}</h1>",
             f"<p>{_e(info.get('summary', ''))}</p><p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a>. "
             "Every error answer is a <a href=\"#model-Problem\">Problem</a>.</p><h2>Endpoints</h2>"]
    for path, operations in document.get("paths", {}).items():
        for method, op in operations.items():
            parts.append(f'<div class="op {_e(method)}"><p><span class=m>{_e(method)}</span><code>{_e(path)}</code> '
                         f"— {_e(op.get('summary', ''))}</p><p>{_e(op.get('description', ''))}</p>")
            parameters = op.get("parameters", [])
            if parameters:
                rows = "".join(f"<tr><td><code>{_e(p['name'])}</code> <small>{_e(p.get('in', ''))}</small></td>"
                               f"<td>{_type(p.get('schema', {}))}</td><td>{_e(p.get('description', ''))}</td></tr>"
                               for p in parameters)
                parts.append(f"<table><tr><th>parameter</th><th>type</th><th>meaning</th></tr>{rows}</table>")
            body = op.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                schema = content.get("schema", {})
                parts.append(f"<p>Body (<code>{_e(media)}</code>): {_type(schema) if '$ref' in schema else ''}</p>")
                if "properties" in schema:
                    parts.append(_fields(schema))
            answers = "".join(
                f"<tr><td>{_e(status)}</td><td>{_e(answer.get('description', ''))}</td><td>"
                + ", ".join(f"<code>{_e(m)}</code> {_type(c.get('schema', {})) if c.get('schema') else ''}"
                            for m, c in answer.get("content", {}).items()) + "</td></tr>"
                for status, answer in op.get("responses", {}).items())
            parts.append(f"<table><tr><th>status</th><th>when</th><th>body</th></tr>{answers}</table></div>")
    parts.append("<h2>Models</h2>")
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        parts.append(f'<h3 id="model-{_e(name)}">{_e(name)}</h3><p>{_e(schema.get("description", ""))}</p>{_fields(schema)}')
    return "".join(parts) + "</html>"


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    """The API reference."""
    return HTMLResponse(render(request.app.openapi()))
