"""Languages, localized text fields and the catalogue of the grader's own messages."""

from __future__ import annotations

import locale
import os
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

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
