"""What pydantic found wrong with some data, as one line for a person: the same words at every boundary."""

from collections.abc import Mapping, Sequence
from typing import Any

# Where FastAPI found a request field: the part of the request, not the field's name
_REQUEST_PARTS = ("body", "query", "path", "header", "cookie")


def validation_problems(errors: Sequence[Mapping[str, Any]], subject: str = "request", most: int | None = 5) -> str:
    """One line naming each bad field (`subject` for the whole) and what is wrong with it, the first `most` only
    (None: all). `errors` is a ValidationError's (or FastAPI's RequestValidationError's) `errors()`."""
    problems = []
    for error in errors[:most]:
        location = list(error.get("loc", ()))
        if location and location[0] in _REQUEST_PARTS:
            location = location[1:]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{'.'.join(map(str, location)) or subject}: {message}")
    return "; ".join(problems)
