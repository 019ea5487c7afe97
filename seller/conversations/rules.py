"""The rule pass of the classifier: word classes and the patterns they make, in Russian, Kazakh
and mixtures (`words` folds spellings and reads one-letter slips).

Opt-outs, complaints and requests for a person are the safety classes: a pattern here decides
them whatever the model says. They are patterns of meaning, not phrases: a negation before a
"write/send/disturb" command («не пишите», «больше не присылайте», «жазбаңыз»), a "stop" verb
with a messages word in either order («хватит слать», «рассылку отключите»), "remove" with
"me/my number" («удалите мой номер», «нөмірімді өшіріңіз»); a defect, a wrong or missing item,
a delay with a time, money back, anger. The other classes are only a fallback for when the
model is down."""

import re

from .words import SLIP, Lexicon, fold, near, tokens

ORDER_QUESTION, SHOP_QUESTION, THANKS = "order_question", "shop_question", "thanks"
COMPLAINT, PERSON, OPT_OUT, OTHER = "complaint", "person", "opt_out", "other"

# Stems in ordinary spelling (folded like the replies); "=" marks a whole word.
LEXICON = Lexicon({
    "neg": ["=doesn", "=didn", "=isn", "=wasn", "=dont", "=don", "=not", "=never", "=не", "=ни", "=нет",
            "=неа"],
    "softener": ["=me", "=again", "=more", "=any", "=please", "=pls", "=t", "=us", "=anymore", "=тоже", "=мне",
                 "=нам", "=больше", "=уже", "=сюда", "=вы", "=пожалуйста", "=пж", "=пока", "=вообще", "=никогда",
                 "=ничего", "=мен", "=маган", "=енди", "=бизге", "=уж"],
    # After a negation: a request to stop writing («не пишите», «не писать мне»).
    "write_cmd": ["=message", "=text", "=write", "=send", "=contact", "=spam", "=пиши", "пишите", "=пишите",
                  "=писать", "=писат", "=напишите", "=строчите", "=спамьте", "=спамить", "=присылай", "присылайте",
                  "присылать", "=шлите", "=слать", "=отправляйте", "=отправлять", "=рассылайте", "=беспокой",
                  "беспокойте", "беспокоить", "тревожьте", "тревожить", "=донимайте", "=надоедайте", "=звоните",
                  "=названивайте", "=пишити", "жазын", "=жазыныз", "=жибериниз", "жиберин", "=жазу", "=жибере"],
    "goods": ["тауар", "=item", "=product", "курьер", "заказ", "товар", "посылк", "доставк", "чек", "накладн",
              "отзыв", "оценк", "фото"],
    "stop_verb": ["=stop", "=stopit", "коиын", "=кои", "=коиындар", "хватит", "прекрат", "прекращ", "отказ", "откаж",
                  "перестан", "кончайте", "завязывай", "отключ", "отмен", "остановит", "токтат", "токтау", "догар",
                  "=доволно", "=довольно", "=хорош", "=жетер"],
    "fed_up": ["=alone", "раздража", "=бесит", "=бесят", "=достают", "хватит", "прекратите", "перестаньте", "достал",
               "надоел", "задолбал", "отстан", "отвяжит", "=отвалите", "=жетер", "=доволно", "=отстаньте"],
    "msg": ["=sending", "messag", "=texts", "=texting", "notificat", "=sms", "=spam", "=mailing", "=жаза", "=жазып",
            "жазасын", "жазасыз", "сообщ", "смс", "=смс", "рассылк", "рассыл", "уведомл", "оповещ", "реклам", "спам",
            "=писем", "=письма", "=писать", "=писат", "=пишите", "=слать", "=присылать", "ватсап", "вотсап",
            "мессендж", "хабарлам", "=хабар", "жарнам", "=жазу", "=жазуды", "жазуд", "=жазбаныз", "=маиля", "=мейлы",
            "=письмами"],
    "want": ["хочу", "хотим", "нужн", "=нужны", "=нужно", "=нужен", "=надо", "интерес", "актуал", "желаю", "нравит"],
    "care": ["интерес", "актуал"],
    "remove_verb": ["remove", "delete", "заберит", "=убрать", "=удалить", "=исключить", "удалит", "удали", "уберит",
                    "убери", "исключ", "вычеркн", "сотрит", "ошир", "=алып", "жоиын", "=жою", "шыгарын", "=выпишите",
                    "=отвяжите"],
    "me_or_number": ["number", "=list", "=my", "=меня", "номер", "контакт", "=базы", "=базе", "=списка", "=списков",
                     "данные", "рассылк", "=мени", "номир", "тизим", "базадан", "=маган"],
    "subscribe": ["подписыв", "подписал", "соглас", "=давал", "=давала"],
    "whence": ["=откуда", "=каидан"],
    "gave": ["=дал", "=дали", "=давал", "=дала"],
    "kk_not": ["етпен", "бермен", "=емес", "келмеид", "келмеиди"],
    "kk_need": ["=кереги", "=кажети", "=керек", "=кажет"],
    "unsubscribe": ["unsubscr", "=optout", "хабарласпа", "=жазбаныз", "=жазбандар", "=жибермениз", "=мазаламаныз",
                    "мазам", "отписат", "отписк", "отпишит", "заблокир", "=блокирую", "=забаню", "отпис", "отпиш",
                    "токтат", "=спам", "спамит", "спамер", "спамщ", "мазалама", "мазаламан", "=мазаламау", "=жазба",
                    "жазбан", "жазбаи", "жибермен", "жиберме", "=стоп", "жазылымнан", "=отстаньте", "=отстань"],
    # Complaints.
    "defect": ["=broken", "=damaged", "=scratched", "=cracked", "некачествен", "алдап", "=broken", "=damaged",
               "=defective", "=fake", "=фейк", "=копия", "=реплика", "побит", "=битыи", "=битые", "=битыми", "=битая",
               "треснут", "вздул", "выгорел", "пиксел", "мыжыл", "сорвал", "запах", "ржав", "катышк", "развалил",
               "=неполныи", "=неполная", "=неполное", "куип", "жогал", "жогалып", "запада", "мигает", "моргает",
               "болтает", "шатает", "отвалива", "люфт", "жогалт", "жогалд", "=дак", "=дагы", "=дакы", "бракован",
               "=браком", "царапин", "сломалс", "шипит", "шипят", "хрип", "трещит", "гудит", "скрип", "пищит",
               "мерцает", "глюч", "зависа", "=завис", "тормозит", "лагает", "барахл", "истен", "употреблен", "ношен",
               "использованн", "=бушны", "=бушныи", "наруш", "перепута", "=верните", "слома", "отлом", "сломал",
               "потерял", "=выключается", "перегрева", "=греется", "неправильн", "мокр", "=отменили", "жарыл",
               "зарядтамаи", "косылмаи", "жанбаи", "жасамаи", "=списали", "дважды", "=груб", "=грубая", "=грубый",
               "дореки", "алдан", "=подделку", "сломан", "полома", "ломан", "брак", "дефект", "разбит", "разбил",
               "треснул", "трещин", "царап", "поцарап", "поврежд", "вмятин", "помят", "порван", "порвал", "дырк",
               "дыряв", "отвалил", "отклеил", "сгорел", "расплав", "испорч", "гнил", "тухл", "воня", "протек",
               "=течет", "грязн", "вскрыт", "вскрыл", "некомплект", "неисправ", "подделк", "паленый", "неоригинал",
               "=скол", "=сколы", "сколот", "облез", "сынык", "сынган", "сынып", "=сынды", "бузыл", "бузык", "акау",
               "жарамсыз", "сапасыз", "жыртыл", "жыртык", "сызат", "сызыл", "маиыск", "кирлеген", "=лас", "жетиспеи",
               "истемеи", "иштемеи", "=жумыс истемеиди", "тесик", "перестал"],
    "anger": ["разводит", "игнорир", "=жалба", "обидн", "мошенник", "обманщик", "=развели", "разводил", "разводят",
              "=разводняк", "нахамил", "фигн", "=хуже", "=scammers", "=fake", "=фейк", "=terrible", "=awful",
              "=worst", "=disappointed", "подвел", "=невозможно", "=пожалуюсь", "жаловат", "=жалуюсь", "обманул",
              "обманщ", "=обманули", "=жалобу", "=жалоба", "=жалобы", "мошенн", "ужасн", "обман", "мошен", "кинул",
              "=развод", "ужас", "отврат", "кошмар", "безобраз", "хамств", "хамил", "нахам", "грубил", "=грубо",
              "позор", "издеват", "беспредел", "отстои", "разочаров", "недовол", "жалоб", "претенз", "прокурат",
              "=суд", "=суде", "потребител", "алдад", "алдау", "алаяк", "шагым", "наразы", "маскара", "=уят", "ренжи",
              "нашар", "=требую", "возмут", "наглост", "=хамы", "=хамло"],
    "broken_now": ["=work", "=works", "=working", "=arrived", "=came", "=доехал", "=доехала", "=доехало", "=работает",
                   "=работают", "=работал", "=работала", "=работало", "=работали", "включа", "=включился",
                   "=включилась", "=включилось", "заряжа", "=зарядился", "=грузит", "загруж", "запуска",
                   "=запустился", "реагир", "=горит", "=горят", "светит", "крутит", "=греет", "нагрева", "охлажд",
                   "=сушит", "=держит", "печата", "открыва", "закрыва", "подключа", "=подключился", "=ловит",
                   "=видит", "=показывает", "=играет", "=играют", "=звучит", "=пахнет", "=стирает", "=качает",
                   "=режет", "=дует", "=хватает", "=хватило", "=соответствует", "=совпадает", "=доставили",
                   "=привезли", "=довезли", "=рекомендую", "=советую"],
    "arrived": ["=привез", "=принес", "=доставил", "=доехал", "=приехал", "=приехали", "=получала", "=получал",
                "=получили", "=пришел", "=пришла", "=пришло", "=пришли", "=доставлен", "=доставлено", "=получил",
                "=получила", "=отправили", "=отправлен"],
    "long_wait": ["=week", "=weeks", "=days", "=month", "=второи", "=третии", "=четвертыи", "=пятыи", "=сих",
                  "=неделю", "=недели", "=недель", "=месяц", "=месяца", "=дней", "=дня", "=срок", "=сроки", "обещал",
                  "апта", "=ап", "=кун", "=кунн", "=айдан"],
    "waiting": ["=waiting", "=wait", "=жду", "=ждем", "=ждать", "=ожидаю", "куттим", "кутип", "кутем"],
    "late": ["акелмед", "экелмед", "=обещали", "жетпед", "жетпеи", "опоздал", "опаздыв", "задерж", "просроч",
             "келмеди", "жеткизилмеди", "жеткизбеди", "кешик", "кешиктир"],
    "wrong_word": ["=тот", "=та", "=те", "=того", "=ту", "=туда"],
    "other_item": ["=wrong", "=вместо", "друго", "=другую", "=другие", "=другои", "чужо", "=чужои", "=чужого",
                   "=чужую", "=чужие", "=баска", "перепута"],
    "sent_to_me": ["=sent", "=received", "=got", "=came", "прислали", "=получила", "=получил", "=там", "=внутри",
                   "привезли", "=пришел", "=пришла", "=пришло", "=пришли", "положили", "доставили", "отправили",
                   "вложили", "=дали", "жиберипсиз", "жибердин", "жиберген", "=келди", "келген", "салыпсыз",
                   "берипсиз"],
    "missing": ["=missing", "недоста", "недовлож", "нехватк", "=пустая", "=пустую", "=пустои", "=бос"],
    "box": ["=package", "=box", "=parcel", "коробк", "упаковк", "посылк", "корап", "=пакет"],
    "kk_period": ["апта", "=ай", "=аидан", "=аи", "кун"],
    "liked": ["понравил", "нравит", "=доволен", "=довольна", "=довольны", "устраива", "=рекомендую", "=советую"],
    "opened": ["ашылып", "ашылган", "=распечатан", "=распечатана"],
    "receive": ["=получать", "=получат", "=алгым"],
    "one": ["=одна", "=один", "=одну", "=одно"],
    "mine": ["=моя", "=мои", "=мое", "=моего", "=моеи", "=менин"],
    "kk_match": ["=дурыс", "саикес"],
    "kk_came": ["=келген", "=алган", "=жеткен", "=экелген", "=акелген", "=алганым"],
    "contrast": ["=хотя", "=но", "=а", "=бирак", "=однако"],
    "responds": ["=решает", "=решают", "=решил", "=решили", "=помогает", "=помогли", "=reply", "=replies", "=answer",
                 "=responds", "=отвечает", "=отвечают", "=ответил", "=ответили", "=перезвонил", "=перезвонили",
                 "=берет", "=берут", "=звонит", "=звонил", "=связался", "=связались", "=читает", "=реагирует"],
    "reference": ["=фото", "фотограф", "=картинке", "=описании", "описанию", "=указано", "=заявлено", "=сайте",
                  "сурет", "сипаттам"],
    "unlike": ["=баска", "=меньше", "=больше", "=другои", "=другая", "=другое", "=емес"],
    "genuine": ["=original", "=оригинальныи", "=оригинальная", "оригинал", "=новыи", "=новая", "=новое"],
    "size": ["олшем", "=размер", "=размеры", "размером"],
    "off_size": ["=киши", "=улкен", "=маленькии", "=маленьки", "=маленькая", "=большои", "=большая", "=меньше",
                 "=мал", "=мала", "=велик", "=велика", "=малы", "=велики", "=маломерит", "=большемерит"],
    "smell": ["=иси", "=иіси"],
    "was": ["=было", "=оказалось", "=оказался", "=нашла", "=нашел"],
    "kk_still": ["=али", "=алиге", "=алиде"],
    "kk_none": ["=жок", "келмеди", "=кун", "кунге"],
    "kk_absent": ["=жок", "=жокпын", "=жокпыз", "келмеди"],
    "where": ["=где"],
    "money": ["=money", "деньг", "=денег", "средств", "=оплату", "=акша", "акшам", "акшаны", "=акшасын"],
    "refund": ["=refund", "верн", "вернул", "возврат", "кайтар", "=компенсац", "компенсир"],
    "bad": ["негатив", "отрицательн", "=хуже", "=худшии", "=худшее", "=bad", "=poor", "=плохое", "=плохои", "=плохая",
            "=плохо", "=жаман", "плох", "ужасн", "отвратит", "низк", "=никакое", "=никакои", "=нулевое", "=отстои",
            "=хреново", "нашар"],
    "quality": ["=quality", "=product", "=item", "отзыв", "=иси", "качеств", "товар", "сервис", "обслужив", "упаковк",
                "доставк", "сапасы"],
    "never_again": ["закаж", "=заказывать", "=куплю", "=покупать", "=закажу", "=возьму", "=брать"],
    "again_word": ["=больше", "=никогда", "=ешкашан", "=енди"],
    "without": ["=без"],
    "part": ["=половина", "=половину", "=часть", "=половины"],
    "my_slip": ["=отправила", "=отправил", "=написала", "=написал", "=нажала", "=нажал", "=попала",
                "=попал"],  # «не туда отправила»
    "instead": ["=вместо", "=орнына", "=instead"],
    "incomplete": ["=полностью", "=все", "=целиком", "=всё", "=толык", "=толыктаи"],
    "stars": ["=звезду", "=звезды", "=звезд", "=звезда", "=жулдыз", "=star", "=stars", "=единицу"],
    "one_star": ["1", "=одну", "=одна", "=один", "=бир", "=one", "=нол"],
    "report_to": ["поддержк", "=пишу", "=напишу", "=пожалуюсь", "=сообщу", "=обращусь"],
    "demanded": ["=требовал", "=требовала", "=потребовал", "=потребовала", "=требует", "=вымогал"],
    "extra_pay": ["доплат", "=денег", "деньг", "=наличные"],
    "enough_kk": ["жетеди", "=жетер", "=жетеди"],
    "asked": ["=просил", "=просила", "=просили", "=разрешал", "=разрешала", "=разрешения", "руксат", "=asked"],
    "no_more": ["=никаких", "=никакой", "=никакие"],
    "kk_wrong": ["=кате"],
    # Ordinary words one letter away from a safety word («келеді» / «келмеді», «отпуск» / «отпис»).
    "neutral": ["кешир", "полож", "опис", "приш", "=потом", "келе", "=келди", "келет", "жеткиз", "отпуск", "понятн",
                "=понятно", "сколько", "=скоро", "=позже", "=получит", "=отправит", "=привезти", "=доставит",
                "поставит", "=вернут", "=доставлю", "=пишет", "=пишу", "=написал", "=написала", "=отзыва", "=ответ",
                "=ответьте", "=отвечу"],
    # Requests for a person.
    "person": ["=person", "=human", "=manager", "=agent", "сотрудник", "автоответчик", "=робот", "=роботом",
               "оператор", "=живои", "=живые", "байланыс", "согын", "согыныз", "менеджер", "администратор", "руковод",
               "начальн", "=старшего", "=старшему", "консультант", "специалист", "=человек", "=человеком",
               "=человека", "=бот", "=бота", "=ботом", "позвоните", "перезвон", "=звонок", "=звонка", "созвон",
               "=наберите", "свяжит", "связат", "поговорит", "=продавцом", "соедин", "=адам", "адамм", "хабарлас",
               "конырау", "сойлес", "позовит", "=позови", "=оператору"],
    "call": ["=позвонить", "=позвонит", "=дозвониться", "=звонить"],
    "modal": ["=можно", "=хочу", "=могу", "=как", "=куда", "=нужно", "=надо", "=бола"],
    "give": ["=можно", "жазыныз", "бериниз", "=нужен", "=нужна", "=нужны", "=даите", "=дайте", "=скиньте", "=скажите",
             "=напишите", "=бериниз", "=жибериниз"],
    "phone_number": ["номер", "телефон", "контакт", "номир", "=ватсап"],
    # The fallback classes (used only when the model is down, or has no label).
    ORDER_QUESTION: ["перенест", "перенес", "=прибыл", "=прибыла", "=прибыло", "=where", "=order", "=ждать",
                     "=ускорить", "=соседям", "=соседеи", "когда", "=кагда", "=когд", "=где", "статус", "трек",
                     "отслед", "курьер", "=пункт", "пункта", "постамат", "забрат", "самовывоз", "отправил",
                     "отправлен", "собрал", "доставят", "привез", "=придет", "=приедет", "=получу", "=заберу",
                     "=посылка", "=дастафка", "=посылку", "кашан", "=каида", "тапсырысым", "тапсырысымды", "=ертен",
                     "=бугин", "=кеиде", "жеткизесиз", "жеткизилеми", "=алып", "=беру", "=колика", "=жол"],
    SHOP_QUESTION: ["возврат", "вернут", "обмен", "поменят", "замен", "гаранти", "=отзыв", "отзыв", "оценк", "оцен",
                    "работаете", "=график", "=часы", "доставляете", "=доставка", "размер", "=цвет", "цвета", "наличи",
                    "=есть", "инструкц", "подоидет", "подходит", "=магазин", "стоит", "=цена", "стоимост", "скидк",
                    "кепилдик", "пикир", "=кайтар", "кайтаруга", "ауыстыр", "=бар", "уакыт", "олшем", "=калаи",
                    "канша", "=бола", "=ма", "=ме", "=ба", "=бе", "=пользоват", "=можно", "=можна", "вазврат"],
    THANKS: ["thank", "=thx", "=ty", "=respect", "=great", "=perfect", "=awesome", "=разы", "приятн", "спасиб",
             "=спс", "пасиб", "благодар", "отличн", "=супер", "=клас", "молодц", "понравил", "доволен", "довольн",
             "рекоменд", "лучши", "=огонь", "=круто", "рахмет", "рахмат", "ракмет", "керемет", "=жаксы", "унады",
             "алгыс", "=золото", "шикар", "=топ"],
    "asking": ["=или", "=ли", "=какои", "=какая", "=какое", "=какие", "=сколько", "=можно", "=есть", "=подскажите",
               "=ма", "=ме", "=ба", "=бе", "=па", "=пе", "=канша", "=кандаи", "=калаи", "=ша"],
    # A whole reply of these words says nothing to answer.
    OTHER: ["=ок", "=океи", "=оке", "=хорошо", "=понятно", "=понял", "=поняла", "=ладно", "=угу", "=ага", "=ясно",
            "=да", "=нет", "=ну", "=а", "=хм", "=иа", "=ия", "=жараиды", "=тусиникти", "=тусиндим", "=принято",
            "=добро", "=привет", "=салем", "=здравствуите", "=доброе", "=утро", "=добрыи", "=день", "=вечер", "=кто",
            "=это", "=вы", "=ли", "=и", "=мм", "=хоп", "=ясненько"],
}, guarded=("unsubscribe", "fed_up", "stop_verb", "remove_verb", "subscribe"))
MESSAGING = frozenset(("msg", "write_cmd"))
BARE = frozenset(("softener", "neg", "me_or_number", "mine", "whence", OTHER))  # words that add no other meaning
DENIALS = ("без", "нет", "ни", "жок", "емес")
IF = ("если", "вдруг", "егер")
THANKS_EMOJI = re.compile("[👍🙏❤💐🔥👌😍💯🤝🤲🥰😊👏]")
DECIDED_BY_RULES = (OPT_OUT, COMPLAINT, PERSON)
FALLBACK = (ORDER_QUESTION, SHOP_QUESTION, THANKS)


def settle_slips(words: list[frozenset]) -> list[frozenset]:
    """An opt-out verb read through a slip counts only beside a word of messaging, or when nothing
    else is said («Оттаньте», «оптишите меня»): «отстают» is one letter from «отстаньте», and a
    false opt-out silences a complaint («часы отстают и ремешок сломался»)."""
    trusted = any(classes & MESSAGING for classes in words) or all(
        not classes or classes & BARE or any(name.startswith(SLIP) for name in classes) for classes in words)
    return [frozenset(name.removeprefix(SLIP) for name in classes if trusted or not name.startswith(SLIP))
            for classes in words]


class Reading:
    def __init__(self, text: str):
        self.tokens = tokens(text)
        self.words = settle_slips([LEXICON.classes_of(word) for word in self.tokens])
        self.folded = " " + " ".join(self.tokens) + " "
        self.question = "?" in (text or "") or self.has("asking")

    def phrase(self, words: str) -> bool:
        return f" {fold(words)} " in self.folded

    def has(self, name: str) -> bool:
        return any(name in classes for classes in self.words)

    def near(self, first: str, then: str, gap: int = 3, any_order: bool = False) -> bool:
        return near(self.words, first, then, gap, any_order)

    def negated(self, name: str, gap: int = 3) -> list[int]:
        """Where a word of class `name` follows a negation, with only softeners («мне», «больше»)
        between them."""
        found = []
        for i, classes in enumerate(self.words):
            if name not in classes:
                continue
            j = i - 1
            while j >= 0 and i - j <= gap and "softener" in self.words[j] and "neg" not in self.words[j]:
                j -= 1
            if j >= 0 and i - j <= gap and "neg" in self.words[j]:
                found.append(i)
        return found

    def within(self, positions: list[int], name: str, gap: int) -> bool:
        return any(name in self.words[j] for i in positions
                   for j in range(max(0, i - gap), min(len(self.words), i + gap + 1)))

    def undenied(self, name: str) -> bool:
        """A word of the class neither denied («без царапин», «претензий нет», «не сломано»,
        «ақауы жоқ») nor supposed («если сломается», «если будет брак»)."""
        return any(name in classes and not (i and self.tokens[i - 1] in DENIALS + ("не",))
                   and not (i + 1 < len(self.tokens) and self.tokens[i + 1] in DENIALS) and not self.supposed(i)
                   for i, classes in enumerate(self.words))

    def supposed(self, i: int) -> bool:
        """«если не понравится», «вдруг сломается»: a question about what may happen."""
        return any(self.tokens[j] in IF for j in range(max(0, i - 4), i))

    def actual(self, positions: list[int]) -> bool:
        return any(not self.supposed(i) for i in positions)

    def not_mine(self) -> bool:
        """«не моя посылка», «не мой заказ»."""
        return any(i + 1 < len(self.words) and ("goods" in self.words[i + 1] or "box" in self.words[i + 1])
                   for i in self.negated("mine", 1))

    def near_at(self, i: int, name: str) -> bool:
        """The word after position i is of the class («не тот номер»)."""
        return i + 1 < len(self.words) and name in self.words[i + 1]

    def only(self, name: str) -> bool:
        return bool(self.words) and all(name in classes for classes in self.words)


def opt_out(r: Reading) -> bool:
    commands = [i for i in r.negated("write_cmd")
                if not any("goods" in r.words[j] for j in range(i + 1, min(len(r.words), i + 3)))]
    return bool(
        r.has("unsubscribe") or commands
        or r.near("stop_verb", "msg", 4, any_order=True)
        or (r.near("without", "msg", 2) and len(r.words) <= 4)  # «без рассылок, пожалуйста», not «без смс не знаю…»
        or (len(r.words) <= 5 and r.has("fed_up") and not (r.has("waiting") or r.has("goods")))
        or r.near("fed_up", "msg", 4, any_order=True) or r.near("enough_kk", "msg", 4, any_order=True)
        or r.within(r.negated("want", 2), "msg", 6)
        or (r.within(r.negated("want", 2), "receive", 5) and not r.has("goods"))
        or (len(r.words) <= 4 and r.negated("care", 2) and not r.has("goods"))
        or r.near("remove_verb", "me_or_number", 4, any_order=True)
        # «я не просил мне писать», «жазуға рұқсат берген жоқпын»: messages nobody asked for
        or r.within(r.negated("asked", 3), "msg", 4)
        or (r.near("asked", "msg", 3, any_order=True) and (r.has("kk_absent") or r.has("kk_not")))
        # «больше никаких уведомлений», «no more messages»
        or (r.has("msg") and (r.phrase("больше никаких") or r.phrase("no more"))) or r.phrase("opt out")
        or r.negated("subscribe", 3)
        or r.near("whence", "me_or_number", 4) or ("кто" in r.tokens and r.near("gave", "me_or_number", 3))
        or r.near("msg", "kk_not", 3, any_order=True)
        or (r.near("msg", "kk_need", 3, any_order=True) and r.has("kk_absent") and not r.has("late"))
        or (r.phrase("сколько можно") and r.has("msg")))


def complaint(r: Reading) -> bool:
    return bool(
        # something broken, bad or maddening, unless denied or supposed
        r.undenied("defect") or r.undenied("anger") or r.has("late") or r.near("bad", "quality", 2, any_order=True)
        or r.actual(r.negated("broken_now", 2) + r.negated("responds", 2) + r.negated("genuine", 2)
                    + r.negated("liked", 2))
        # late or lost
        or r.phrase("до сих пор") or r.phrase("так и не") or r.phrase("сколько можно ждать")
        or (r.negated("arrived", 2) and r.has("long_wait"))
        or (r.negated("arrived", 2) and r.has("contrast") and "еще" not in r.tokens)  # «не получила, хотя ...»
        or (r.has("waiting") and r.has("long_wait") and not r.phrase("сколько"))  # not «сколько дней ждать?»
        or r.near("kk_came", "kk_absent", 1)
        or r.near("kk_still", "kk_none", 4) or r.near("kk_period", "kk_absent", 4, any_order=True)
        # wrong, missing, opened, not as described
        or [i for i in r.negated("wrong_word", 1) if not (r.near_at(i, "phone_number") or r.near_at(i, "my_slip"))]
        or r.phrase("не то что") or (r.phrase("не то") and r.has("sent_to_me"))
        or r.near("other_item", "sent_to_me", 3, any_order=True) or r.not_mine()
        # «пришло 2 штуки вместо 5», «в посылке кирпич вместо телефона»: one thing in another's place
        or (r.has("instead") and (r.has("sent_to_me") or r.has("box") or r.has("arrived")))
        # «пришёл не полностью», «пришли не все»
        or (r.negated("incomplete", 1) and any(r.has(name) for name in ("arrived", "sent_to_me", "goods", "box")))
        or (r.has("missing") and r.has("box")) or (r.negated("was", 1) and r.has("box"))
        or r.near("box", "opened", 3, any_order=True) or r.near("one", "sent_to_me", 2, any_order=True)
        or r.near("kk_match", "kk_not", 2) or r.phrase("жок екен") or r.phrase("жок болып")
        or (r.phrase("не как") and r.has("reference"))
        or (not r.question and (r.near("reference", "unlike", 5) or r.near("reference", "unlike", 3, any_order=True)
                                or r.phrase("б у") or r.near("size", "off_size", 3, any_order=True)))
        # money
        or r.near("money", "refund", 3, any_order=True) or r.near("money", "where", 2, any_order=True)
        or r.phrase("еки рет")
        # threats and reports: «поставлю 1 звезду», «пишу в поддержку на вас», «требовал доплату»
        or r.near("one_star", "stars", 1, any_order=True) or (r.phrase("на вас") and r.has("report_to"))
        or (r.actual(r.negated("never_again", 3)) and r.has("again_word") and not r.question)  # «больше не закажу»
        or (r.has("part") and (r.has("arrived") or r.has("sent_to_me")) and not r.question)
        or r.near("demanded", "extra_pay", 3) or r.near("kk_wrong", "goods", 2, any_order=True)
        or r.phrase("refund"))


def person(r: Reading) -> bool:
    return (r.has("person") or (r.near("give", "phone_number", 3, any_order=True) and not r.has("goods"))
            or r.near("modal", "call", 2))


def labels(text: str) -> list[str]:
    """Every label the rules find, strongest first: the safety classes, then the fallback ones;
    `other` only when every word is a filler («ок», «понятно», «жарайды»)."""
    r = Reading(text)
    found = [label for label, matches in ((OPT_OUT, opt_out), (COMPLAINT, complaint), (PERSON, person)) if matches(r)]
    found += [label for label in FALLBACK if r.has(label)]
    if THANKS not in found and THANKS_EMOJI.search(text or ""):
        found.append(THANKS)
    if not found and r.only(OTHER):
        found.append(OTHER)
    elif not found and ("?" in (text or "") or r.has("asking")):
        found.append(SHOP_QUESTION)  # a question about something no class names: a product, most often
    return found
