"""Replies as words the rules can match: one spelling for Russian and Kazakh, Cyrillic or Latin,
careful or hurried, and word stems matched exactly or with one slip.

«Маған ЖАЗБАҢЫЗ!!!», «mazalamanyz», «пииишите» and «нe пишитe» (a Latin e) all become plain
lower-case Cyrillic without Kazakh letters, soft signs, doubled letters or punctuation. Every
stem the rules name goes through the same folding, so rules and replies always agree."""

import re
import unicodedata
from functools import lru_cache

KAZAKH_FOLD = str.maketrans({"ә": "а", "і": "и", "ң": "н", "ғ": "г", "ү": "у", "ұ": "у", "қ": "к", "ө": "о",
                             "һ": "х", "ё": "е", "й": "и", "ь": "", "ъ": ""})
# Latin typing of Russian and Kazakh (and Latin letters slipped into Cyrillic words): digraphs first.
LATIN_DIGRAPHS = [("shch", "щ"), ("sch", "щ"), ("sh", "ш"), ("ch", "ч"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"),
                  ("ya", "я"), ("yu", "ю"), ("yo", "е"), ("ye", "е")]
LATIN_LETTERS = str.maketrans({"a": "а", "b": "б", "c": "с", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "х",
                               "i": "и", "j": "ж", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п",
                               "q": "к", "r": "р", "s": "с", "t": "т", "u": "у", "v": "в", "w": "у", "x": "х",
                               "y": "ы", "z": "з", "ı": "ы", "ş": "ш", "ç": "ч", "ğ": "г", "ñ": "н"})
LATIN_WORD = re.compile(r"[a-zışçğñ]+")
TOKEN = re.compile(r"[^\W\d_]+|\d+")
SLIP = "slip:"  # before a guarded class read through a slip
MIN_FUZZY = 5  # a slip is read only in longer words: a short one is one letter from too many others


def fold(text: str) -> str:
    """Lower case, Latin letters read as Cyrillic, Kazakh letters and ё folded, ь ъ dropped,
    any letter typed twice or more read once («пиииишите» -> «пишите», «рассылка» -> «расылка»)."""
    text = (text or "").lower()
    text = LATIN_WORD.sub(lambda m: latin_to_cyrillic(m.group(0)), strip_accents(text))
    text = text.translate(KAZAKH_FOLD)
    return re.sub(r"([^\W\d_])\1+", r"\1", text)


def strip_accents(text: str) -> str:
    """«ä», «ö», «ü», «ū» of Kazakh Latin lose their marks; Cyrillic letters keep theirs (й, ё)."""
    if text.isascii():
        return text
    return "".join(ch if ord(ch) > 0x2ff or ch in "ışçğñ" else
                   unicodedata.normalize("NFKD", ch)[0] for ch in text)


def latin_to_cyrillic(word: str) -> str:
    for latin, cyrillic in LATIN_DIGRAPHS:
        word = word.replace(latin, cyrillic)
    return word.translate(LATIN_LETTERS)


def tokens(text: str) -> list[str]:
    """The reply's words, folded; emoji and punctuation are gone."""
    return TOKEN.findall(fold(text))


def one_slip(a: str, b: str) -> bool:
    """At most one letter wrong, missing, extra, or two neighbours swapped."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i in range(len(short)) if short[i] != long[i]), len(short))
    return short[i:] == long[i + 1:]


def ending_only(a: str, b: str) -> bool:
    """The words differ in their last letter only: another ending («работаю», «работал»), not a slip."""
    return a[:-1] == b[:-1] or a == b[:-1] or b == a[:-1]


class Lexicon:
    """Named word classes (each a list of stems, "=" before a stem for the whole word only) and
    a matcher: which classes a word belongs to. A word that starts with a known stem is taken as
    written; only a word no stem knows is read with one slip, so «хабарлама» never turns into
    «хабарлас». A `guarded` class read through a slip comes back as `SLIP + class`: a word one
    letter from «отстаньте» may be «отстают», a real word of another meaning, so the caller
    decides when such a reading counts."""

    def __init__(self, classes: dict[str, list[str]], guarded: tuple[str, ...] = ()):
        self.guarded = set(guarded)
        self.stems, self.whole = {}, {}
        for name, stems in classes.items():
            for stem in stems:
                target = self.whole if stem.startswith("=") else self.stems
                target.setdefault(fold(stem.lstrip("=")), set()).add(name)
        self.by_letter = {}
        for stem in self.stems:
            if len(stem) >= MIN_FUZZY:
                self.by_letter.setdefault(stem[0], []).append(stem)
        self.classes_of = lru_cache(maxsize=20000)(self._classes_of)

    def _classes_of(self, word: str) -> frozenset:
        found = set(self.whole.get(word, ()))
        for end in range(1, len(word) + 1):
            found |= self.stems.get(word[:end], set())
        if found or len(word) < MIN_FUZZY:
            return frozenset(found)
        return frozenset(SLIP + name if name in self.guarded else name for name in self._slipped(word))

    def _slipped(self, word: str) -> set:
        found = set()
        # One slip (never in the first letter): a whole word explains it best; else the longest
        # stem it could begin with.
        for whole, classes in self.whole.items():
            if (len(whole) >= MIN_FUZZY and whole[0] == word[0] and one_slip(word, whole)
                    and not ending_only(word, whole)):
                found |= classes
        if found:
            return found
        best = 0
        for stem in self.by_letter.get(word[0], ()):
            # A letter dropped from a five-letter stem leaves four, which too many words begin with.
            slips = (0, 1) if len(stem) <= MIN_FUZZY else (-1, 0, 1)
            if len(stem) >= best and any(one_slip(word[:len(stem) + d], stem)
                                         for d in slips if len(stem) + d <= len(word)):
                if len(stem) > best:
                    found, best = set(), len(stem)
                found |= self.stems[stem]
        return found

    def read(self, text: str) -> list[frozenset]:
        """For each word of the reply, the classes it belongs to."""
        return [self.classes_of(word) for word in tokens(text)]


def near(words: list[frozenset], first: str, then: str, gap: int, any_order: bool = False) -> bool:
    """A word of class `first` followed by one of class `then` within `gap` words (or before it,
    when `any_order`)."""
    for i, classes in enumerate(words):
        if first in classes:
            lo = max(0, i - gap) if any_order else i + 1
            if any(then in words[j] for j in range(lo, min(len(words), i + gap + 1)) if j != i):
                return True
    return False
