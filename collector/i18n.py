"""Messages a person reads, in English here and in their language in the web app.

The collector never imports Flask, yet its messages (validation errors, job errors,
troubleshooting lines) are shown in French on French pages. So a message is marked where it
is written and stays plain English text for everything else (logs, the CLI, tests, string
operations), while remembering what it was made from:

    N_("Unknown period {period}: use one of {choices}.", period=..., choices=...)
    N_plural("{n} symbol at once", "{n} symbols at once", n)

`N_` and `N_plural` are the keywords `pybabel extract` looks for (see babel.cfg). A `Message`
is a `str` (its English rendering), with `msgid`, `plural`, `n` and `params`; the web layer
calls `Message.translate()` with the request's catalogue and number format. Parameters may be
str, int, float or other Messages (translated too); numbers are written with thousands
separators, in the reader's convention. `{name!s}` keeps a number bare (a job id, a year).
`as_dict` / `from_dict` let a message travel through a database row or a Redis event;
`join_messages` puts several messages in one (several fields' problems in one line).
"""

from __future__ import annotations

import string
from typing import Any, Callable

Param = Any  # str | int | float | Message


class _Formatter(string.Formatter):
    """str.format, except that a bare number gets the reader's thousands separators."""

    def __init__(self, number: Callable[[float], str]):
        self.number = number

    def format_field(self, value: Any, format_spec: str) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not format_spec:
            return self.number(value)
        return super().format_field(value, format_spec)


def english_number(value: float) -> str:
    return f"{value:,}"


_ENGLISH = _Formatter(english_number)


class Message(str):
    """English text that can be shown in another language; see the module docstring."""

    msgid: str
    plural: str | None
    n: int | None
    params: dict[str, Param]

    def __new__(cls, msgid: str, params: dict[str, Param] | None = None, *,
                plural: str | None = None, n: int | None = None) -> "Message":
        params = dict(params or {})
        if plural is not None:
            params.setdefault("n", n)
        template = msgid if plural is None or n == 1 else plural
        self = super().__new__(cls, _ENGLISH.vformat(template, (), params))
        self.msgid, self.plural, self.n, self.params = msgid, plural, n, params
        return self

    def translate(self, gettext: Callable[[str], str], ngettext: Callable[[str, str, int], str],
                  number: Callable[[float], str] = english_number) -> str:
        """This message in the language of `gettext` / `ngettext`, numbers written by `number`."""
        template = gettext(self.msgid) if self.plural is None else ngettext(self.msgid, self.plural, self.n or 0)
        params = {name: value.translate(gettext, ngettext, number) if isinstance(value, Message) else value
                  for name, value in self.params.items()}
        formatter = _Formatter(number)
        try:
            return formatter.vformat(template, (), params)
        except (KeyError, IndexError, ValueError):  # a translation with a broken placeholder: English
            return formatter.vformat(self.msgid if self.plural is None or self.n == 1 else self.plural, (), params)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for a message stored in a row or an event."""
        data: dict[str, Any] = {"msgid": self.msgid,
                                "params": {k: v.as_dict() if isinstance(v, Message) else v
                                           for k, v in self.params.items()}}
        if self.plural is not None:
            data.update(plural=self.plural, n=self.n)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Message":
        if "parts" in data:
            return join_messages([cls.from_dict(p) if isinstance(p, dict) else p for p in data["parts"]], data["sep"])
        params = {k: cls.from_dict(v) if isinstance(v, dict) else v for k, v in data.get("params", {}).items()}
        return cls(data["msgid"], params, plural=data.get("plural"), n=data.get("n"))

    def __reduce__(self):  # pickling keeps what the message was made from
        return (_rebuild, (self.as_dict(),))


class _Joined(Message):
    """Several messages (or plain texts) shown as one, each translated on its own."""

    parts: list[str]
    sep: str

    def __new__(cls, parts: list[str], sep: str) -> "_Joined":
        self = str.__new__(cls, sep.join(parts))
        self.msgid, self.plural, self.n, self.params = sep.join(parts), None, None, {}
        self.parts, self.sep = parts, sep
        return self

    def translate(self, gettext, ngettext, number=english_number) -> str:
        return self.sep.join(p.translate(gettext, ngettext, number) if isinstance(p, Message) else p
                             for p in self.parts)

    def as_dict(self) -> dict[str, Any]:
        return {"parts": [p.as_dict() if isinstance(p, Message) else p for p in self.parts], "sep": self.sep}


def join_messages(parts, sep: str = " ") -> Message:
    """Messages (or plain texts) side by side, e.g. every problem of one field."""
    return _Joined([p if isinstance(p, str) else str(p) for p in parts], sep)


def _rebuild(data: dict[str, Any]) -> Message:
    return Message.from_dict(data)


def _param(value: Any) -> Param:
    return value if isinstance(value, (str, int, float)) else str(value)


def N_(msgid: str, **params: Any) -> Message:
    """Mark a message for translation; `params` fill its `{name}` fields."""
    return Message(msgid, {k: _param(v) for k, v in params.items()})


def N_plural(singular: str, plural: str, n: int, **params: Any) -> Message:
    """Mark a message whose wording depends on the number `n` (available as `{n}`)."""
    return Message(singular, {k: _param(v) for k, v in params.items()}, plural=plural, n=n)


def job_numbers(ids) -> Message:
    """'#12, #13' as a message: French writes 'n°12, n°13'."""
    return join_messages([N_("#{id!s}", id=job_id) for job_id in ids], ", ")


def message_data(text: str | None) -> dict[str, Any] | None:
    """What a message to be stored was made from (kept beside its English text in a row or an
    event), or None for plain text."""
    return text.as_dict() if isinstance(text, Message) else None


def restore(text: str | None, data: Any) -> str | None:
    """A stored message again: a Message when what it was made from was kept, else the text as
    stored (rows and events written before messages were kept, or by hand)."""
    if text is None or not isinstance(data, dict):
        return text
    try:
        return Message.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):  # damaged: the English text stands
        return text


def message_of(exc: BaseException) -> str:
    """An exception's message for people: the Message it was raised with, else str(exc)
    (str() of an exception would give the Message's English text only)."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, Message) else str(exc)
