"""collector.i18n: messages that read as plain English everywhere and can be translated by
whoever shows them, without collector importing Flask."""

import json
import pickle

import pytest

from collector import N_, Message, N_plural, TimeParseError, join_messages, parse_when
from collector.jobs.validation import ValidationError, build_spec
from collector.timespec import describe_interval

FRENCH = {"Unknown period {period!r}: use one of {choices}.": "Période inconnue {period!r} : parmi {choices}.",
          "{first} or {last}": "{first} ou {last}", "At most {limit} at once.": "Au plus {limit} à la fois.",
          "Job #{id!s} done.": "Job n°{id!s} terminé."}
PLURALS = {"{n!s}-second": ("de {n!s} seconde", "de {n!s} secondes")}


def gettext(text):
    return FRENCH.get(text, text)


def ngettext(singular, plural, n):
    one, many = PLURALS.get(singular, (singular, plural))
    return one if n <= 1 else many


def french_number(value):
    return f"{value:,}".replace(",", "\u202f")


def test_a_message_is_its_english_text_and_remembers_what_it_was_made_from():
    message = N_("Unknown period {period!r}: use one of {choices}.", period="7y", choices="1y 5y")
    assert message == "Unknown period '7y': use one of 1y 5y." and isinstance(message, str)
    assert message.msgid == "Unknown period {period!r}: use one of {choices}." and message.params["period"] == "7y"
    assert message.translate(gettext, ngettext) == "Période inconnue '7y' : parmi 1y 5y."


def test_numbers_get_the_readers_separators_unless_kept_bare():
    assert N_("At most {limit} at once.", limit=1234567) == "At most 1,234,567 at once."
    assert N_("At most {limit} at once.", limit=1234567).translate(gettext, ngettext, french_number) == "Au plus 1\u202f234\u202f567 à la fois."
    assert N_("Job #{id!s} done.", id=12345).translate(gettext, ngettext, french_number) == "Job n°12345 terminé."


def test_plurals_and_messages_inside_messages_are_translated_too():
    assert describe_interval("5s") == "5-second" and describe_interval("5s").translate(gettext, ngettext) == "de 5 secondes"
    assert describe_interval("1s").translate(gettext, ngettext) == "de 1 seconde"
    nested = N_("{first} or {last}", first=N_plural("{n!s}-second", "{n!s}-second", 5), last="sim")
    assert nested.translate(gettext, ngettext) == "de 5 secondes ou sim"


def test_a_message_survives_json_pickle_and_joining():
    message = N_("{first} or {last}", first=N_plural("{n!s}-second", "{n!s}-second", 5), last="sim")
    again = Message.from_dict(json.loads(json.dumps(message.as_dict())))
    assert again == message and again.translate(gettext, ngettext) == "de 5 secondes ou sim"
    assert pickle.loads(pickle.dumps(message)).translate(gettext, ngettext) == "de 5 secondes ou sim"
    both = join_messages([message, "(see above)"])
    assert both == "5-second or sim (see above)"
    assert Message.from_dict(both.as_dict()).translate(gettext, ngettext) == "de 5 secondes ou sim (see above)"


@pytest.mark.parametrize("text, end, expected", [
    ("", False, "Start is empty."),
    ("yesterday", True, "End is not a date like 2024-03-01 or a date and time like 2024-03-01T09:30."),
    ("2024-01-01 09:30 Mars/Olympus", False, "Start has an unknown time zone 'Mars/Olympus'."),
    ("1800-01-01", True, "End is outside the years 1900-2200."),
])
def test_unreadable_times_say_so_in_one_sentence_naming_the_field(text, end, expected):
    with pytest.raises(TimeParseError) as caught:
        parse_when(text, end_of_day=end)
    assert caught.value.message == expected == str(caught.value)
    assert isinstance(caught.value.message, Message)


def test_validation_errors_are_messages_in_english_for_the_cli():
    with pytest.raises(ValidationError) as caught:
        build_spec({"source": "nasdaq", "interval": "7m", "period": "7y"}, "", lambda name: None)
    errors = caught.value.errors
    assert all(isinstance(m, Message) for m in errors.values())
    assert errors["source"] == "Unknown source 'nasdaq': choose yahoo, ibkr or sim."
    assert str(caught.value).startswith("source: Unknown source 'nasdaq'")


def test_a_translation_with_a_broken_placeholder_falls_back_to_english():
    message = N_("At most {limit} at once.", limit=3)
    assert message.translate(lambda text: "Au plus {limite} à la fois.", ngettext) == "At most 3 at once."
