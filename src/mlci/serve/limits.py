"""A request body parsed and sized up before validation, so no body costs much more than a good one.

The body's size is capped before it is read (`serve.max_body_bytes`, sized to the batch limit by default), which
bounds the JSON parse; a body that nests too deeply stops the parser. Then, on the parsed JSON and before pydantic
sees it: at most `serve.max_batch_rows` records, no record with more keys than the contract has fields, no string
longer than `serve.max_string_chars`. Each refusal is a `Refusal` with the status and the errors the client gets.
"""

from __future__ import annotations

import json
from typing import Any

from mlci.serve.contract import MAX_ERRORS, MAX_SHOWN, Contract


class Refusal(Exception):
    """A request refused: its status, a one-line detail and each field's problem."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors or []


def parse(body: bytes) -> Any:
    """The JSON of a body; `Refusal` (400) when it is not JSON or nests too deeply to parse."""
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise Refusal(400, f"the body is not valid JSON: {exc.msg} (at character {exc.pos})") from None
    except UnicodeDecodeError as exc:
        raise Refusal(400, f"the body is not valid JSON: it is not UTF-8 text (at byte {exc.start})") from None
    except RecursionError:
        raise Refusal(400, "the body is not valid JSON for this service: it nests too deeply") from None


def check_size(body: Any, contract: Contract, max_string_chars: int) -> None:
    """`Refusal` (422) for more records, keys or characters than any good request has; cheap, before validation."""
    errors: list[dict[str, str]] = []
    count = 0

    def problem(field: str, message: str) -> None:
        nonlocal count
        count += 1
        if len(errors) < MAX_ERRORS:
            errors.append({"field": field or "body", "message": message})

    if not isinstance(body, dict):
        return  # a list, a string or a number: validation refuses it at once
    if contract.is_batch(body):
        _keys(body, ["records"], "", problem)
        records = body["records"]
        if not isinstance(records, list):
            pass  # validation says what a batch is
        elif len(records) > contract.max_batch_rows:
            problem(
                "records",
                f"must hold at most {contract.max_batch_rows} records (serve.max_batch_rows); got {len(records)}; "
                "split the batch",
            )
        else:
            for index, record in enumerate(records):
                if isinstance(record, dict):
                    _record(record, contract, max_string_chars, f"records[{index}].", problem)
    else:
        _record(body, contract, max_string_chars, "", problem)
    if count:
        first = f"{errors[0]['field']}: {errors[0]['message']}"
        listed = "listed in errors" if count <= MAX_ERRORS else f"the first {MAX_ERRORS} listed in errors"
        more = f" (and {count - 1} more problems, {listed})" if count > 1 else ""
        raise Refusal(422, first + more, errors)


def _record(record: dict, contract: Contract, max_chars: int, prefix: str, problem: Any) -> None:
    _keys(record, list(contract.by_name), prefix, problem)
    for name, value in record.items():
        if isinstance(value, str) and len(value) > max_chars:
            problem(
                f"{prefix}{name}",
                f"must be at most {max_chars} characters (serve.max_string_chars); got {len(value)}",
            )


def _keys(mapping: dict, allowed: list[str], prefix: str, problem: Any) -> None:
    """Unknown keys, listed only when there are more keys than allowed ones (else validation names them)."""
    if len(mapping) <= len(allowed):
        return
    known = set(allowed)
    fields = ", ".join(allowed)
    for key in mapping:
        if key not in known:
            shown = key if len(key) <= MAX_SHOWN else key[: MAX_SHOWN - 3] + "..."
            problem(f"{prefix}{shown}", f"is not a field the model takes; allowed fields: {fields}")
