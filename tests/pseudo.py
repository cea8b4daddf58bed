"""The pseudo-locale check: in the pseudo-language every translated string is wrapped in
⟦ ⟧ (webapp/i18n.py), so any visible text with letters outside the brackets was never
marked for translation.

What is not language: elements marked `translate="no"` (HTML's own "do not translate": the
brand, tickers, intervals, host names, language codes), <code>/<kbd>/<samp> (commands,
variable names), <time> (dates written by Babel, in the page's locale), and the brand name.
Texts Babel formats elsewhere (durations, dates, compact numbers) are marked like translated
strings in the pseudo-language (webapp.i18n.formatted). Markers nest: a translated sentence
holds translated parts. Checked like text: the attributes people read (title, placeholder,
aria-label, alt, the phone's column labels, confirmation questions, the time switch's words),
the text of server-drawn SVG charts (<title>, <text>), and the words a script writes that come
with the page as JSON (`"words"`, the chart's readout).
"""

from __future__ import annotations

import json
import re
import unicodedata
from html.parser import HTMLParser

SKIPPED_ELEMENTS = {"script", "style", "code", "kbd", "samp", "time"}
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-label", "data-confirm", "data-words",
                   "data-yours", "data-to-local", "data-to-utc", "data-local")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
ALLOWED_WORDS = {"mdc"}
INNERMOST = re.compile(r"⟦[^⟦⟧]*⟧", re.S)
BREAK = "\x00"  # between text nodes, so a leftover is reported where it was


class _Texts(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.texts: list[str] = []
        self.attributes: list[str] = []
        self.json_blocks: list[str] = []  # data a script shows (application/json)

    @property
    def skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        skipped = self.skipping or tag in SKIPPED_ELEMENTS or values.get("translate") == "no"
        if not skipped:
            self.attributes += [values[name] for name in READ_ATTRIBUTES if values.get(name)]
        if tag == "script" and values.get("type") == "application/json" and not self.skipping:
            self.json_blocks.append("")
        if tag not in VOID:
            self.stack.append((tag, skipped))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):  # tolerate unclosed elements
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if self.stack and self.stack[-1][0] == "script" and self.json_blocks and not self.json_blocks[-1]:
            self.json_blocks[-1] = data
        if not self.skipping:
            self.texts.append(data)


def _has_words(text: str) -> bool:
    words = re.findall(r"\w+", text)
    return any(any(unicodedata.category(ch).startswith("L") for ch in w) and w not in ALLOWED_WORDS for w in words)


def _unwrap(text: str) -> str:
    """The text without its translated parts, innermost first (markers nest)."""
    while True:
        shorter = INNERMOST.sub("", text)
        if shorter == text:
            return text
        text = shorter


def _script_words(block: str) -> list[str]:
    try:
        data = json.loads(block)
    except ValueError:
        return []
    return list(data.get("words", {}).values()) if isinstance(data, dict) else []


def unwrapped(html: str) -> list[str]:
    """Visible texts (and read attributes) with letters outside ⟦ ⟧: untranslated strings."""
    parser = _Texts()
    parser.feed(html)
    parser.close()
    leftovers = _unwrap(BREAK.join(parser.texts)).split(BREAK)
    leftovers += [_unwrap(value) for value in parser.attributes]
    leftovers += [_unwrap(word) for block in parser.json_blocks for word in _script_words(block)]
    return [" ".join(text.split()) for text in leftovers if _has_words(text)]


def section(html: str, tag: str) -> str:
    """The first <tag ...>...</tag> of a page (the header's navigation, the footer)."""
    match = re.search(rf"<{tag}\b.*?</{tag}>", html, re.S)
    assert match, f"no <{tag}> in the page"
    return match.group(0)
