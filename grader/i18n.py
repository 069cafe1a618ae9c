"""Languages, localized text, and messages as data: a catalogue id with its parameters, rendered later.

The judge never chooses a language. It says what it found as a `Msg` (a key of the catalogue in
grader/messages.py, or a plugin's inline template, and the data to fill it with), and spec texts
as `Localized`; reporters and the CLI render both in the reader's language (`grader.messages.render`).
A scorecard made of these is stored once and shown in any language.
"""

from __future__ import annotations

import locale
import os
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, field_validator, model_validator
from typing_extensions import TypeAliasType

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")

# A space between two Chinese characters (or full-width punctuation) is where a folded YAML
# scalar joined two lines; Chinese text has no spaces there.
_FOLD_BETWEEN_CJK = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]) +(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])")


class Localized(BaseModel):
    """A text in English and, where written, Chinese; a plain YAML string means English only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    en: str
    """The English text (required)."""
    zh: str | None = None
    """The Chinese text; English is shown when it is missing."""

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, value: object) -> object:
        return {"en": value} if isinstance(value, str) else value

    @field_validator("zh")
    @classmethod
    def _unfold(cls, value: str | None) -> str | None:
        return _FOLD_BETWEEN_CJK.sub("", value) if value else value

    def get(self, lang: Lang) -> str:
        """The text in `lang`, falling back to English."""
        return (self.zh if lang == "zh" else None) or self.en


def _kind_of(value: Any) -> str:
    """Which member of a union of texts and parameters a value is, from Python objects or their JSON form.

    A JSON object with a `key` is a message, any other object a localized text; an explicit
    choice rather than pydantic's best guess, so a stored scorecard validates back to itself.
    """
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, Msg):
        return "msg"
    if isinstance(value, Localized):
        return "localized"
    if isinstance(value, dict):
        return "msg" if "key" in value else "localized"
    return "unknown"  # not a tag of the union: pydantic reports it as invalid


Param = TypeAliasType("Param", Annotated[Union[
    Annotated[bool, Tag("bool")],
    Annotated[int, Tag("int")],
    Annotated[float, Tag("float")],
    Annotated[str, Tag("str")],
    Annotated[None, Tag("none")],
    Annotated["Msg", Tag("msg")],
    Annotated[Localized, Tag("localized")],
    Annotated[list["Param"], Tag("list")],
], Discriminator(_kind_of)])
"""A value that fills a message: a number, a plain string (data: code, names, what the student wrote),
a nested message, a localized spec text, or a list of these (joined in the reader's language)."""


class Msg(BaseModel):
    """A message as data: a catalogue key (or an inline template) and its parameters, rendered later."""

    # NaN and infinity are data too (a student's gradient can be either); written as JSON's NaN/Infinity.
    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="constants")

    key: str
    """The message's id: a key of the catalogue, or a plugin's own name for an inline template."""
    params: dict[str, Param] = {}
    """What fills the template's fields."""
    template: Localized | None = None
    """A template of its own in both languages (plugins), rendered instead of the catalogue's entry."""

    @classmethod
    def inline(cls, template: Localized | dict[str, str] | str, key: str = "inline", /, **params: Any) -> Msg:
        """A message with its own template (`{"en": "...{call}...", "zh": "..."}`), for plugins' sentences."""
        return cls(key=key, params=params, template=Localized.model_validate(template))


def msg(key: str, **params: Any) -> Msg:
    """The catalogue message `key` filled with `params`."""
    return Msg(key=key, params=params)


Text = Annotated[Union[
    Annotated[Msg, Tag("msg")],
    Annotated[Localized, Tag("localized")],
    Annotated[str, Tag("str")],
], Discriminator(_kind_of)]
"""What a scorecard shows as text: a message, a spec text in both languages, or plain text
(what the student wrote or printed, a plugin's own words)."""


def detect_lang(environ: dict[str, str] | None = None) -> Lang:
    """The language of the user's locale: Chinese for zh_* locales, English otherwise."""
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    try:
        code = locale.getlocale()[0] or ""
    except ValueError:
        code = ""
    return "zh" if code.lower().startswith("zh") else "en"
