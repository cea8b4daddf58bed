"""The French catalogue keeps up with the code: every marked message is in the .po, nothing
stale stays there, and every French entry is translated, not fuzzy, and keeps the message's
placeholders and markup. `make messages` updates the .po; then translate what is new."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.helpers import ROOT

PO = ROOT / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
FIELDS = re.compile(r"\{(\w+)[^{}]*\}|%\((\w+)\)[sd]")
TAGS = re.compile(r"</?\w+[^>]*>")


def _read(path: Path):
    with path.open("rb") as source:
        return read_po(source)


def _key(message) -> tuple[str | None, str]:
    return message.context, message.id[0] if isinstance(message.id, tuple) else message.id


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> dict:
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(pybabel), "extract", "-F", "babel.cfg", "-o", str(pot), "."],
                   cwd=ROOT, check=True, capture_output=True)
    return {_key(m): m for m in _read(pot) if m.id}


@pytest.fixture(scope="module")
def french() -> dict:
    return {_key(m): m for m in _read(PO) if m.id}


def _strings(message) -> list[str]:
    return [s for s in message.string] if isinstance(message.string, tuple) else [message.string]


def test_every_message_in_the_code_is_in_the_catalogue(extracted, french):
    missing = sorted(str(k) for k in extracted.keys() - french.keys())
    assert missing == [], "run `make messages` and translate these"


def test_the_catalogue_holds_no_message_the_code_no_longer_has(extracted, french):
    assert sorted(str(k) for k in french.keys() - extracted.keys()) == [], "run `make messages`"


def test_every_french_entry_is_translated_and_not_fuzzy(french):
    assert sorted(str(k) for k, m in french.items() if not all(_strings(m))) == []
    assert sorted(str(k) for k, m in french.items() if m.fuzzy) == []


def test_translations_keep_placeholders_and_markup(french):
    def fields(text):
        return {a or b for a, b in FIELDS.findall(text)}

    wrong = []
    for key, message in french.items():
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for text in _strings(message):
            if fields(text) - fields(" ".join(ids)) or (fields(ids[0]) - {"n"}) - fields(text):
                wrong.append((key, text))
            if sorted(TAGS.findall(text)) != sorted(TAGS.findall(ids[0])):
                wrong.append((key, text))
    assert wrong == []
