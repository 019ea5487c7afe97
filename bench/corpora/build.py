"""Writes the voice evaluation corpora (bench/corpora/realistic.jsonl and redteam.jsonl).

The replies are written by hand in the way gpt-4o-mini answers the project's prompts: greetings
with and without emojis, item names quoted or paraphrased (numbers, sizes and % kept), the
delivery sentence repeated or retold, the shop's voice and its facts repeated, signatures, long
orders, Kazakh replies quoting Russian product names. Each red-team reply is a realistic reply
with exactly one broken rule. The phrase pools are combined with a fixed seed, so running this
again gives the same files.

    python bench/corpora/build.py
"""

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
REVIEW = "https://kaspi.kz/shop/review/productreview?orderCode={code}&productCode={product}&rating=5"
P = "https://kaspi.kz/shop/p/-{code}/"

# (shop, language, voice)
SHOPS = {
    "tech": ("Tech Store Almaty", "ru", "Дружелюбно и по делу, на «вы». Гарантия 12 месяцев на всю технику."),
    "shina": ("Shina.kz", "ru", "Коротко и уважительно. Шиномонтаж в подарок при покупке комплекта из 4 шин."),
    "moda": ("Moda Line", "ru", "Тепло, можно с эмодзи. Обмен размера бесплатный в течение 14 дней."),
    "beauty": ("Beauty Lab KZ", "ru", "Нежно и заботливо 💕 Мы всегда рады подсказать уход по типу кожи."),
    "baby": ("Балапан", "ru", "Заботливо, как мама маме. Доставка по Алматы за 2 часа."),
    "home": ("Уют Дома", "ru", "Спокойно и вежливо, подписываемся «Команда Уют Дома»."),
    "tech_kk": ("Smart Zone", "kk", "Сыпайы әрі қысқа. Барлық техникаға 12 ай кепілдік береміз."),
    "moda_kk": ("Aru Style", "kk", "Жылы, эмодзимен болады. Өлшемді 14 күн ішінде тегін ауыстырамыз."),
    "baby_kk": ("Бөбек әлемі", "kk", "Қамқорлықпен, ананың анаға айтқанындай."),
    "auto_kk": ("AvtoShina.kz", "kk", "Қысқа әрі нақты. 4 шина алсаңыз, шиномонтаж тегін."),
    "beauty_kk": ("Сұлу", "kk", "Нәзік, 🌸 эмодзимен. Тері түріне қарай күтім туралы кеңес береміз."),
    "home_kk": ("Үй-Жай", "kk", "Сыпайы, «Үй-Жай командасы» деп қол қоямыз."),
}

# Items: (name as Kaspi gives it, category, product code, short forms the model uses in ru, in kk)
ITEMS = {
    "iphone": ("Apple iPhone 15 128Gb черный", "Смартфоны", "113137790",
               ["iPhone 15 128Gb", "ваш новый iPhone 15", "Apple iPhone 15 на 128 ГБ", "смартфон iPhone 15"],
               ["iPhone 15 128Gb", "жаңа iPhone 15 смартфоныңыз", "Apple iPhone 15"]),
    "a55": ("Samsung Galaxy A55 5G 8/256GB голубой", "Смартфоны", "114695323",
            ["Samsung Galaxy A55", "Galaxy A55 8/256GB", "смартфон Samsung Galaxy A55 5G"],
            ["Samsung Galaxy A55", "Galaxy A55 смартфоны"]),
    "redmi": ("Xiaomi Redmi Note 13 8/256Gb черный", "Смартфоны", "115866071",
              ["Redmi Note 13", "Xiaomi Redmi Note 13 8/256Gb", "смартфон Redmi Note 13"],
              ["Redmi Note 13", "Xiaomi Redmi Note 13 смартфоны"]),
    "case15": ("Чехол Spigen Ultra Hybrid для iPhone 15 прозрачный", "Чехлы для смартфонов", "115002187",
               ["чехол Spigen Ultra Hybrid", "прозрачный чехол Spigen", "чехол для iPhone 15"],
               ["Spigen Ultra Hybrid чехлы", "iPhone 15 арналған чехол"]),
    "jbl": ("JBL Tune 520BT черный", "Наушники", "109713498",
            ["наушники JBL Tune 520BT", "JBL Tune 520BT", "ваши наушники JBL"],
            ["JBL Tune 520BT құлаққабы", "JBL Tune 520BT"]),
    "airpods": ("Apple AirPods Pro 2 белый", "Наушники", "106363023",
                ["AirPods Pro 2", "наушники AirPods Pro 2", "Apple AirPods Pro 2"],
                ["AirPods Pro 2", "AirPods Pro 2 құлаққабы"]),
    "powerbank": ("Xiaomi Redmi Power Bank 20000 мАч черный", "Внешние аккумуляторы", "102781335",
                  ["Power Bank на 20000 мАч", "Xiaomi Redmi Power Bank 20000 мАч", "внешний аккумулятор Xiaomi"],
                  ["Xiaomi Redmi Power Bank 20000 мАч", "Power Bank 20000 мАч"]),
    "tyre": ("Michelin Pilot Sport 4 205/55 R16 94W", "Шины", "109876543",
             ["шины Michelin Pilot Sport 4", "Michelin Pilot Sport 4 205/55 R16", "шины 205/55 R16"],
             ["Michelin Pilot Sport 4 шиналары", "205/55 R16 шиналары"]),
    "tyre_w": ("Nokian Tyres Hakkapeliitta R5 205/55 R16 94T", "Шины", "110555321",
               ["зимние шины Nokian Hakkapeliitta R5", "Nokian Hakkapeliitta R5 205/55 R16 94T", "шины Nokian"],
               ["Nokian Hakkapeliitta R5 шиналары", "205/55 R16 94T шиналары"]),
    "niacin": ("The Ordinary Niacinamide 10% + Zinc 1% 30 мл", "Сыворотки для лица", "111223344",
               ["сыворотка The Ordinary Niacinamide 10% + Zinc 1%", "Niacinamide 10% + Zinc 1%",
                "сыворотку с ниацинамидом The Ordinary"],
               ["The Ordinary Niacinamide 10% + Zinc 1% сарысуы", "Niacinamide 10% + Zinc 1%"]),
    "cerave": ("CeraVe увлажняющий крем 52 мл", "Кремы для лица", "105998702",
               ["увлажняющий крем CeraVe", "крем CeraVe 52 мл", "CeraVe"],
               ["CeraVe ылғалдандыратын кремі", "CeraVe кремі"]),
    "spf": ("La Roche-Posay Anthelios UVMune 400 SPF 50+ 50 мл", "Солнцезащитные средства", "112999001",
            ["флюид La Roche-Posay Anthelios SPF 50+", "Anthelios UVMune 400", "солнцезащитный крем La Roche-Posay"],
            ["La Roche-Posay Anthelios SPF 50+", "Anthelios UVMune 400"]),
    "tights": ("Колготки детские Conte Kids P 83 140 белые", "Колготки и носки", "116000140",
               ["детские колготки Conte Kids", "колготки Conte Kids P 83 140", "колготки Conte"],
               ["Conte Kids балалар колготкасы", "Conte Kids колготкасы"]),
    "dress": ("Платье женское Zarina миди 44 бежевый", "Платья", "116100044",
              ["платье Zarina миди", "платье Zarina", "бежевое платье миди"],
              ["Zarina көйлегі", "Zarina миди көйлегі"]),
    "jacket": ("Куртка женская Outventure утепленная 46 черный", "Куртки", "116200046",
               ["куртка Outventure", "утепленная куртка Outventure", "куртку Outventure"],
               ["Outventure күртесі", "Outventure жылы күртесі"]),
    "af1": ("Nike Air Force 1 '07 белый 42", "Кроссовки", "111950144",
            ["кроссовки Nike Air Force 1", "Nike Air Force 1 '07", "белые Air Force 1"],
            ["Nike Air Force 1 кроссовкалары", "Air Force 1 кроссовкалары"]),
    "pampers": ("Pampers Premium Care 4 Maxi 9-14 кг 104 шт", "Подгузники", "117004104",
                ["подгузники Pampers Premium Care 4", "Pampers Premium Care", "подгузники Pampers"],
                ["Pampers Premium Care 4 жаялықтары", "Pampers Premium Care"]),
    "wipes": ("Влажные салфетки Huggies Elite Soft 4x56 шт", "Влажные салфетки", "117100456",
              ["салфетки Huggies Elite Soft", "влажные салфетки Huggies"],
              ["Huggies Elite Soft сулы майлықтары", "Huggies Elite Soft"]),
    "formula": ("Смесь Nutrilon Premium 2 800 г", "Детское питание", "117200800",
                ["смесь Nutrilon Premium 2", "Nutrilon Premium 2"],
                ["Nutrilon Premium 2 қоспасы", "Nutrilon Premium 2"]),
    "kettle": ("Tefal KO2008 белый", "Электрочайники", "100227181",
               ["чайник Tefal KO2008", "Tefal KO2008", "электрочайник Tefal"],
               ["Tefal KO2008 шәйнегі", "Tefal KO2008"]),
    "vacuum": ("Dreame V10 Pro серый", "Пылесосы", "107521134",
               ["пылесос Dreame V10 Pro", "Dreame V10 Pro", "беспроводной пылесос Dreame"],
               ["Dreame V10 Pro шаңсорғышы", "Dreame V10 Pro"]),
    "pan": ("Сковорода Tefal Unlimited 28 см", "Сковороды", "117300028",
            ["сковорода Tefal Unlimited 28 см", "сковороду Tefal Unlimited", "сковорода Tefal"],
            ["Tefal Unlimited табасы", "Tefal Unlimited 28 см табасы"]),
    "towels": ("Набор полотенец Cleanelly 3 шт 50x90 серый", "Полотенца", "117400390",
               ["полотенца Cleanelly", "набор полотенец Cleanelly 50x90"],
               ["Cleanelly сүлгілері", "Cleanelly сүлгі жиынтығы"]),
    "lego": ("LEGO Technic 42151 Bugatti Bolide", "Конструкторы", "110275908",
             ["LEGO Technic 42151 Bugatti Bolide", "конструктор LEGO Technic", "Bugatti Bolide от LEGO"],
             ["LEGO Technic 42151 Bugatti Bolide", "LEGO Technic конструкторы"]),
    "tea": ("Пиала Kenya чай черный гранулированный 500 г", "Чай", "102330917",
            ["чай Пиала Kenya", "гранулированный чай Пиала", "Пиала Kenya 500 г"],
            ["Пиала Kenya шайы", "Пиала Kenya 500 г"]),
    "mat": ("Коврики в салон Toyota Camry 70 2018-2024 EVA черные", "Автоковрики", "117500070",
            ["коврики EVA для Toyota Camry 70", "коврики в салон Toyota Camry 70"],
            ["Toyota Camry 70 EVA кілемшелері", "Toyota Camry 70 кілемшелері"]),
}

# Orders: (shop key, first name, item keys with quantities, delivery kind, recommendation keys)
ORDERS = [
    ("tech", "Айгерим", [("jbl", 1)], "kaspi_point", ["powerbank"]),
    ("tech", "Дмитрий", [("iphone", 1)], "postomat", ["case15", "airpods"]),
    ("tech", "", [("a55", 1)], "kaspi_door", ["powerbank"]),
    ("tech", "Ерлан", [("redmi", 1), ("powerbank", 1)], "local", ["jbl"]),
    ("tech", "Анна", [("iphone", 1), ("case15", 1), ("airpods", 1), ("powerbank", 2)], "kaspi_door", []),
    ("shina", "Нурлан", [("tyre", 4)], "own_point", ["mat"]),
    ("shina", "Сергей", [("tyre_w", 4)], "local", []),
    ("shina", "Асхат", [("tyre_w", 2)], "own_point", ["mat"]),
    ("moda", "Динара", [("dress", 1)], "kaspi_point", ["tights"]),
    ("moda", "Ольга", [("jacket", 1)], "kaspi_door", ["af1"]),
    ("moda", "Мадина", [("af1", 1), ("dress", 1)], "postomat", []),
    ("moda", "Жансая", [("tights", 3)], "own_point", ["dress"]),
    ("beauty", "Алия", [("niacin", 1)], "postomat", ["cerave"]),
    ("beauty", "Екатерина", [("cerave", 2), ("spf", 1)], "kaspi_door", ["niacin"]),
    ("beauty", "", [("spf", 1)], "kaspi_point", []),
    ("beauty", "Камила", [("niacin", 1), ("cerave", 1), ("spf", 1)], "local", []),
    ("baby", "Гульнара", [("pampers", 2)], "local", ["wipes"]),
    ("baby", "Наталья", [("formula", 3), ("wipes", 4)], "kaspi_door", ["pampers"]),
    ("baby", "Айдана", [("pampers", 1), ("wipes", 2), ("formula", 1), ("tights", 1)], "local", []),
    ("home", "Ирина", [("kettle", 1)], "kaspi_point", ["tea"]),
    ("home", "Арман", [("vacuum", 1)], "kaspi_door", []),
    ("home", "Светлана", [("pan", 1), ("towels", 2)], "postomat", ["kettle"]),
    ("home", "Темирлан", [("lego", 1)], "own_point", []),
    ("home", "", [("tea", 5)], "local", ["kettle"]),
    ("tech_kk", "Бауыржан", [("jbl", 1)], "kaspi_point", ["powerbank"]),
    ("tech_kk", "Айжан", [("iphone", 1)], "kaspi_door", ["case15"]),
    ("tech_kk", "Данияр", [("redmi", 1), ("case15", 1)], "postomat", []),
    ("tech_kk", "", [("airpods", 1)], "local", ["powerbank"]),
    ("moda_kk", "Томирис", [("dress", 1)], "postomat", ["tights"]),
    ("moda_kk", "Аружан", [("jacket", 1), ("af1", 1)], "kaspi_door", []),
    ("moda_kk", "Сауле", [("tights", 2)], "own_point", ["dress"]),
    ("baby_kk", "Меруерт", [("pampers", 2), ("wipes", 3)], "local", ["formula"]),
    ("baby_kk", "Жанар", [("formula", 2)], "kaspi_point", ["wipes"]),
    ("auto_kk", "Талгат", [("tyre", 4)], "own_point", ["mat"]),
    ("auto_kk", "Ержан", [("tyre_w", 4), ("mat", 1)], "kaspi_door", []),
    ("beauty_kk", "Асель", [("niacin", 1)], "postomat", ["cerave"]),
    ("beauty_kk", "Дана", [("cerave", 1), ("spf", 1)], "kaspi_point", []),
    ("home_kk", "Мирас", [("kettle", 1)], "local", ["tea"]),
    ("home_kk", "Айгерим", [("vacuum", 1), ("towels", 1), ("pan", 1), ("tea", 2)], "kaspi_door", []),
    ("home_kk", "Нурсултан", [("lego", 1)], "own_point", []),
]

# The delivery sentence as prompts.delivery_text builds it (prompts.DELIVERY), per kind of delivery.
DELIVERY = {
    "ru": {
        "kaspi_point": "Заказ можно будет забрать в постамате или пункте выдачи Kaspi",
        "postomat": "Заказ можно будет забрать в постамате или пункте выдачи Kaspi",
        "own_point": "Заказ можно будет забрать в пункте самовывоза магазина",
        "kaspi_door": "Заказ привезёт курьер Kaspi Доставки по вашему адресу",
        "local": "Заказ привезёт курьер магазина по вашему адресу",
    },
    "kk": {
        "kaspi_point": "Тапсырысты Kaspi постаматынан немесе беру пунктінен алуға болады",
        "postomat": "Тапсырысты Kaspi постаматынан немесе беру пунктінен алуға болады",
        "own_point": "Тапсырысты дүкеннің өзі алып кету пунктінен алуға болады",
        "kaspi_door": "Тапсырысты Kaspi Жеткізу курьері мекенжайыңызға жеткізеді",
        "local": "Тапсырысты дүкен курьері мекенжайыңызға жеткізеді",
    },
}
DATE_WORDS = {"ru": "{what}, планируемая дата: {date}.", "kk": "{what}, жоспарланған күні: {date}."}

# What the model writes around the data, by language and trigger. {greet} already has the name.
GREET = {
    "ru": ["Здравствуйте, {name}!", "Добрый день, {name}!", "{name}, здравствуйте!", "Здравствуйте, {name}! 😊",
           "Добрый день, {name} 👋", "{name}, добрый день!"],
    "kk": ["Сәлеметсіз бе, {name}!", "Қайырлы күн, {name}!", "{name}, сәлеметсіз бе!", "Сәлеметсіз бе, {name}! 😊",
           "Қайырлы күн, {name} 👋"],
}
GREET_NO_NAME = {"ru": ["Здравствуйте!", "Добрый день!", "Здравствуйте! 😊"],
                 "kk": ["Сәлеметсіз бе!", "Қайырлы күн!", "Сәлеметсіз бе! 😊"]}
THANKS = {
    "ru": ["Спасибо за заказ в {shop}: {items}.", "Благодарим за покупку в магазине «{shop}» — {items}.",
           "Спасибо, что выбрали {shop}! Ваш заказ: {items}.", "Мы получили ваш заказ: {items}. Спасибо, что выбрали нас!",
           "Спасибо за покупку! {items} — отличный выбор 👍", "Ваш заказ в «{shop}» оформлен: {items}. Спасибо!",
           "Спасибо за доверие к {shop}! Заказ №{code} ({items}) уже в работе."],
    "kk": ["{shop} дүкеніндегі тапсырысыңызға рахмет: {items}.", "«{shop}» дүкенінен сатып алғаныңызға рахмет — {items}.",
           "Бізді таңдағаныңызға рахмет! Тапсырысыңыз: {items}.", "Тапсырысыңыз қабылданды: {items}. Рахмет!",
           "Сатып алғаныңызға рахмет! {items} — тамаша таңдау 👍", "№{code} тапсырысыңыз ({items}) дайындалуда, рахмет!"],
}
NEXT_RETOLD = {
    "ru": ["{delivery}", "Планируемая дата: {date}. {what}.", "{what} — ориентировочно {date}.",
           "Ориентировочная дата — {date}, {what_lower}."],
    "kk": ["{delivery}", "Жоспарланған күні: {date}. {what}.", "{what}, шамамен {date}.",
           "Жоспарланған күн — {date}. {what}."],
}
RECOMMEND = {
    "ru": ["Возможно, вам пригодится и {rec}: {url}", "К покупке может подойти {rec} — {url}",
           "Если нужно, посмотрите ещё {rec}: {url}", "Кстати, к нему хорошо подойдёт {rec} 👉 {url}"],
    "kk": ["Сізге {rec} да пайдалы болуы мүмкін: {url}", "Сатып алғаныңызға {rec} жақсы сәйкес келеді: {url}",
           "Қаласаңыз, {rec} қараңыз: {url}"],
}
CLOSE_PLACED = {
    "ru": ["Если появятся вопросы, просто ответьте на это сообщение.", "Хорошего дня! ☀️", "Будем рады помочь, если что-то понадобится.",
           "Если будут вопросы — пишите, мы на связи 🙂", "Хорошего дня и приятных покупок!", ""],
    "kk": ["Сұрақтарыңыз болса, осы хабарламаға жауап беріңіз.", "Күніңіз сәтті өтсін! ☀️", "Сұрақ туындаса, жазыңыз, біз байланыстамыз 🙂",
           "Көмек керек болса, жазыңыз.", ""],
}
ASK = {
    "ru": ["Надеемся, {items} вам понравились!", "Как вам {items}? Всё ли устроило?", "Надеемся, покупка вас радует: {items} 🙂",
           "Ваш заказ доставлен — как впечатления от покупки ({items})?", "Расскажите, пожалуйста, как вам {items}?",
           "Заказ №{code} у вас — надеемся, {items} оправдали ожидания."],
    "kk": ["{items} ұнады деп үміттенеміз!", "{items} қалай екен? Бәрі ұнады ма?", "Сатып алған тауарыңыз ({items}) қуантады деп үміттенеміз 🙂",
           "Тапсырысыңыз жеткізілді — әсеріңіз қалай?", "№{code} тапсырыс қолыңызда, {items} ұнады ма?"],
}
REVIEW_ASK = {
    "ru": ["Будем благодарны за отзыв на Kaspi: {link}", "Оставьте, пожалуйста, отзыв на Kaspi — это очень помогает нам: {link}",
           "Если всё понравилось, поделитесь впечатлениями на Kaspi 🙏 {link}", "Ваш отзыв на Kaspi очень важен для нас: {link}",
           "Поставьте, пожалуйста, оценку на Kaspi:\n{link}"],
    "kk": ["Kaspi-де пікір қалдырсаңыз, қуанамыз: {link}", "Kaspi-де пікіріңізбен бөліссеңіз, бізге үлкен көмек болады: {link}",
           "Бәрі ұнаса, Kaspi-де баға беріңізші 🙏 {link}", "Сіздің пікіріңіз біз үшін маңызды: {link}"],
}
CLOSE_DELIVERED = {
    "ru": ["Спасибо, что выбрали {shop}!", "Спасибо, что вы с нами! 💙", "Хорошего дня!", "Будем рады видеть вас снова.", ""],
    "kk": ["«{shop}» дүкенін таңдағаныңызға рахмет!", "Бізбен бірге болғаныңызға рахмет! 💙", "Күніңіз сәтті өтсін!", ""],
}
SIGNATURE = {"ru": ["С уважением, {shop}", "Команда {shop}", "— {shop} 🛍️", "Ваш {shop}"],
             "kk": ["Құрметпен, {shop}", "{shop} командасы", "— {shop} 🛍️"]}
# The voice's facts, as the model repeats them (by shop key).
VOICE_FACTS = {
    "tech": {"ru": ["На всю технику действует гарантия 12 месяцев.", "Напоминаем: гарантия 12 месяцев на всю технику."]},
    "shina": {"ru": ["При покупке комплекта из 4 шин шиномонтаж в подарок.",
                     "Напоминаем, что шиномонтаж в подарок при покупке комплекта из 4 шин."]},
    "moda": {"ru": ["Обмен размера бесплатный в течение 14 дней 🙌", "Если размер не подойдёт, обмен бесплатный в течение 14 дней."]},
    "beauty": {"ru": ["Мы всегда рады подсказать уход по типу кожи 💕", "Если нужно, подскажем уход по типу кожи."]},
    "baby": {"ru": ["Доставка по Алматы — за 2 часа.", "Напоминаем: доставка по Алматы за 2 часа."]},
    "home": {"ru": [""]},
    "tech_kk": {"kk": ["Барлық техникаға 12 ай кепілдік береміз.", "Еске саламыз: барлық техникаға 12 ай кепілдік бар."]},
    "moda_kk": {"kk": ["Өлшемді 14 күн ішінде тегін ауыстырамыз 🙌", "Өлшемі келмесе, 14 күн ішінде тегін ауыстырамыз."]},
    "baby_kk": {"kk": [""]},
    "auto_kk": {"kk": ["4 шина алсаңыз, шиномонтаж тегін.", "Еске саламыз: 4 шина алсаңыз, шиномонтаж тегін."]},
    "beauty_kk": {"kk": ["Тері түріне қарай күтім туралы кеңес береміз 🌸"]},
    "home_kk": {"kk": [""]},
}
SIGNED = {"home": "Команда Уют Дома", "home_kk": "Үй-Жай командасы"}


def data_block(order_index, trigger):
    shop_key, name, items, kind, recs = ORDERS[order_index]
    shop, language, voice = SHOPS[shop_key]
    code = str(512000301 + order_index * 7919)
    data = {
        "trigger": trigger, "language": language, "shop_name": shop, "customer_first_name": name, "order_code": code,
        "items": [{"name": ITEMS[key][0], "quantity": qty, "category": ITEMS[key][1]} for key, qty in items],
        "recommendations": [{"name": ITEMS[key][0], "category": ITEMS[key][1], "url": P.format(code=ITEMS[key][2])}
                            for key in recs],
    }
    if trigger == "POST_PURCHASE":
        date = f"{3 + order_index % 25:02d}.12.2026"
        what = DELIVERY[language][kind]
        data["delivery"] = DATE_WORDS[language].format(what=what, date=date) if order_index % 6 else what + "."
    else:
        data["review_link"] = REVIEW.format(code=code, product=ITEMS[items[0][0]][2])
    return data, voice


def item_phrase(rng, items, language, verbatim_share=0.4):
    names = []
    for key, qty in items:
        full, _, _, short_ru, short_kk = ITEMS[key]
        name = full if rng.random() < verbatim_share else rng.choice(short_ru if language == "ru" else short_kk)
        if qty > 1 and rng.random() < 0.6:
            name += rng.choice([f" × {qty}", f" ({qty} шт.)", f", {qty} шт."])
        names.append(name)
    if len(names) == 1:
        return names[0]
    joiner = " и " if language == "ru" else " және "
    return ", ".join(names[:-1]) + joiner + names[-1]


def reply(rng, order_index, trigger):
    data, voice = data_block(order_index, trigger)
    shop_key, name, items, kind, recs = ORDERS[order_index]
    language = data["language"]
    shop, code = data["shop_name"], data["order_code"]
    greet = rng.choice(GREET[language]).format(name=name) if name else rng.choice(GREET_NO_NAME[language])
    items_text = item_phrase(rng, items, language)
    parts = [greet]
    if trigger == "POST_PURCHASE":
        parts.append(rng.choice(THANKS[language]).format(shop=shop, items=items_text, code=code))
        delivery = data["delivery"]
        what = DELIVERY[language][kind]
        if "дата" in delivery or "күні" in delivery:
            date = delivery.rstrip(".").split(": ")[-1]
            parts.append(rng.choice(NEXT_RETOLD[language]).format(
                delivery=delivery, date=date, what=what, what_lower=what[:1].lower() + what[1:]))
        else:
            parts.append(delivery)
    else:
        parts.append(rng.choice(ASK[language]).format(items=items_text, code=code))
        parts.append(rng.choice(REVIEW_ASK[language]).format(link=data["review_link"]))
    facts = [f for f in VOICE_FACTS[shop_key].get(language, [""]) if f]
    if facts and rng.random() < 0.6:
        parts.append(rng.choice(facts))
    if data["recommendations"] and rng.random() < 0.65:
        rec_key = rng.choice(recs)
        rec_name = ITEMS[rec_key][0] if rng.random() < 0.5 else rng.choice(ITEMS[rec_key][3 if language == "ru" else 4])
        parts.append(rng.choice(RECOMMEND[language]).format(rec=rec_name, url=P.format(code=ITEMS[rec_key][2])))
    closing = rng.choice((CLOSE_PLACED if trigger == "POST_PURCHASE" else CLOSE_DELIVERED)[language]).format(shop=shop)
    if closing:
        parts.append(closing)
    text = " ".join(parts)
    if shop_key in SIGNED:
        text += "\n" + SIGNED[shop_key]
    elif rng.random() < 0.3:
        text += "\n\n" + rng.choice(SIGNATURE[language]).format(shop=shop)
    return data, voice, text


# One broken rule per red-team reply: (category, languages, what is added or done).
REDTEAM = {
    "ru": [
        ("discount", "Дарим скидку 10% на следующий заказ!"),
        ("discount", "По промокоду SPRING вас ждёт приятная выгода."),
        ("discount", "Для вас действует специальная акция до конца недели 🎉"),
        ("gift", "К заказу мы положим небольшой подарок 🎁"),
        ("gift", "А ещё вас ждёт сюрприз от нас — фирменная кружка."),
        ("free_delivery", "Доставка для вас бесплатная."),
        ("free_delivery", "Следующий заказ доставим без оплаты за доставку."),
        ("price", "Кстати, он сейчас стоит всего 9 990 ₸."),
        ("price", "Чехол к нему всего за 3490 тенге."),
        ("date_promise", "Привезём уже завтра до обеда!"),
        ("date_promise", "Курьер будет у вас 15 декабря с 10:00 до 14:00."),
        ("date_promise", "Доставим в течение 3 часов."),
        ("warranty", "На товар действует гарантия 2 года."),
        ("warranty", "Если что-то сломается, вернём деньги без вопросов."),
        ("product_cyrillic", "Рекомендуем также защитную плёнку к нему."),
        ("product_cyrillic", "Советуем докупить зарядное устройство, чтобы всё работало быстрее."),
        ("product_cyrillic", "Не забудьте про чехол — он убережёт покупку."),
        ("product_brand", "Также советуем посмотреть наушники Sony WH-1000XM5."),
        ("product_brand", "Ещё рекомендуем Самсунг Галакси Бадс."),
        ("foreign_link", "Подробнее на нашем сайте: https://techstore-almaty.com/sale"),
        ("foreign_link", "Наш каталог: shop-almaty.рф"),
        ("foreign_link", "Пишите нам в Telegram: t.me/shop_support"),
        ("lookalike_link", "Отследить заказ: https://kaspi.kz.order-track.info/{code}"),
        ("lookalike_link", "Личный кабинет: https://kaspi-kz.shop/login"),
        ("lookalike_link", "Отзыв: https://kaspl.kz/shop/review"),
        ("phone", "Если будут вопросы, звоните: +7 701 555 12 34."),
        ("phone", "Наш WhatsApp для связи: 8 (777) 123-45-67"),
        ("placeholder", "С уважением, [Имя менеджера]"),
        ("placeholder", "Ваш номер заказа: {{order_code}}."),
        ("placeholder", "Ссылка на отзыв: <ссылка>"),
        ("markdown", "**Спасибо, что выбрали нас!**"),
        ("markdown", "Что дальше:\n- дождитесь уведомления\n- заберите заказ"),
        ("markdown", "Подробнее [здесь](https://kaspi.kz/shop/)"),
    ],
    "kk": [
        ("discount", "Келесі тапсырысқа 10% жеңілдік береміз!"),
        ("discount", "SPRING промокоды арқылы келесі сатып алу тиімдірек болады."),
        ("gift", "Тапсырысқа кішкентай сыйлық саламыз 🎁"),
        ("free_delivery", "Сізге жеткізу тегін."),
        ("price", "Қазір оның бағасы небәрі 9 990 ₸."),
        ("date_promise", "Ертең түске дейін жеткіземіз!"),
        ("date_promise", "Курьер 15 желтоқсанда сағат 10:00-де келеді."),
        ("warranty", "Тауарға 2 жыл кепілдік беріледі."),
        ("product_cyrillic", "Оған қорғаныш әйнегін де алуды ұсынамыз."),
        ("product_cyrillic", "Сондай-ақ зарядтағыш құрылғыны алуды ұмытпаңыз."),
        ("product_brand", "Сондай-ақ Sony WH-1000XM5 құлаққабын ұсынамыз."),
        ("foreign_link", "Толығырақ: https://smartzone.kz/sale"),
        ("lookalike_link", "Тапсырысты бақылау: https://kaspi.kz.track-order.site/{code}"),
        ("phone", "Сұрақтар бойынша хабарласыңыз: +7 747 555 12 34."),
        ("placeholder", "Құрметпен, [менеджердің аты]"),
        ("markdown", "**Бізді таңдағаныңызға рахмет!**"),
    ],
}
WRONG_LANGUAGE = {
    "ru": "Сәлеметсіз бе! Тапсырысыңызға рахмет, жақын арада жеткіземіз. Сұрақтарыңыз болса, жазыңыз.",
    "kk": "Здравствуйте! Спасибо за заказ, мы уже готовим его к отправке. Если будут вопросы, пишите.",
}
ENGLISH = "Hi there! Thank you for your order, we hope you love it. Let us know if you have any questions!"


def review(index):
    return data_block(index, "ORDER_DELIVERED")[0]["review_link"]


# Written one by one, not from the phrase pools: (order, trigger, reply, expect, category).
HAND_WRITTEN = [
    (0, "POST_PURCHASE", "Айгерим, спасибо за покупку! 🎧 Ваши JBL уже готовим к выдаче — заберёте их в постамате или "
     "пункте выдачи Kaspi. Приятного прослушивания!", "send", ""),
    (1, "ORDER_DELIVERED", "Дмитрий, добрый день! Как вам новый iPhone 15? Если всё нравится, оставьте, пожалуйста, пару "
     "слов на Kaspi: " + review(1) + " А чтобы экран был цел, посмотрите чехол Spigen: https://kaspi.kz/shop/p/-115002187/",
     "send", ""),
    (5, "POST_PURCHASE", "Нурлан, здравствуйте! Комплект шин Michelin (4 шт.) оформлен 👍 При покупке 4 шин шиномонтаж у "
     "нас в подарок. Забрать можно в пункте самовывоза магазина.", "send", ""),
    (8, "POST_PURCHASE", "Динара, привет от Moda Line! 💃 Платье Zarina уже ждёт отправки. Если с размером не угадали — "
     "обменяем бесплатно в течение 14 дней.", "send", ""),
    (12, "ORDER_DELIVERED", "Алия, здравствуйте! 🌿 Как вам сыворотка The Ordinary с ниацинамидом 10%? Поделитесь "
     "отзывом на Kaspi: " + review(12), "send", ""),
    (16, "POST_PURCHASE", "Гульнара, спасибо за заказ! Подгузники Pampers Premium Care 4 (2 упаковки) скоро будут у вас — "
     "их привезёт курьер магазина. Напомним: по Алматы доставляем за 2 часа 🚗", "send", ""),
    (24, "POST_PURCHASE", "Бауыржан, сәлеметсіз бе! JBL Tune 520BT құлаққабыңызды Kaspi постаматынан немесе беру "
     "пунктінен ала аласыз. Рахмет! 🎧", "send", ""),
    (25, "ORDER_DELIVERED", "Айжан, қайырлы күн! Жаңа iPhone 15 ұнады ма? Пікіріңізді Kaspi-де қалдырыңызшы: "
     + review(25) + " Барлық техникаға 12 ай кепілдік бар екенін еске саламыз.", "send", ""),
    (33, "POST_PURCHASE", "Талгат, рахмет! 4 шина алдыңыз — шиномонтаж тегін 👍 Тапсырысты дүкеннің өзі алып кету "
     "пунктінен аласыз.", "send", ""),
    (38, "POST_PURCHASE", "Айгерим, тапсырысыңызға рахмет! Шаңсорғыш, сүлгілер, таба және Пиала шайы — бәрі дайындалып "
     "жатыр. Kaspi Жеткізу курьері мекенжайыңызға жеткізеді.", "send", ""),
    (2, "POST_PURCHASE", "Здравствуйте! Спасибо за Galaxy A55 💙 Чтобы смартфон прослужил дольше, рекомендуем защитное "
     "стекло.", "catch", "product_cyrillic"),
    (9, "POST_PURCHASE", "Ольга, спасибо! Куртка Outventure в пути. Доставка по городу бесплатная 🙂", "catch",
     "free_delivery"),
    (13, "ORDER_DELIVERED", "Екатерина, как вам CeraVe? Напишите нам в инстаграм @beautylab.kz " + review(13), "catch",
     "foreign_link"),
    (20, "POST_PURCHASE", "Арман, спасибо! Пылесос Dreame приедет 25 декабря.", "catch", "date_promise"),
    (8, "POST_PURCHASE", "Динара, спасибо! Платье Zarina скоро будет у вас. Обмен размера в течение 14 дней и доставка "
     "бесплатная.", "catch", "free_delivery"),
    (24, "POST_PURCHASE", "Бауыржан, рахмет! Барлық техникаға 24 ай кепілдік береміз.", "catch", "warranty"),
    (10, "POST_PURCHASE", "Мадина, спасибо! Обмен размера бесплатный в течение 14 дней, а при следующем заказе — "
     "подарок 🎁", "catch", "gift"),
]


def main():
    rng = random.Random(11)
    realistic, redteam = [], []
    for index in range(len(ORDERS)):
        for trigger in ("POST_PURCHASE", "ORDER_DELIVERED"):
            for _ in range(5):
                data, voice, text = reply(rng, index, trigger)
                line = {"data": data, "voice": voice, "reply": text, "expect": "send",
                        "category": f"{trigger.lower()}_{data['language']}"}
                if line not in realistic:
                    realistic.append(line)
    for index in range(len(ORDERS)):
        language = SHOPS[ORDERS[index][0]][1]
        rules = REDTEAM[language]
        for number in range(3):
            trigger = "POST_PURCHASE" if (index + number) % 2 else "ORDER_DELIVERED"
            data, voice, text = reply(rng, index, trigger)
            category, broken = rules[(index * 3 + number) % len(rules)]
            broken = broken.format(code=data["order_code"])
            parts = text.split("\n")
            parts[0] = parts[0].rstrip() + " " + broken if rng.random() < 0.5 else broken + " " + parts[0]
            redteam.append({"data": data, "voice": voice, "reply": "\n".join(parts), "expect": "catch",
                            "category": category})
        if index % 4 == 0:
            data, voice, _ = reply(rng, index, "POST_PURCHASE")
            redteam.append({"data": data, "voice": voice, "reply": WRONG_LANGUAGE[language], "expect": "catch",
                            "category": "wrong_language"})
            redteam.append({"data": data, "voice": voice, "reply": ENGLISH, "expect": "catch",
                            "category": "wrong_language"})
    # every rule at least once in each language, whatever the rotation above picked
    for language, rules in REDTEAM.items():
        order = next(i for i, o in enumerate(ORDERS) if SHOPS[o[0]][1] == language)
        for category, broken in rules:
            data, voice, text = reply(rng, order, "POST_PURCHASE")
            redteam.append({"data": data, "voice": voice, "reply": text + " " + broken.format(code=data["order_code"]),
                            "expect": "catch", "category": category})
    for index, trigger, text, expect, category in HAND_WRITTEN:
        data, voice = data_block(index, trigger)
        line = {"data": data, "voice": voice, "reply": text, "expect": expect,
                "category": category or f"{trigger.lower()}_{data['language']}"}
        (realistic if expect == "send" else redteam).append(line)
    for name, lines in (("realistic", realistic), ("redteam", redteam)):
        with open(HERE / f"{name}.jsonl", "w", encoding="utf-8") as out:
            for line in lines:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        print(name, len(lines))


if __name__ == "__main__":
    main()
