"""What went wrong with one request to an OpenAI-compatible endpoint, and what to do about it.

Transient faults (:class:`Transient`) are retried: 408, 409, 429, 5xx, timeouts, torn
connections and malformed bodies. Everything else is permanent and stops the run at once with a
message that says what to do: 401/403 (the key), 404 (an unknown model, with what the server's
``/v1/models`` offers, or a wrong URL), a prompt longer than the model's context, other 4xx.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from droiz.llm.base import Completion

RETRYABLE_STATUS = (408, 409, 429)
_CONTEXT = re.compile(
    r"context[ _-]?(length|window)|maximum context|too many tokens|prompt is too long|"
    r"exceeds? the (maximum|max)|input is too long|too long for",
    re.IGNORECASE,
)


class Transient(Exception):
    """A fault worth retrying; ``reason`` is safe to log.

    Attributes:
        reason: What happened. retry_after: Seconds the server asked to wait (or ``None``).
        throttled: A 429 (the concurrency backs off). unanswered: No well-formed answer came
            back, so the server may have done the work (the budget counts the worst case).
    """

    def __init__(
        self,
        reason: str,
        retry_after: float | None = None,
        *,
        throttled: bool = False,
        unanswered: bool = True,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.throttled = throttled
        self.unanswered = unanswered


def is_retryable(status: int) -> bool:
    return status in RETRYABLE_STATUS or status >= 500


def permanent_problem(
    status: int, detail: str, *, model: str, api_key_env: str, models: Sequence[str] | None
) -> str:
    """The one-line problem and fix of a permanent HTTP error.

    Args:
        status: The HTTP status. detail: The server's error message.
        model: The model asked for. api_key_env: The variable the key came from.
        models: What the server's ``/v1/models`` lists (``None`` when it has no such endpoint).
    """
    head = f"HTTP {status}: {detail[:200]}"
    if status in (401, 403):
        return (
            f"{head}; the endpoint refused the API key: put a valid key in the environment "
            f"variable {api_key_env}, or name another variable with --api-key-env"
        )
    if status == 404:
        if models and model not in models:
            offered = ", ".join(list(models)[:20]) + (" ..." if len(models) > 20 else "")
            return (
                f"{head}; the server has no model {model!r}; it offers: {offered}; "
                "pass one of them, e.g. --executor openai:NAME"
            )
        return (
            f"{head}; the endpoint does not know the model {model!r} or the URL: check the model "
            "name and --base-url (OpenAI-compatible servers usually end in /v1)"
        )
    if status in (400, 413, 422) and _CONTEXT.search(detail):
        return (
            f"{head}; the prompt is longer than the model's context window: use a model with a "
            "longer context, lower max_tokens in executor_options, or fewer --n-demos"
        )
    return f"{head}; the server refused the request: check the executor options and the model"


def parse_completion(text: str, flavour: str) -> tuple[Completion, bool]:
    """Parse a response body: the completion, and whether the server reported its usage.

    Raises:
        Transient: The body is malformed (invalid JSON, no ``choices``, no text).
    """
    try:
        body = json.loads(text)
    except ValueError:
        raise Transient(f"malformed response: invalid JSON (body starts {text[:60]!r})") from None
    if not isinstance(body, dict):
        raise Transient(f"malformed response: expected a JSON object, got {type(body).__name__}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        error = body.get("error")
        detail = f" (error: {str(error)[:120]})" if error else ""
        raise Transient(f"malformed response: missing 'choices'{detail}")
    first = choices[0]
    message = first.get("message") if flavour == "chat" else None
    content = message.get("content") if isinstance(message, dict) else first.get("text")
    if not isinstance(content, str):
        raise Transient("malformed response: choices[0] has no text content")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else None
    if not usage or usage.get("prompt_tokens") is None:
        return Completion(content), False
    completion = Completion(
        content, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    )
    return completion, True
