"""A shop's order history where what goes with what is known: the ground truth against which
recommendations are measured (bench/recommendations.py).

Categories are durable (bought once: a phone, tyres, a kettle) or consumable (bought again:
diapers, tea, cream); each has the categories that complement it. Products come in variants
(sizes, colours, memory) that are substitutes of one another, never complements. Customers buy
an item, often with a complement, sometimes with an unrelated item or a second variant they
compare; buyers of consumables come back for more.
"""

from dataclasses import dataclass

# category -> (consumable, complement categories)
CATEGORIES = {
    "Смартфоны": (False, ["Чехлы для смартфонов", "Защитные стекла", "Зарядные устройства", "Наушники"]),
    "Чехлы для смартфонов": (False, ["Защитные стекла"]),
    "Защитные стекла": (False, ["Чехлы для смартфонов"]),
    "Зарядные устройства": (False, []),
    "Наушники": (False, ["Зарядные устройства"]),
    "Электрочайники": (False, ["Чай"]),
    "Чай": (True, ["Электрочайники"]),
    "Шины": (False, ["Автокомпрессоры", "Колпачки на ниппель"]),
    "Автокомпрессоры": (False, []),
    "Колпачки на ниппель": (False, []),
    "Подгузники": (True, ["Влажные салфетки", "Детские кремы"]),
    "Влажные салфетки": (True, ["Подгузники"]),
    "Детские кремы": (True, ["Влажные салфетки"]),
    "Кроссовки": (False, ["Носки", "Средства по уходу за обувью"]),
    "Носки": (True, []),
    "Средства по уходу за обувью": (True, []),
    "Куртки": (False, ["Перчатки", "Шарфы"]),
    "Перчатки": (False, ["Шарфы"]),
    "Шарфы": (False, ["Перчатки"]),
    "Кремы для лица": (True, ["Солнцезащитные средства", "Сыворотки для лица"]),
    "Сыворотки для лица": (True, ["Кремы для лица"]),
    "Солнцезащитные средства": (True, ["Кремы для лица"]),
}


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    category: str
    model: str  # variants of one model share it: substitutes, never complements

    @property
    def url(self):
        return f"https://kaspi.kz/shop/p/-{self.code}/"


def _variants(model, category, names):
    return [(model, category, name) for name in names]


_ROWS = [
    *_variants("iphone15", "Смартфоны", ["Apple iPhone 15 128Gb черный", "Apple iPhone 15 256Gb черный",
                                          "Apple iPhone 15 128Gb голубой"]),
    *_variants("a55", "Смартфоны", ["Samsung Galaxy A55 5G 8/256GB голубой", "Samsung Galaxy A55 5G 8/128GB черный"]),
    *_variants("note13", "Смартфоны", ["Xiaomi Redmi Note 13 8/256Gb черный", "Xiaomi Redmi Note 13 6/128Gb зеленый"]),
    *_variants("spigen15", "Чехлы для смартфонов", ["Чехол Spigen Ultra Hybrid для iPhone 15 прозрачный"]),
    *_variants("booka55", "Чехлы для смартфонов", ["Чехол-книжка для Samsung Galaxy A55 черный"]),
    *_variants("caseredmi", "Чехлы для смартфонов", ["Чехол силиконовый для Redmi Note 13 черный"]),
    *_variants("glass15", "Защитные стекла", ["Защитное стекло для iPhone 15 Full Glue"]),
    *_variants("glassa55", "Защитные стекла", ["Защитное стекло для Samsung Galaxy A55"]),
    *_variants("apple20", "Зарядные устройства", ["Apple 20W USB-C Power Adapter белый"]),
    *_variants("sam25", "Зарядные устройства", ["Samsung EP-TA800 25W черный"]),
    *_variants("jbl520", "Наушники", ["JBL Tune 520BT черный", "JBL Tune 520BT белый", "JBL Tune 520BT синий"]),
    *_variants("airpods", "Наушники", ["Apple AirPods Pro 2 белый"]),
    *_variants("ko2008", "Электрочайники", ["Tefal KO2008 белый", "Tefal KO2008 черный"]),
    *_variants("mikettle", "Электрочайники", ["Xiaomi Mi Smart Kettle Pro белый"]),
    *_variants("tess", "Чай", ["Tess Pleasure чай черный 100 пакетиков"]),
    *_variants("piala", "Чай", ["Пиала Kenya чай черный гранулированный 500 г"]),
    *_variants("greenfield", "Чай", ["Greenfield Golden Ceylon чай черный 100 пакетиков"]),
    *_variants("pilot4", "Шины", ["Michelin Pilot Sport 4 205/55 R16 94W", "Michelin Pilot Sport 4 215/60 R16 99V",
                                  "Michelin Pilot Sport 4 225/45 R17 94Y"]),
    *_variants("hakka", "Шины", ["Nokian Tyres Hakkapeliitta R5 205/55 R16 94T",
                                 "Nokian Tyres Hakkapeliitta R5 215/60 R16 99R"]),
    *_variants("compressor", "Автокомпрессоры", ["Автокомпрессор Xiaomi Mijia 1S"]),
    *_variants("caps", "Колпачки на ниппель", ["Колпачки на ниппель алюминиевые 4 шт"]),
    *_variants("pampers", "Подгузники", ["Pampers Premium Care 3 Midi 6-10 кг 120 шт", "Pampers Premium Care 4 Maxi 9-14 кг 104 шт",
                                         "Pampers Premium Care 5 Junior 11-16 кг 88 шт"]),
    *_variants("huggiesd", "Подгузники", ["Huggies Elite Soft 4 8-14 кг 66 шт"]),
    *_variants("huggiesw", "Влажные салфетки", ["Влажные салфетки Huggies Elite Soft 4x56 шт"]),
    *_variants("pampersw", "Влажные салфетки", ["Влажные салфетки Pampers Sensitive 52 шт"]),
    *_variants("bepanthen", "Детские кремы", ["Bepanthen крем под подгузник 100 г"]),
    *_variants("af1", "Кроссовки", ["Nike Air Force 1 '07 белый 41", "Nike Air Force 1 '07 белый 42",
                                    "Nike Air Force 1 '07 белый 43"]),
    *_variants("runfalcon", "Кроссовки", ["Adidas Runfalcon 3.0 черный 41", "Adidas Runfalcon 3.0 черный 42"]),
    *_variants("socks", "Носки", ["Носки Nike Everyday Cushioned 3 пары белые"]),
    *_variants("spray", "Средства по уходу за обувью", ["Спрей Salamander водоотталкивающий 250 мл"]),
    *_variants("outw", "Куртки", ["Куртка женская Outventure утепленная 44 черный",
                                  "Куртка женская Outventure утепленная 46 черный"]),
    *_variants("outm", "Куртки", ["Куртка мужская Outventure утепленная 50 синий"]),
    *_variants("gloves", "Перчатки", ["Перчатки женские Finn Flare кожаные черные"]),
    *_variants("scarf", "Шарфы", ["Шарф Finn Flare вязаный серый"]),
    *_variants("cerave", "Кремы для лица", ["CeraVe увлажняющий крем 52 мл"]),
    *_variants("cicaplast", "Кремы для лица", ["La Roche-Posay Cicaplast Baume B5 40 мл"]),
    *_variants("niacin", "Сыворотки для лица", ["The Ordinary Niacinamide 10% + Zinc 1% 30 мл"]),
    *_variants("anthelios", "Солнцезащитные средства", ["La Roche-Posay Anthelios UVMune 400 SPF 50+ 50 мл"]),
]
ITEMS = [Item(str(120_000_000 + index * 37), name, category, model)
         for index, (model, category, name) in enumerate(_ROWS)]


def complements(item: Item) -> list[Item]:
    wanted = CATEGORIES[item.category][1]
    return [other for other in ITEMS if other.category in wanted]


def is_complement(suggested: Item, bought: list[Item]) -> bool:
    return any(suggested.category in CATEGORIES[item.category][1] for item in bought)


def is_substitute(suggested: Item, bought: list[Item]) -> bool:
    """Another variant of an item bought, or another item of a durable item's category."""
    return any(suggested.model == item.model or
               (suggested.category == item.category and not CATEGORIES[item.category][0]) for item in bought)


def history(rng, orders: int, customers: int):
    """[(customer number, [(item, quantity)])] in time order."""
    weights = [3 if CATEGORIES[item.category][1] and not CATEGORIES[item.category][0] else 1 for item in ITEMS]
    result, consumers = [], []
    for _ in range(orders):
        customer = rng.randrange(customers)
        if consumers and rng.random() < 0.2:  # a buyer of a consumable comes back for it
            customer, item = rng.choice(consumers)
            basket = [item if rng.random() < 0.7 else rng.choice([i for i in ITEMS if i.category == item.category])]
        else:
            basket = [rng.choices(ITEMS, weights)[0]]
        anchor = basket[0]
        if complements(anchor) and rng.random() < 0.55:
            basket.append(rng.choice(complements(anchor)))
            if rng.random() < 0.25 and complements(basket[-1]):
                basket.append(rng.choice(complements(basket[-1])))
        if rng.random() < 0.12:  # two variants to compare, one goes back later
            basket.append(rng.choice([i for i in ITEMS if i.category == anchor.category]))
        if rng.random() < 0.1:  # something unrelated in the same basket
            basket.append(rng.choice(ITEMS))
        unique = list(dict.fromkeys(basket))
        for item in unique:
            if CATEGORIES[item.category][0]:
                consumers.append((customer, item))
        result.append((customer, [(item, 1 if rng.random() < 0.8 else 2) for item in unique]))
    return result
