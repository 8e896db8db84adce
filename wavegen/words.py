"""Words in messages: "a segan" / "an image_classifier", "1 file" / "2 files"."""

from __future__ import annotations


def article(name: str) -> str:
    """``name`` with its indefinite article: "a segan", "an image_classifier"."""
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun``, plural unless the count is one: "1 file", "2 files", "3 classes"."""
    if count == 1:
        return f"1 {noun}"
    if plural is None:
        plural = noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")
    return f"{count} {plural}"
