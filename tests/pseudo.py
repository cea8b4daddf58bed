"""The pseudo-locale check: in the pseudo-language every translated string is wrapped in
⟦ ⟧ (webapp/i18n.py), so any visible text with letters outside the brackets was never
marked for translation.

What is not language: elements marked `translate="no"` (HTML's own "do not translate": the
brand, tickers, language codes), <code>/<kbd>/<samp> (commands, variable names), <time>
(dates written by Babel, in the page's locale), and the brand name. Attributes people read
(title, placeholder, aria-label, alt) are checked like text.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

SKIPPED_ELEMENTS = {"script", "style", "code", "kbd", "samp", "time", "svg"}
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
ALLOWED_WORDS = {"mdc"}
WRAPPED = re.compile(r"⟦[^⟧]*⟧", re.S)
BREAK = "\x00"  # between text nodes, so a leftover is reported where it was


class _Texts(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.texts: list[str] = []
        self.attributes: list[str] = []

    @property
    def skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        skipped = self.skipping or tag in SKIPPED_ELEMENTS or values.get("translate") == "no"
        if not skipped:
            self.attributes += [values[name] for name in READ_ATTRIBUTES if values.get(name)]
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
        if not self.skipping:
            self.texts.append(data)


def _has_words(text: str) -> bool:
    words = re.findall(r"\w+", text)
    return any(any(unicodedata.category(ch).startswith("L") for ch in w) and w not in ALLOWED_WORDS for w in words)


def unwrapped(html: str) -> list[str]:
    """Visible texts (and read attributes) with letters outside ⟦ ⟧: untranslated strings."""
    parser = _Texts()
    parser.feed(html)
    parser.close()
    leftovers = WRAPPED.sub("", BREAK.join(parser.texts)).split(BREAK)
    leftovers += [WRAPPED.sub("", value) for value in parser.attributes]
    return [" ".join(text.split()) for text in leftovers if _has_words(text)]


def section(html: str, tag: str) -> str:
    """The first <tag ...>...</tag> of a page (the header's navigation, the footer)."""
    match = re.search(rf"<{tag}\b.*?</{tag}>", html, re.S)
    assert match, f"no <{tag}> in the page"
    return match.group(0)
