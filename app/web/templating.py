"""What the web pages share: the templates and reading a date typed into a form."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi.templating import Jinja2Templates

from app.errors import BadQuestion

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def day(name: str, text: str) -> date | None:
    """A form's date field: empty is none, anything but YYYY-MM-DD is said plainly (422)."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadQuestion(f"{name}: {text[:40]!r} is not a date like 2024-01-31.") from None
