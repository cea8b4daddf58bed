"""Languages: English and French for everything a person reads.

The language of a request: `?lang=en|fr` on any page (and remembered in a cookie, which is
what the EN | FR switch in the navigation does, links that need no JavaScript), else that
cookie, else the browser's Accept-Language; English by default. JSON keys, the API's status
values and the CLI stay English; JSON `message` / `errors` texts follow the language.

Messages from `collector` arrive as `collector.Message` (English text that remembers its
msgid and parameters); they are translated where they leave the app: every `{{ ... }}` of a
template (Jinja's finalize) and every JSON answer. Tests can turn on a pseudo-language that
wraps every translated string in ⟦ ⟧, so an untranslated string shows up (tests/pseudo.py).
"""

from __future__ import annotations

from functools import wraps
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlencode

from babel import Locale
from babel.numbers import format_decimal
from babel.support import NullTranslations
from flask import Flask, current_app, flash, g, has_app_context, request, url_for
from flask.json.provider import DefaultJSONProvider
from flask_babel import Babel, Domain, get_locale, get_translations
from jinja2 import pass_context

from collector import Message

LANGUAGES = ("en", "fr")
DEFAULT = "en"
PSEUDO = "pseudo"  # tests only: app.config["MDC_PSEUDO_LOCALE"] = True
COOKIE = "mdc_lang"
COOKIE_MAX_AGE = 365 * 86400
PATH_SAFE = "/:@!$&'()*+,;=-._~"  # what a path may hold unencoded (RFC 3986)
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def _allowed() -> tuple[str, ...]:
    return LANGUAGES + ((PSEUDO,) if current_app.config.get("MDC_PSEUDO_LOCALE") else ())


def current_language() -> str:
    """'en', 'fr' (or the tests' pseudo-language) for this request."""
    if "mdc_lang" not in g:
        allowed = _allowed()
        chosen = [c for c in (request.args.get("lang"), request.cookies.get(COOKIE)) if c in allowed]
        g.mdc_lang = chosen[0] if chosen else request.accept_languages.best_match(LANGUAGES, DEFAULT)
    return g.mdc_lang


def _select_locale() -> str:
    language = current_language()
    return DEFAULT if language == PSEUDO else language


def reader_locale() -> Locale:
    """The Babel locale that formats numbers and dates for this request (English outside one)."""
    if not has_app_context():
        return Locale.parse(DEFAULT)
    if "mdc_locale" not in g:
        g.mdc_locale = get_locale() or Locale.parse(DEFAULT)
    return g.mdc_locale


def _catalogue() -> NullTranslations:
    """The request's catalogue, found once: Flask-Babel looks it up again for every string
    (a dozen context lookups each), which made the banner half again as slow."""
    if not has_app_context():
        return get_translations()
    if "mdc_translations" not in g:
        g.mdc_translations = get_translations()
    return g.mdc_translations


def gettext(string: str, **variables: Any) -> str:
    """flask_babel.gettext, through the request's catalogue found once."""
    text = _catalogue().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return _catalogue().ungettext(singular, plural, num) % variables


def pgettext(context: str, string: str, **variables: Any) -> str:
    text = _catalogue().upgettext(context, string)
    return text % variables if variables else text


def translate(message: Message) -> str:
    """A collector Message in the request's language, numbers in its convention."""
    translations = _catalogue()
    locale = reader_locale()
    return message.translate(translations.ugettext, translations.ungettext,
                             lambda value: format_decimal(value, locale=locale))


def localize(value: Any) -> Any:
    """Messages translated, wherever they are in a JSON-ready value; everything else as is."""
    if isinstance(value, Message):
        return translate(value)
    if isinstance(value, dict):
        return {key: localize(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [localize(item) for item in value]
    return value


def _finalize(value: Any) -> Any:
    return translate(value) if isinstance(value, Message) else value


def translated(value: Any) -> Any:
    """The `tr` filter: a Message in the reader's language now, before another filter works on
    its text (`job.error_message|tr|truncate(70)`); anything else as it is."""
    return translate(value) if isinstance(value, Message) else value


def per_request(filters: dict[str, Callable]) -> dict[str, Callable]:
    """Template filters marked as depending on the request, so that Jinja never works one out
    once, when it compiles a template, on a constant ('sim'|source_label): the language of the
    request that happened to compile it would then stand for every later request."""
    return {name: _each_request(function) for name, function in filters.items()}


def _each_request(function: Callable) -> Callable:
    @wraps(function)
    def filter_(_context, *args, **kwargs):
        return function(*args, **kwargs)
    return pass_context(filter_)


def flash_message(message: str, category: str = "ok") -> None:
    """Flash a message in the reader's language (the session keeps text, not a Message)."""
    flash(translated(message), category)


def pseudo() -> bool:
    """True in the tests' pseudo-language, where texts Babel formats are marked as translated."""
    return g.get("mdc_lang") == PSEUDO


def formatted(text: str) -> str:
    """A text Babel wrote in the reader's language (a date, a duration): in the pseudo-language it
    is wrapped like a translated string, so the check does not take it for a forgotten one."""
    return f"⟦{text}⟧" if g.get("mdc_lang") == PSEUDO else text


class LocalizedJSONProvider(DefaultJSONProvider):
    """JSON answers with their human-readable texts in the request's language (as UTF-8, so
    curl shows "début", not "d\\u00e9but")."""

    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return super().dumps(localize(obj), **kwargs)


class _PseudoTranslations(NullTranslations):
    """Every translated string wrapped in ⟦ ⟧: what a string added without translation lacks."""

    def gettext(self, message):
        return f"⟦{message}⟧"

    def ngettext(self, singular, plural, n):
        return f"⟦{singular if n == 1 else plural}⟧"

    def pgettext(self, context, message):
        return self.gettext(message)

    def npgettext(self, context, singular, plural, n):
        return self.ngettext(singular, plural, n)

    ugettext, ungettext, upgettext, unpgettext = gettext, ngettext, pgettext, npgettext


class _PseudoDomain(Domain):
    def get_translations(self):
        return _PseudoTranslations()


def language_links() -> list[tuple[str, str, bool]]:
    """(code, URL of this page in that language, is current) for the EN | FR switch. A page
    that answered a POST (a form with errors) links to the home page: a GET there could 405.
    The path is written percent-encoded and with one leading slash: browsers read a backslash
    as a slash and drop tabs and newlines, so '/\\evil.example' taken as is would link off the site."""
    here = current_language()
    path = "/" + quote(request.path, safe=PATH_SAFE).lstrip("/") if request.method == "GET" else url_for("index")
    args = request.args.to_dict(flat=False) if request.method == "GET" else {}
    links = []
    for code in LANGUAGES:
        args["lang"] = [code]
        links.append((code, f"{path}?{urlencode(args, doseq=True)}", code == here))
    return links


def _before_request() -> None:
    if current_language() == PSEUDO:
        _PseudoDomain().as_default()
        g.pop("mdc_translations", None)  # found before the pseudo-language was set


def _remember(response):
    """?lang= is remembered, so the choice follows the person from page to page."""
    asked = request.args.get("lang")
    if asked in _allowed() and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax",
                            secure=current_app.config["MDC_SETTINGS"].cookie_secure)
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=_select_locale, default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _catalogue().ugettext(s), ngettext=lambda s, p, n: _catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: _catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalogue().unpgettext(c, s, p, n), newstyle=True)
    sort_keys = app.json.sort_keys
    app.json = LocalizedJSONProvider(app)
    app.json.sort_keys = sort_keys
    app.jinja_env.finalize = _finalize
    app.jinja_env.policies["ext.i18n.trimmed"] = True  # {% trans %} blocks read as one line (babel.cfg too)
    app.jinja_env.filters.update(per_request({"tr": translated}))
    app.jinja_env.globals.update(current_language=current_language, language_links=language_links)
    app.before_request(_before_request)
    app.after_request(_remember)
