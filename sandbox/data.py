"""Plausible fake Kaspi.kz data: people, phones, a catalogue, addresses.

Everything is drawn from a `random.Random` the caller owns, so a seed gives the same world.
"""

import base64
from dataclasses import dataclass

MALE_KK = ["Нурлан", "Ерлан", "Бауыржан", "Данияр", "Арман", "Санжар", "Нурсултан", "Темирлан",
           "Азамат", "Ерасыл", "Дархан", "Асхат", "Талгат", "Ержан", "Аслан", "Мирас"]
FEMALE_KK = ["Айгерим", "Асель", "Динара", "Жанар", "Гульнара", "Айдана", "Мадина", "Алия",
             "Жансая", "Камила", "Айжан", "Томирис", "Аружан", "Дана", "Сауле", "Меруерт"]
LAST_KK = ["Нурланов", "Ахметов", "Серикбаев", "Жумабеков", "Касымов", "Абдрахманов", "Есенов",
           "Омаров", "Сулейменов", "Тулегенов", "Искаков", "Байжанов", "Кенжебаев", "Оспанов",
           "Садыков", "Бекмуханов"]
MALE_RU = ["Дмитрий", "Сергей", "Алексей", "Андрей", "Игорь", "Максим", "Владимир", "Артём"]
FEMALE_RU = ["Анна", "Елена", "Ольга", "Наталья", "Татьяна", "Екатерина", "Ирина", "Светлана"]
LAST_RU = ["Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Васильев", "Ким", "Пак"]

# Kazakhstan mobile operators' prefixes, as the 10 digits Kaspi returns start.
PHONE_PREFIXES = ["700", "701", "702", "705", "706", "707", "708",
                  "747", "771", "775", "776", "777", "778"]

CATEGORIES = {
    "Master - Smartphones": "Смартфоны",
    "Master - Headphones": "Наушники",
    "Master - Smart watches": "Смарт-часы и фитнес-браслеты",
    "Master - Power banks": "Внешние аккумуляторы",
    "Master - Phone cases": "Чехлы для смартфонов",
    "Master - Vacuum cleaners": "Пылесосы",
    "Master - Kettles": "Электрочайники",
    "Master - Hair dryers": "Фены",
    "Master - Face creams": "Кремы для лица",
    "Master - Construction sets": "Конструкторы",
    "Master - Sneakers": "Кроссовки",
    "Master - Tea": "Чай",
}


@dataclass(frozen=True)
class Product:
    code: str  # Kaspi's product code (the one in kaspi.kz/shop/p/-<code>/)
    name: str
    manufacturer: str
    category: str  # a key of CATEGORIES
    price: int  # tenge
    weight: float  # kg

    @property
    def sku(self):
        # The merchant's own offer code: shops invent their own, this looks like one.
        return f"{self.manufacturer[:3].upper()}-{self.code[-5:]}"


PRODUCTS = [Product(*row) for row in [
    ("113137790", "Apple iPhone 15 128Gb черный", "Apple", "Master - Smartphones", 429990, 0.3),
    ("114695323", "Samsung Galaxy A55 5G 8/256GB голубой", "Samsung", "Master - Smartphones", 209990, 0.3),
    ("115866071", "Xiaomi Redmi Note 13 8/256Gb черный", "Xiaomi", "Master - Smartphones", 99990, 0.3),
    ("106363023", "Apple AirPods Pro 2 белый", "Apple", "Master - Headphones", 119990, 0.2),
    ("109713498", "JBL Tune 520BT черный", "JBL", "Master - Headphones", 19990, 0.3),
    ("113722561", "Xiaomi Redmi Buds 5 черный", "Xiaomi", "Master - Headphones", 14990, 0.1),
    ("111470311", "Samsung Galaxy Watch6 44 мм графитовый", "Samsung", "Master - Smart watches", 119990, 0.2),
    ("110781422", "Xiaomi Smart Band 8 черный", "Xiaomi", "Master - Smart watches", 17990, 0.1),
    ("102781335", "Xiaomi Redmi Power Bank 20000 мАч черный", "Xiaomi", "Master - Power banks", 9990, 0.5),
    ("108123711", "Baseus Bipow 10000 мАч белый", "Baseus", "Master - Power banks", 7490, 0.3),
    ("115002187", "Чехол Spigen Ultra Hybrid для iPhone 15 прозрачный", "Spigen", "Master - Phone cases", 8990, 0.1),
    ("113900455", "Чехол-книжка для Samsung Galaxy A55 черный", "Samsung", "Master - Phone cases", 3490, 0.1),
    ("107521134", "Dreame V10 Pro серый", "Dreame", "Master - Vacuum cleaners", 119990, 4.5),
    ("101862099", "Xiaomi Robot Vacuum S10 белый", "Xiaomi", "Master - Vacuum cleaners", 89990, 5.2),
    ("100227181", "Tefal KO2008 белый", "Tefal", "Master - Kettles", 12990, 1.2),
    ("103640251", "Xiaomi Mi Smart Kettle Pro белый", "Xiaomi", "Master - Kettles", 21990, 1.6),
    ("109310377", "Dyson Supersonic HD07 фуксия", "Dyson", "Master - Hair dryers", 279990, 1.8),
    ("104118260", "Philips BHD308/10 черный", "Philips", "Master - Hair dryers", 14990, 0.9),
    ("105998702", "CeraVe увлажняющий крем 52 мл", "CeraVe", "Master - Face creams", 7990, 0.1),
    ("112040811", "La Roche-Posay Cicaplast Baume B5 40 мл", "La Roche-Posay", "Master - Face creams", 8490, 0.1),
    ("100812766", "LEGO Classic 11717 Кубики и колёса", "LEGO", "Master - Construction sets", 24990, 0.7),
    ("110275908", "LEGO Technic 42151 Bugatti Bolide", "LEGO", "Master - Construction sets", 29990, 0.8),
    ("111950144", "Nike Air Force 1 '07 белый 42", "Nike", "Master - Sneakers", 54990, 1.1),
    ("108734520", "Adidas Runfalcon 3.0 черный 41", "Adidas", "Master - Sneakers", 27990, 0.9),
    ("101445372", "Tess Pleasure чай черный 100 пакетиков", "Tess", "Master - Tea", 1890, 0.2),
    ("102330917", "Пиала Kenya чай черный гранулированный 500 г", "Пиала", "Master - Tea", 1990, 0.5),
]]
PRODUCTS_BY_CODE = {p.code: p for p in PRODUCTS}

# (town, latitude, longitude, streets)
CITIES = [
    ("Алматы", 43.238, 76.889, ["проспект Абая", "улица Толе би", "проспект Достык", "улица Жандосова"]),
    ("Астана", 51.128, 71.430, ["проспект Мангилик Ел", "улица Кенесары", "проспект Республики"]),
    ("Шымкент", 42.341, 69.590, ["проспект Тауке хана", "улица Байтурсынова"]),
    ("Караганда", 49.806, 73.085, ["проспект Бухар жырау", "улица Ерубаева"]),
    ("Актобе", 50.283, 57.167, ["проспект Абилкайыр хана", "улица Маресьева"]),
]

CANCEL_BEFORE_ACCEPT = ["MERCHANT_OUT_OF_STOCK", "BUYER_CANCELLATION_HIMSELF", "RFO_REJECTED"]
CANCEL_IN_DELIVERY = ["BUYER_CANCELLATION_BY_COURIER", "TIMEOUT_KASPI_DELIVERY", "BUYER_CANCELLATION_BY_CSC"]
CANCEL_AT_PICKUP = ["TIMEOUT_BUYER_PICKUP", "BUYER_CANCELLATION_HIMSELF"]


def opaque_id(*parts):
    """Kaspi ids look like base64 of an internal key; clients must treat them as opaque."""
    return base64.b64encode("::".join(str(p) for p in parts).encode()).decode().rstrip("=")


def phone(rng):
    # About one customer in fifty gets a number the WAHA stand-in reports as not on WhatsApp.
    tail = "0000" if rng.random() < 0.02 else f"{rng.randrange(10000):04d}"
    return f"{rng.choice(PHONE_PREFIXES)}{rng.randrange(1000):03d}{tail}"


def international(phone):
    """Kaspi's 10 digits (or 8XXXXXXXXXX, or +7 ...) as the 11 digits WhatsApp ids use."""
    digits = "".join(ch for ch in str(phone) if ch.isdigit())
    if len(digits) == 10:
        return "7" + digits
    if len(digits) == 11 and digits[0] == "8":
        return "7" + digits[1:]
    return digits


def person(rng):
    kazakh = rng.random() < 0.7
    female = rng.random() < 0.55
    if kazakh:
        first = rng.choice(FEMALE_KK if female else MALE_KK)
        last = rng.choice(LAST_KK)
    else:
        first = rng.choice(FEMALE_RU if female else MALE_RU)
        last = rng.choice(LAST_RU)
    if female and last.endswith(("ов", "ев", "ин")):
        last += "а"
    return {"first_name": first, "last_name": last, "phone": phone(rng)}


def shop_catalogue(rng):
    """A shop sells a few categories, so related products share a category."""
    categories = rng.sample(sorted(CATEGORIES), rng.randint(3, 5))
    return [p for p in PRODUCTS if p.category in categories]


def basket(rng, catalogue):
    """[(product, quantity)]: mostly one item, sometimes two related ones."""
    first = rng.choice(catalogue)
    items = [(first, 1 if first.price > 20000 else rng.choice([1, 1, 2, 3]))]
    if rng.random() < 0.25:
        others = [p for p in catalogue if p != first]
        if others:
            items.append((rng.choice(others), 1))
    return items


def address(rng):
    town, lat, lon, streets = rng.choice(CITIES)
    street, number, flat = rng.choice(streets), str(rng.randint(1, 250)), str(rng.randint(1, 180))
    return {
        "streetName": street, "streetNumber": number, "town": town, "district": None,
        "building": None, "apartment": flat,
        "formattedAddress": f"{town}, {street}, {number}, кв. {flat}",
        "latitude": round(lat + rng.uniform(-0.05, 0.05), 6),
        "longitude": round(lon + rng.uniform(-0.05, 0.05), 6),
    }
