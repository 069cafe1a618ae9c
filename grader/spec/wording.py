"""Problems in a spec said in plain words: YAML's parser errors, and pydantic's validation errors.

YAML and pydantic speak of their own machinery (`expected <block end>`, `Input should be a valid
dictionary or object to extract fields from`); an instructor needs to hear what is wrong with the
line they wrote and what to write instead, in the terms of YAML and of the spec's own fields.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import yaml

from grader.checks.base import CheckKind
from grader.spec.models import CheckBase, ExerciseBase, did_you_mean


def yaml_problem(exc: yaml.YAMLError) -> tuple[int | None, str]:
    """YAML's parser error as (line, plain words): where the fix goes, and what the mistake probably is."""
    line, words = _yaml_words(exc)
    return line, f"not valid YAML: {words}"


def _yaml_words(exc: yaml.YAMLError) -> tuple[int | None, str]:
    problem = str(getattr(exc, "problem", "") or exc)
    context = str(getattr(exc, "context", "") or "")
    mark, opened = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    since = opened.line + 1 if opened is not None else None
    if problem.startswith("expected <block end>"):
        what = "list" if "collection" in context or "'-'" in problem else "mapping"
        return line, (f"this line is indented differently from the {what} it seems to belong to (which starts at line "
                      f"{since}): a key must line up exactly with the other keys of its mapping, and in a list item "
                      "with the first key after its `- `")
    if problem.startswith("mapping values are not allowed"):
        return line, ("a `key: value` where YAML expects none: either this line is indented deeper than the key above "
                      "it, which already has a value, or a value holds `: ` and must be quoted ('a: b')")
    if "'\\t'" in problem:  # YAML quotes the character it cannot read
        return line, "a tab character: YAML indents with spaces only"
    if "flow mapping" in context or "flow sequence" in context:
        bracket = "{" if "mapping" in context else "["
        return since or line, (f"the `{bracket}` opened on this line is not closed where YAML expects, or a value inside "
                               "it holds a `,` or `: ` and must be quoted (\"(f, x)\")")
    if "quoted scalar" in context:
        return since or line, "a quoted text begins on this line and is never closed"
    if problem.startswith("could not find expected ':'"):
        return since or line, ("this line is neither `key: value` nor a list item `- ...`: a `:` is missing, or the line "
                               "continues the value above at the wrong indentation")
    if problem.startswith("sequence entries are not allowed"):
        return line, ("a list item (`- `) where a value belongs on the same line: put the items on the next lines, "
                      "indented, or write the list as [a, b]")
    if problem.startswith("could not determine a constructor for the tag"):
        return line, ("a YAML tag (a value that starts with `!`) that specs do not use: a spec is plain data (texts, "
                      "numbers, lists and mappings); remove the tag, or quote the value if it is text")
    if problem.startswith("found undefined alias"):
        return line, (f"{problem.removeprefix('found ')}: a value that starts with `*` refers to an anchor `&name`; "
                      "quote it if it is plain text")
    return line, problem + (f" ({context})" if context else "")


def describe_error(error: dict[str, Any], data: Any, path: tuple[Any, ...], kinds: dict[str, CheckKind]) -> str:
    """One pydantic error on the raw spec `data` at field `path`, in plain words with what to write instead."""
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = data
        for part in path[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else (parent[part] if isinstance(parent, list) else None)
        valid = _fields_for(parent, path, kinds)
        close = difflib.get_close_matches(str(path[-1]), sorted(valid), n=1)
        suggestion = f" (did you mean {close[0]!r}?)" if close else ""
        if not valid:
            return f"unknown field {path[-1]!r}"
        # A check's own fields first, then those every check has: the ones the instructor was after.
        common = set(CheckBase.model_fields) if path and path[0] == "checks" else set()
        own, shared = sorted(valid - common), sorted(valid & common)
        listed = ", ".join(own) + (f"; and, as every check: {', '.join(shared)}" if own and shared else ", ".join(shared))
        return f"unknown field {path[-1]!r}{suggestion}; valid fields: {listed}"
    if kind == "string_pattern_mismatch" and path and path[-1] == "signature":
        value = value_at(data, path)
        if isinstance(value, str) and value.startswith("(") and not value.endswith(")"):
            return (f"{value!r} is a signature cut at its comma: inside {{...}}, a comma ends a value, so quote it "
                    f"(signature: \"(f, x)\")")
        return "must be the parameters in parentheses, as Python writes them: (x) or \"(f, x)\""
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        expected = error.get("ctx", {}).get("expected_tags", "")
        options = [t.strip(" '") for t in expected.split(",")]
        close = difflib.get_close_matches(str(tag), options, n=1)
        suggestion = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown kind {tag!r}{suggestion}; valid kinds: {', '.join(options)}"
    if kind == "union_tag_not_found":
        return f"missing `kind`; valid kinds: {error.get('ctx', {}).get('discriminator', '')}".replace("'kind'", ", ".join(sorted(kinds)) if path and path[0] == "checks" else "tensor, function, graph, value")
    if kind == "missing":
        return "required field is missing"
    # pydantic's type errors, in the words of YAML rather than of Python classes.
    value = value_at(data, path)
    if kind == "model_type" and error.get("ctx", {}).get("class_name") == "Localized":
        return f"must be a text, or a mapping {{en: ..., zh: ...}} of texts; found {_yaml_kind(value)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        example = " (- id: ..., kind: ...)" if path and path[0] == "checks" and len(path) == 2 else ""
        return f"must be a mapping of `key: value` fields{example}; found {_yaml_kind(value)}"
    if kind == "list_type":
        single = f" (one item is written [{value}])" if isinstance(value, str) else ""
        return f"must be a list, [a, b] or one `- ` item per line; found {_yaml_kind(value)}{single}"
    if kind == "string_type":
        return f"must be a text; found {_yaml_kind(value)} (quote it to make it a text: '...')"
    bounds = {"greater_than": ("gt", "more than"), "greater_than_equal": ("ge", "at least"),
              "less_than": ("lt", "less than"), "less_than_equal": ("le", "at most")}
    if kind in bounds:
        key, words = bounds[kind]
        limit = error.get("ctx", {}).get(key)
        shown = int(limit) if isinstance(limit, float) and limit.is_integer() else limit
        return f"must be {words} {shown}; found {value}"
    if kind in ("too_short", "too_long"):
        ctx = error.get("ctx", {})
        n = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        words = "at least" if kind == "too_short" else "at most"
        return f"must have {words} {n} {'item' if n == 1 else 'items'}; found {ctx.get('actual_length')}"
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        return f"{value!r} is not one of {', '.join(map(repr, expected))}{did_you_mean(str(value), expected)}"
    return str(error["msg"]).removeprefix("Value error, ")


def _yaml_kind(value: Any) -> str:
    """What a YAML value is, in words: `the number 5`, `the text 'a'`, `a list`, `a mapping`, `nothing (null)`."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    return "a mapping" if isinstance(value, dict) else f"a YAML {type(value).__name__} value"


def value_at(data: Any, path: tuple[Any, ...]) -> Any:
    """The raw YAML value at a field path (None when the path leads nowhere)."""
    for part in path:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _fields_for(parent: Any, path: tuple[Any, ...], kinds: dict[str, CheckKind]) -> set[str]:
    from grader.spec import models

    if not isinstance(parent, dict):
        return set()
    if len(path) >= 3 and path[0] == "checks" and parent.get("kind") in kinds:
        return set(kinds[parent["kind"]].model.model_fields)
    if len(path) >= 3 and path[0] == "inputs":
        by_kind = {"tensor": models.TensorInput, "function": models.FunctionInput, "graph": models.GraphInput, "value": models.ValueInput}
        model = by_kind.get(parent.get("kind"))
        return set(model.model_fields) if model else set()
    if len(path) >= 3 and path[0] == "calls":
        return set(models.CallSet.model_fields)
    if len(path) >= 3 and path[0] == "functions":
        return set(models.FunctionSpec.model_fields)
    if len(path) == 1:
        return set(ExerciseBase.model_fields)
    return set()
