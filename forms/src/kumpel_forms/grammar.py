"""German case forms of a name as it stands in a sentence ("das Ordnungsamt" -> "dem Ordnungsamt").

The knowledge base keeps an office's or a town's ``name_in_sentence`` in the nominative, with its
article ("das Bürgerbüro", "die Stadtverwaltung Hellbach", "die Technischen Betriebe Hellbach").
A text that needs it after "bei" / "an" writes ``{office:dat}`` or ``{town:acc}`` (``InSentence``);
the rule declines the article and the adjectives before the noun:

- der (masculine): dative "dem", accusative "den"; adjectives "-e" -> "-en" in both;
- das (neuter): dative "dem", accusative "das"; adjectives "-e" -> "-en" in the dative;
- die (feminine): dative "der", accusative "die"; adjectives "-e" -> "-en" in the dative;
- die (plural, seen by an adjective in "-en" after "die", as in "die Technischen Betriebe"):
  dative "den" and the noun gains "-n" ("den Technischen Betrieben"), accusative unchanged;
- "Ihre" (the stand-in "Ihre Stadtverwaltung"): dative "Ihrer", accusative unchanged.

"die" without such an adjective is taken as feminine singular, as almost every office name is
("die Ausländerbehörde"); a plural name without an adjective ("die Stadtwerke") would come out as
"der Stadtwerke", so texts keep such a name the subject of its sentence where they can. A name
without an article has no derived form: ``dative`` returns None and ``InSentence`` keeps it as it is.
"""

from __future__ import annotations

import re

# Declined before the head noun: "Städtische", "Untere", "Technischen" (capitalised in names).
_ADJECTIVE = re.compile(r"^[A-ZÄÖÜa-zäöüß-]+(isch|lich|ig|er|al|ell|iv|ar|ein)e[n]?$")
_ARTICLES = {"der": ("dem", "den"), "das": ("dem", "das"), "die": ("der", "die"), "ihre": ("Ihrer", "Ihre")}


def _split(name: str) -> tuple[str, list[str]] | None:
    words = name.split()
    if len(words) < 2 or words[0].lower() not in _ARTICLES:
        return None
    return words[0], words[1:]


def _adjectives(rest: list[str]) -> int:
    """How many words before the head noun are declined adjectives ("Untere", "Technischen")."""
    count = 0
    while count < len(rest) - 1 and rest[count].endswith(("e", "en")) and _ADJECTIVE.match(rest[count]):
        count += 1
    return count


def _is_plural(article: str, rest: list[str], adjectives: int) -> bool:
    # Only a plural has a nominative adjective in "-en" after "die": "die Technischen Betriebe".
    return article.lower() == "die" and adjectives > 0 and rest[0].endswith("en")


def _keep_case(model: str, word: str) -> str:
    return word[:1].upper() + word[1:] if model[:1].isupper() else word


def dative(name: str) -> str | None:
    """The dative of a nominative name with article, or None when the rule cannot tell it."""
    split = _split(name)
    if split is None:
        return None
    article, rest = split
    adjectives = _adjectives(rest)
    if _is_plural(article, rest, adjectives):
        noun = rest[adjectives]
        if not noun.endswith(("n", "s")):
            rest = [*rest[:adjectives], noun + "n", *rest[adjectives + 1 :]]
        return " ".join([_keep_case(article, "den"), *rest])
    declined = [word if word.endswith("n") else word + "n" for word in rest[:adjectives]]
    return " ".join([_keep_case(article, _ARTICLES[article.lower()][0]), *declined, *rest[adjectives:]])


def accusative(name: str) -> str | None:
    """The accusative of a nominative name with article, or None when the rule cannot tell it."""
    split = _split(name)
    if split is None:
        return None
    article, rest = split
    if article.lower() != "der":
        return name  # feminine, neuter, plural and "Ihre": the accusative is the nominative
    adjectives = _adjectives(rest)
    declined = [word if word.endswith("n") else word + "n" for word in rest[:adjectives]]
    return " ".join([_keep_case(article, "den"), *declined, *rest[adjectives:]])


class InSentence(str):
    """A name in the nominative that a format string can put in another case or capitalise:
    ``{office:dat}``, ``{town:acc}``, ``{town:cap}`` (sentence start). Without a derived form
    the nominative stays (see the module's note)."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        text = str(self)
        if spec == "dat":
            return dative(text) or text
        if spec == "acc":
            return accusative(text) or text
        if spec == "cap":
            return text[:1].upper() + text[1:]
        return format(text, spec)
