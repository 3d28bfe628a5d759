# ruff: noqa: RUF001  (Cyrillic and Kazakh Latin name strings are the point of this file)
"""How fast NameIndex finds a person among 50,000: `python benchmarks/bench_find.py`.

Builds an index of synthetic people (Kazakh, Uyghur and Russian names, each with two or
three spellings: Latin, Kazakh Cyrillic, Russian Cyrillic), times a mix of queries one
by one, single-threaded, and prints the build time, the query latency percentiles, the
index's peak memory, and how often no one outranked the person a query meant.
Deterministic for a given --seed.
"""

import argparse
import random
import statistics
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from storage.names import NameIndex, name_key


def name_list(text: str) -> tuple[str, ...]:
    """The words of a text: long lists of names read better as text than as literals."""
    return tuple(text.split())


KAZAKH_MEN = name_list(
    "Нұрлан Ерлан Серік Сәкен Мұрагер Қастер Айдос Асқар Бауыржан Ерболат Нұрсұлтан Дәулет "
    "Жандос Қанат Марат Мұхтар Нұржан Талғат Ермек Әлібек Бақыт Бекзат Дархан Ержан Ғалым "
    "Жақсылық Қайрат Мейірам Нұрбол Олжас Рүстем Самат Тимур Ұлан Шыңғыс Әділет Абай Ақан "
    "Әлім Болат Дамир Сауытбай Тұрсын Мұсахан Жұмабек Қабылбек Оралхан Бейбіт Ғабит "
    "Құрманбек Ахмет Ислам Қалибек Серікжан Хасен Есен Ерғали Бағдат Мақсат Төлеген Қуаныш"
)
KAZAKH_WOMEN = name_list(
    "Қайша Сайрагүл Айгерім Гүлнар Әсел Жанар Динара Меруерт Ақмарал Гүлбахрам Айнұр "
    "Салтанат Назым Жібек Зәуре Шынар Ботагөз Дина Мадина Әйгерім Сәуле Гүлзира Ақбота "
    "Раушан Күләш Бибігүл Ләззат Нұргүл Айжан Аружан Қарлығаш Ләйлә Фатима Әмина Гүлмира"
)
UYGHUR_MEN = name_list(
    "Абдуреһим Ильхам Нурмәмәт Мәмтимин Турғун Әбликим Қурбан Рәхмәтулла Исмаил Абдусалам "
    "Яқуп Юсуп Әркин Шөһрәт Парһат Илшат Абдулла Мухтәр"
)
UYGHUR_WOMEN = name_list(
    "Гүлшән Мәһирә Райхан Зулфия Патигүл Мунирә Рейһангүл Назугум Хелчәм Зөһрә Аминә Мерйәм"
)
RUSSIAN_MEN = name_list(
    "Александр Сергей Дмитрий Андрей Алексей Николай Владимир Евгений Игорь Михаил Юрий "
    "Виктор Павел Олег"
)
RUSSIAN_WOMEN = name_list(
    "Елена Ольга Наталья Татьяна Ирина Светлана Юлия Екатерина Анна Мария Людмила Вера"
)
RUSSIAN_SURNAMES = name_list(
    "Иванов Петров Смирнов Кузнецов Попов Соколов Лебедев Козлов Новиков Морозов Волков "
    "Зайцев Павлов Семёнов Голубев Виноградов Богданов Воробьёв Фёдоров Михайлов Щербаков "
    "Цветков Жуков Хохлов"
)
NOT_STORED = name_list(
    "Bartholomew Xyzzy Quentin Wojciech Zbigniew Fitzgerald Ophelia Throckmorton Gwendolyn "
    "Plmqwx Rrrrr Vvvbnm Chidimma Oluwaseun Thandiwe Siobhan Padraig"
)

# Letters Russian Cyrillic writes without the Kazakh ones.
KAZAKH_TO_RUSSIAN = str.maketrans("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ")

CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі"
# Two romanizations people actually meet: the passport (ICAO-like) one and Kazakh Latin
# 2021. "-" stands for nothing (ъ, ь).
PASSPORT = dict(
    zip(
        CYRILLIC,
        name_list(
            "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya "
            "a g k n o u u h i"
        ),
        strict=True,
    )
)
KAZAKH_LATIN = dict(
    zip(
        CYRILLIC,
        name_list(
            "a b v g d e io j z i i k l m n o p r s t u f h ts ç ş şş - y - e iu ia "
            "ä ğ q ñ ö ū ü h ı"
        ),
        strict=True,
    )
)


def romanize(cyrillic: str, table: dict[str, str]) -> str:
    """Write a Cyrillic name in Latin letters with one romanization table."""
    letters = []
    for letter in cyrillic:
        latin = table.get(letter.lower(), letter).replace("-", "")
        letters.append(latin.capitalize() if letter.isupper() else latin)
    return "".join(letters)


@dataclass(frozen=True)
class SyntheticPerson:
    person_id: int
    words: tuple[str, ...]  # Kazakh (or Russian) Cyrillic
    spellings: tuple[str, ...]


def patronymic(father: str, *, woman: bool, rng: random.Random) -> str:
    """A surname or patronymic made from a father's name: -ұлы/-қызы or -ов/-ова."""
    if rng.random() < 0.5:
        return father + ("қызы" if woman else "ұлы")
    stem = father + ("ев" if father[-1] in "аеиоуыіәөұүй" else "ов")
    return stem + ("а" if woman else "")


def invent_surnames(count: int, rng: random.Random) -> list[str]:
    """Made-up Kazakh-sounding surnames (Cyrillic), to grow the vocabulary for a stress run."""
    syllables = name_list(
        "нұр ер бол сә кен мұ ра гер ай дос тұр сын бек гүл жан қас ым әл ім та ба"
    )
    suffixes = ("ов", "ова", "ұлы", "қызы", "баев", "бекова")
    surnames: set[str] = set()
    while len(surnames) < count:
        stem = "".join(rng.choices(syllables, k=rng.randint(2, 3)))
        surnames.add(stem.capitalize() + rng.choice(suffixes))
    return sorted(surnames)


def make_person(
    person_id: int, rng: random.Random, invented_surnames: list[str]
) -> SyntheticPerson:
    """One synthetic person with two or three spellings of their name."""
    woman = rng.random() < 0.45
    origin = rng.choices(("kazakh", "uyghur", "russian"), weights=(70, 15, 15))[0]
    if origin == "russian":
        given = rng.choice(RUSSIAN_WOMEN if woman else RUSSIAN_MEN)
        surname = rng.choice(RUSSIAN_SURNAMES) + ("а" if woman else "")
        words: tuple[str, ...] = (given, surname)
        cyrillic = " ".join(words)
        return SyntheticPerson(person_id, words, (cyrillic, romanize(cyrillic, PASSPORT)))
    men, women = (KAZAKH_MEN, KAZAKH_WOMEN) if origin == "kazakh" else (UYGHUR_MEN, UYGHUR_WOMEN)
    given = rng.choice(women if woman else men)
    father = patronymic(rng.choice(men), woman=woman, rng=rng)
    if invented_surnames and rng.random() < 0.5:
        words = (given, rng.choice(invented_surnames))
    elif rng.random() < 0.2:  # surname, given name, patronymic
        words = (patronymic(rng.choice(men), woman=woman, rng=rng), given, father)
    else:
        words = (given, father)
    kazakh = " ".join(words)
    latin = romanize(kazakh, rng.choice((PASSPORT, KAZAKH_LATIN)))
    spellings = [latin, kazakh]
    if rng.random() < 0.6:
        spellings.append(kazakh.translate(KAZAKH_TO_RUSSIAN))
    return SyntheticPerson(person_id, words, tuple(spellings))


def make_typo(text: str, rng: random.Random) -> str:
    """The text with one letter of its longest word replaced, dropped, added or swapped."""
    words = text.split()
    index = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[index]
    position = rng.randrange(1, len(word) - 1)
    letter = rng.choice("аеиоклмнрст" if word[position] in CYRILLIC else "aeiouklmnrst")
    edits = (
        word[:position] + letter + word[position + 1 :],
        word[:position] + word[position + 1 :],
        word[:position] + letter + word[position:],
        word[: position - 1] + word[position] + word[position - 1] + word[position + 1 :],
    )
    words[index] = rng.choice(edits)
    return " ".join(words)


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    person_id: int | None  # whom it means; None for a name nobody has


def make_queries(people: list[SyntheticPerson], count: int, rng: random.Random) -> list[Query]:
    """A mix of exact, other-script, typo'd, one-word, prefix and no-match queries."""
    makers: dict[str, Callable[[SyntheticPerson], str]] = {
        "exact": lambda person: rng.choice(person.spellings),
        "other script": lambda person: rng.choice(
            (
                " ".join(person.words).translate(KAZAKH_TO_RUSSIAN),
                romanize(" ".join(reversed(person.words)), PASSPORT),
                romanize(" ".join(person.words), KAZAKH_LATIN),
            )
        ),
        "typo": lambda person: make_typo(person.spellings[0], rng),
        "one word": lambda person: rng.choice(rng.choice(person.spellings).split()),
        "prefix": lambda person: person.spellings[0].split()[0][: rng.choice((3, 4, 5))],
    }
    kinds = [*makers, "no match"]
    queries = []
    for number in range(count):
        kind = kinds[number % len(kinds)]
        if kind == "no match":
            text = " ".join(rng.sample(NOT_STORED, rng.choice((1, 2))))
            queries.append(Query(kind, text, None))
        else:
            person = rng.choice(people)
            queries.append(Query(kind, makers[kind](person), person.person_id))
    rng.shuffle(queries)
    return queries


def build_index(people: list[SyntheticPerson]) -> NameIndex:
    index = NameIndex()
    for person in people:
        for spelling in person.spellings:
            index.add(person.person_id, spelling)
    return index


def distinct_words(people: list[SyntheticPerson]) -> set[str]:
    """The distinct words of every spelling, after folding: the index's vocabulary."""
    return {
        word
        for person in people
        for spelling in person.spellings
        for word in name_key(spelling).split()
    }


def answered_well(index: NameIndex, query: Query) -> bool:
    """Whether no one scored above the person meant (namesakes may tie); no match: empty."""
    matches = index.search(query.text, limit=len(index))
    if query.person_id is None:
        return not matches
    scores = {match.person_id: match.score for match in matches}
    return bool(matches) and scores.get(query.person_id) == matches[0].score


def percentile(samples: list[float], fraction: float) -> float:
    return statistics.quantiles(samples, n=1000, method="inclusive")[round(fraction * 1000) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument(
        "--invented-surnames",
        type=int,
        default=0,
        help="give half the Kazakh and Uyghur people one of this many made-up surnames "
        "(a stress run: real names repeat, made-up ones make the vocabulary large)",
    )
    args = parser.parse_args()

    rng = random.Random(args.seed)
    surnames = invent_surnames(args.invented_surnames, rng)
    people = [make_person(number, rng, surnames) for number in range(1, args.people + 1)]
    queries = make_queries(people, args.queries, rng)

    started = time.perf_counter()
    index = build_index(people)
    build_seconds = time.perf_counter() - started
    index.search("warm up")  # the first search after adding names sorts the vocabulary

    latencies: list[float] = []
    for query in queries:
        started = time.perf_counter()
        index.search(query.text)
        latencies.append((time.perf_counter() - started) * 1000)
    by_kind = Counter(query.kind for query in queries)
    answered = Counter(query.kind for query in queries if answered_well(index, query))

    tracemalloc.start()
    build_index(people)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"people: {len(people):,}  spellings: {len(index):,}  queries: {len(queries):,}")
    print(f"distinct name words: {len(distinct_words(people)):,}")
    print(f"build: {build_seconds:.2f} s")
    print(
        f"search: p50 {percentile(latencies, 0.50):.2f} ms  "
        f"p95 {percentile(latencies, 0.95):.2f} ms  "
        f"p99 {percentile(latencies, 0.99):.2f} ms  max {max(latencies):.2f} ms"
    )
    print(f"peak memory (tracemalloc) building the index: {peak_bytes / 2**20:.1f} MiB")
    print("answers where no one scored above the person meant (no match: nothing returned):")
    for kind, total in sorted(by_kind.items()):
        print(f"  {kind:<13} {answered[kind]:>4} / {total}")


if __name__ == "__main__":
    main()
