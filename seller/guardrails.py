"""Checks on every model reply before it may be sent in the shop's name.

The reply is compared with what the model was given: the data block (`prompts.order_data`) and
the shop's own voice. What comes from there is fine, quoted verbatim or retold (item names keep
their numbers, sizes and %; the voice's own facts, such as «обмен размера бесплатный в течение
14 дней», may be repeated); anything else that looks like a product, a number, a price, a
discount, a promise, a link or a phone number is not. A false alarm costs one repair and at
worst the fallback template; a miss costs the shop's reputation.
"""

import re
from dataclasses import dataclass

MAX_LENGTH = 500  # WhatsApp-short, not counting the links

# Any domain is a link: WhatsApp opens «shop.рф» as readily as «shop.kz».
URL = re.compile(
    r"(?i)\b(?:https?://|www\.)[^\s<>\"'«»]+"
    r"|(?<![\w@.])(?:[\w-]*[^\W\d_][\w-]*\.)+[^\W\d_]{2,24}\b(?:/[^\s<>\"'«»]*)?"
)
LINK_TAIL = ".,!?;:)"
# "г.Алматы", "ул.Абая", "т.е." are abbreviations, not domains
ABBREVIATIONS = re.compile(r"(?i)^(?:г|ул|пр|просп|д|кв|мкр|им|т|тел|стр|см|р|обл|пос|с|п|ш|б|жк)\.")
PHONE = re.compile(r"(?:\+?\d[\s\-()]*){10,}")
PLACEHOLDER = re.compile(r"\{[^}]*\}|\{\{|\}\}|\[[^\]\n]{1,40}\]|<[^>\n]+>|%s|\bX{3,}\b")
MARKUP = re.compile(
    r"\*\*|__|```|^\s*#{1,6}\s|<[^>\n]+>|\[[^\]\n]*\]\([^)\n]*\)|^\s*[-*•]\s"
    r"|(?:^|\s)[*_~][^\s*_~][^*_~\n]*[*_~](?=\s|$|[.,!?])",
    re.MULTILINE,
)
NUMBER = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+")
PRICE = re.compile(r"(?i)[₸$€₽]|\b(?:тг|тенге|теңге|kzt|руб\w*|сом)\b|\d\s*т\.")
DISCOUNT = re.compile(
    r"(?i)%|\b(?:скидк\w*|промокод\w*|купон\w*|акци[яиюей]\w*|распродаж\w*|кэшбэк\w*|кешбэк\w*|бонус\w*|выгод\w*|"
    r"жеңілдік\w*|sale|promo\w*|discount\w*|cashback|bonus\w*|free|gift\w*)"
)
PROMISE = re.compile(
    r"(?i)\b(?:бесплатн\w*|без оплаты|гарант\w*|обеща\w*|подар\w*|подарит\w*|дарим|сюрприз\w*|верн[её]м\w*|компенс\w*|"
    r"завтра|сегодня|в течение|тегін|сыйлық\w*|кепілд\w*|уәде\w*|ертең|бүгін)"
)
REFUSAL = re.compile(
    r"(?i)\b(?:я не могу (?:помочь|выполнить|написать|ответить)|не могу помочь|как (?:ии|ai|языковая модель)|"
    r"языков\w+ модел\w+|мен көмектесе алмаймын|i can[’']?t|i cannot|as an ai)"
)
WORD = re.compile(r"[^\W_]+(?:[%’'][^\W_]*)?%?")
TOKEN = re.compile(r"[\w%/'’+.-]*\d(?:[\w%/'’+-]|\.(?=\w))*")  # a name's part with a digit: 128Gb, 205/55, R16, 10%
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
QUOTED = re.compile(r"«([^»]+)»|\"([^\"]+)\"")
CLAUSE_END = re.compile(r"[.!?;\n\u2600-\u27bf\U0001f000-\U0001ffff]")  # emojis end a clause too
CYRILLIC = re.compile(r"[а-яёәіңғүұқөһ]", re.IGNORECASE)
KAZAKH = re.compile(r"[әіңғүұқөһ]", re.IGNORECASE)
LATIN = re.compile(r"[a-z]", re.IGNORECASE)
ALWAYS_ALLOWED_WORDS = {"kaspi", "kaspi.kz", "whatsapp"}
ALWAYS_ALLOWED_LINKS = {"kaspi.kz"}
SETTINGS_KEYS = {"trigger", "language"}  # what the data says about the message, not words it may use

# Products a reply may name in plain words: each is fine only when the data or the voice speaks of
# it too (an item, a recommendation, a category). Russian and Kazakh, Russian words in Kazakh text.
PRODUCT_WORDS = [
    r"чех(?:ол|л[аеуыо]\w*)|\bқап(?:ты|қа|ы)?\b|бампер\w*",
    r"пл[её]нк\w*|стекл[оау]\w*|\bстекол\b|қорғаныш\w*|\bәйне[кг]\w*",
    r"заряд(?:к|н)\w*|адаптер\w*|блок\w* питани\w*|зарядта\w*|кабел\w*|\bпровод\b|\bпровода\b",
    r"наушник\w*|гарнитур\w*|құлаққап\w*",
    r"пауэрбанк\w*|павербанк\w*|аккумулятор\w*",
    r"смарт-час\w*|\bчасы\b|фитнес-браслет\w*|браслет\w*|сағат\w*",
    r"смартфон\w*|\bтелефон(?:а|ы|у)?\b",
    r"носк\w*|носоч\w*|шұлық\w*",
    r"спрей\w*|пропитк\w*|крем\w* для обуви",
    r"перчат\w*|қолғап\w*",
    r"шарф\w*|шапк\w*|бөрік\w*",
    r"сыворот\w*|сарысу\w*",
    r"\bмаск[аиу]\w*|шампун\w*|бальзам\w*|тоник\w*|лосьон\w*",
    r"\bкрем\w*|солнцезащит\w*|\bspf\b|флюид\w*",
    r"салфетк\w*|майлық\w*",
    r"подгузник\w*|жаялық\w*",
    r"чайник\w*|шәйне[кг]\w*",
    r"\bча[йяюе]\b|\bчай(?!ник)\w*|\bшай(?:ы|ды|ға)?\b",
    r"сковород\w*|кастрюл\w*|\bтаба(?:сы|ны|ңыз)?\b",
    r"\bшин[аыуе]\w*|покрышк\w*|\bдиск\w*",
    r"компрессор\w*|насос\w*",
    r"коврик\w*|кілемше\w*",
    r"конструктор\w*|игрушк\w*|ойыншық\w*",
    r"сумк\w*|рюкзак\w*|кошел[её]к\w*",
    r"полотен\w*|сүлгі\w*",
    r"\bсмес[ьи]\w*|қоспа\w*|пюре\b",
    r"пылесос\w*|шаңсорғыш\w*",
    r"кроссовк\w*|кроссовка\w*|кед[ыа]\w*|ботинк\w*",
    r"куртк\w*|күрте\w*|пальто\b|пуховик\w*",
    r"плать[еяю]\w*|көйле[кг]\w*",
    r"колготк\w*",
    r"мешк\w*|фильтр\w*|насадк\w*|щ[её]тк\w*",
]
PRODUCT_CONCEPTS = [re.compile("(?i)" + pattern) for pattern in PRODUCT_WORDS]
# Brands written in Cyrillic: fine when the data has the brand in Latin letters.
BRANDS = {
    "айфон": "iphone", "самсунг": "samsung", "галакси": "galaxy", "сяоми": "xiaomi", "ксиаоми": "xiaomi",
    "редми": "redmi", "эппл": "apple", "эпл": "apple", "эйрподс": "airpods", "аирподс": "airpods",
    "джибиэль": "jbl", "филипс": "philips", "дайсон": "dyson", "тефаль": "tefal", "лего": "lego",
    "найк": "nike", "адидас": "adidas", "хонор": "honor", "хуавей": "huawei", "сони": "sony", "бадс": "buds",
    "мишлен": "michelin", "нокиан": "nokian", "памперс": "pampers", "хаггис": "huggies", "спиген": "spigen",
    "бейсус": "baseus", "дриме": "dreame", "церave": "cerave", "цераве": "cerave", "ларош": "roche",
}
BRAND = re.compile(r"(?i)\b(" + "|".join(sorted(BRANDS, key=len, reverse=True)) + r")\w*")
# Words that say nothing by themselves, in a clause that repeats the voice.
FILLER_STEMS = {"напом", "также", "всегд", "если", "можно", "дейст", "очень", "будет", "будем", "ваш", "вашег",
                "вашей", "вам", "вас", "наш", "нашем", "нашег", "кстат", "конеч", "сізге", "сізді", "сіздің", "еске",
                "салам", "саламы", "екен", "екені", "бізде", "біз", "және", "сондай", "тағы", "только", "любой", "любую"}


@dataclass(frozen=True)
class Finding:
    check: str  # the check's name, e.g. "number"
    detail: str = ""  # what exactly: the number, the word, the link ... (for the repair request)


def problems(text: str, data: dict, voice: str = "") -> list[str]:
    """The names of the checks `text` breaks given the data the model saw; empty when it may be sent."""
    return list(dict.fromkeys(finding.check for finding in findings(text, data, voice)))


def findings(text: str, data: dict, voice: str = "") -> list[Finding]:
    """Everything wrong with `text`, with what exactly, in the order of the checks."""
    text = (text or "").strip()
    if not re.search(r"\w", text):
        return [Finding("empty")]
    known = Known(data, voice)
    found = []
    length = len(URL.sub("", text))
    if length > MAX_LENGTH:
        found.append(Finding("too_long", str(length)))
    found += [Finding("link", link) for link in links(text) if not known.allows_link(link)]
    own = known.own_words(text)
    found += [Finding("phone") for _ in PHONE.finditer(own)][:1]  # the number itself is kept nowhere
    own = PHONE.sub(" ", own)  # nor told again as numbers
    found += [Finding("placeholder", match.group(0)) for match in PLACEHOLDER.finditer(text)]
    found += [Finding("refusal", match.group(0)) for match in REFUSAL.finditer(own)]
    found += [Finding("markup", match.group(0).strip()) for match in MARKUP.finditer(URL.sub(" ", text))]
    for name, pattern in (("price", PRICE), ("discount", DISCOUNT), ("promise", PROMISE)):
        found += [Finding(name, match.group(0)) for match in pattern.finditer(own) if not known.voice_says(own, match)]
    found += [Finding("number", number) for number in known.invented_numbers(own)]
    found += [Finding("product", name) for name in known.invented_names(own)]
    language = language_problem(own, data.get("language", "ru"))
    if language:
        found.append(Finding(language))
    return found


def links(text: str) -> list[str]:
    return [match.rstrip(LINK_TAIL) for match in URL.findall(text) if not ABBREVIATIONS.match(match)]


def allowed_links(data: dict) -> list[str]:
    found = [item["url"] for item in data.get("recommendations", []) if item.get("url")]
    if data.get("review_link"):
        found.append(data["review_link"])
    return found


def data_strings(data: dict) -> list[str]:
    """Every value in the data (names, items, the delivery sentence ...), longest first."""
    values = []

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key not in SETTINGS_KEYS:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif value not in (None, ""):
            values.append(str(value))

    walk(data)
    return sorted(set(values), key=len, reverse=True)


def stem(word: str) -> str:
    return word.lower().replace("ё", "е")[:5]


class Known:
    """What the model was given, in the forms the checks compare with."""

    def __init__(self, data: dict, voice: str):
        self.voice = (voice or "").strip()
        # the voice's sentences may be repeated word for word, like the data's values
        sentences = [part.strip() for part in re.split(r"(?<=[.!?])\s+|\n", self.voice) if len(part.strip()) > 8]
        self.strings = sorted(set(data_strings(data) + sentences), key=len, reverse=True)
        self.text = " ".join(self.strings).lower()
        everything = self.text + " " + self.voice.lower()
        self.everything = everything
        self.own_names = (str(data.get("shop_name") or "") + " " + self.voice).lower()  # the merchant's own words
        self.tokens = {token.lower().strip(".-") for token in TOKEN.findall(everything)}
        self.numbers = {digits for digits in re.findall(r"\d+", everything)}
        self.latin = {word.strip("-'’") for word in LATIN_WORD.findall(everything)} | ALWAYS_ALLOWED_WORDS
        self.stems = {stem(word) for word in WORD.findall(everything)}
        self.voice_words = [stem(word) for word in WORD.findall(self.voice)]
        self.links = {link.rstrip("/").lower() for link in allowed_links(data)} | ALWAYS_ALLOWED_LINKS

    def allows_link(self, link: str) -> bool:
        """A link the system built, or a domain the shop's own name or voice holds (a shop named
        «Shina.kz»)."""
        bare = link.rstrip("/").lower()
        if bare in self.links:
            return True
        return "/" not in bare and bare in self.own_names

    def own_words(self, text: str) -> str:
        """The reply without its links and without what it takes from the data verbatim, names'
        parts with digits included: what the model wrote itself."""
        text = URL.sub(" ; ", text)
        for value in self.strings:
            if len(value) > 1:  # a sentence taken whole still ends its clause
                gap = " ; " if value.rstrip()[-1:] in ".!?" else " "
                text = re.sub(re.escape(value), gap, text, flags=re.IGNORECASE)
        return TOKEN.sub(lambda match: " " if match.group(0).lower().strip(".-") in self.tokens else match.group(0), text)

    def voice_says(self, own: str, match: re.Match) -> bool:
        """The shop's voice says this itself: the word is in it, so are the words right next to it
        («доставка бесплатная» is not «обмен бесплатный»), and so is most of its clause."""
        if not self.voice_words:
            return False
        word = max(WORD.findall(match.group(0)) or [match.group(0)], key=len)
        if stem(word) not in self.voice_words and word not in self.voice:
            return False
        before = [end.end() for end in CLAUSE_END.finditer(own, 0, match.start())]
        after = CLAUSE_END.search(own, match.end())
        start, end = before[-1] if before else 0, after.start() if after else len(own)

        def content(text):
            words = (stem(w) for w in WORD.findall(text) if len(w) > 3 and not w.isdigit())
            return [s for s in words if s not in FILLER_STEMS]

        left, right = content(own[start:match.start()]), content(own[match.end():end])
        if any(s not in self.voice_words for s in left[-1:] + right[:1]):
            return False
        clause = left + [stem(word)] + right
        return sum(s in self.voice_words for s in clause) / len(clause) >= 0.7

    def invented_numbers(self, own: str) -> list[str]:
        invented = []
        for match in NUMBER.finditer(own):
            parts = re.findall(r"\d+", match.group(0))
            if "".join(parts) not in self.numbers and not all(part in self.numbers for part in parts):
                invented.append(match.group(0))
        return invented

    def invented_names(self, own: str) -> list[str]:
        """Brand or model words, products named in plain words, and «quoted» names that neither
        the data nor the voice contains."""
        invented = [word for word in (w.lower().strip("-'’") for w in LATIN_WORD.findall(own)) if word not in self.latin]
        for concept in PRODUCT_CONCEPTS:
            match = concept.search(own)
            if match and not concept.search(self.everything):
                invented.append(match.group(0))
        for match in BRAND.finditer(own):
            if BRANDS[match.group(1).lower()] not in self.everything and match.group(1).lower() not in self.everything:
                invented.append(match.group(0))
        for match in QUOTED.finditer(own):
            quoted = (match.group(1) or match.group(2)).strip()
            words = [stem(w) for w in WORD.findall(quoted)]
            if words and sum(w in self.stems for w in words) * 2 < len(words):
                invented.append(quoted)
        return invented


def language_problem(own: str, language: str) -> str:
    """"script" when the reply is not in Cyrillic, "language" when it is Russian for a Kazakh
    shop or Kazakh for a Russian one; "" when it fits."""
    cyrillic, latin, kazakh = (len(pattern.findall(own)) for pattern in (CYRILLIC, LATIN, KAZAKH))
    if latin > cyrillic:
        return "script"
    if language == "kk" and cyrillic >= 20 and kazakh < max(1, cyrillic // 50):
        return "language"
    if language == "ru" and kazakh >= 3:
        return "language"
    return ""
