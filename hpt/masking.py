"""Credentials in URLs (``scheme://user:password@host``, ``?password=``): masked as ``***`` in
every file hpt or Hydra writes for a run or sweep and in every message.

A leaf module (the standard library only): ``hpt.errors`` masks each one-line message with it.
"""

from __future__ import annotations

import re
from typing import Any

# The password runs to the *last* '@' of the authority, so an unencoded '@' in it is hidden too.
_PASSWORD = re.compile(
    r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^/\s]*)(?P<tail>@[^@/\s]*)"
)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:password|passwd)=)(?P<pw>[^&\s]*)", re.IGNORECASE)


def mask_url(text: str) -> str:
    """Hide the password of any ``scheme://user:password@host`` (or ``?password=``) in ``text``."""
    text = _PASSWORD.sub(lambda m: f"{m['head']}***{m['tail']}", text)
    return _QUERY_PASSWORD.sub(lambda m: f"{m['head']}***", text)


def mask_strings(value: Any) -> Any:
    """``value`` (plain data: dicts, lists, strings) with ``mask_url`` applied to every string."""
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, dict):
        return {k: mask_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_strings(v) for v in value]
    return value


def is_masked(url: str) -> bool:
    """Whether ``url``'s password is ``mask_url``'s ``***``.

    Masking is idempotent: compare with this, not with ``mask_url(url)``.
    """
    found = _PASSWORD.search(url) or _QUERY_PASSWORD.search(url)
    return found is not None and found["pw"] == "***"


def unmask_url(masked: str, password: str) -> str:
    """``mask_url``'s output with ``password`` where it put ``***`` (percent-encoded there).

    Args:
        masked: A URL as ``mask_url`` wrote it.
        password: The real password.

    Returns:
        The URL with the password.
    """
    from urllib.parse import quote

    if _QUERY_PASSWORD.search(masked):
        return _QUERY_PASSWORD.sub(lambda m: m["head"] + quote(password, safe=""), masked, 1)
    return _PASSWORD.sub(lambda m: f"{m['head']}{quote(password, safe='')}{m['tail']}", masked, 1)
