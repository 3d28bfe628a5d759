"""Finding a person by any spelling of their name, in any script, with typos.

Two parts, both pure and synchronous:

- `name_key` folds a spelling (Latin, Kazakh or Russian Cyrillic, Kazakh Latin…)
  into a plain lowercase ASCII key in which the usual romanization variants
  converge: "Қайша Ақан", "Кайша Акан", "Qaisha Aqan" and "Kaysha Akan" all
  become "kaisha akan".
- `NameIndex` holds the keys of every stored spelling and answers a query with
  the people whose names match it best. Each query word is compared with the
  distinct name words (the vocabulary: names repeat, so 50,000 people bring thousands
  of words, not 100,000) by exact match, prefix and rapidfuzz edit distance; only the
  people holding the matched words are then scored, so a search never scans every
  spelling.
"""

import math
import re
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter

from anyascii import anyascii
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

# Latin letters that anyascii would flatten to one letter although they stand for a
# Cyrillic digraph: Kazakh Latin "ş" and "ç" (and the scholarly "š", "č", "ž") are
# "ш", "ч" and "ж", which anyascii writes "sh", "ch" and "zh". "ə" is Kazakh "ә".
_BEFORE_ASCII = str.maketrans(
    {"ş": "sh", "š": "sh", "ś": "sh", "ç": "ch", "č": "ch", "ć": "ch", "ž": "zh", "ə": "a"}
)

# Apostrophes mark Russian soft and hard signs (and Kazakh Latin 2017 letters):
# they are dropped inside a word. Every other non-letter separates words.
_APOSTROPHES = re.compile(r"['`\"]")
_NOT_LETTERS = re.compile(r"[^a-z]+")

# The folding table, applied in this order to the lowercase ASCII text. Both the
# stored spellings and the query go through it, so a rule only has to make
# variants agree, not produce a "correct" spelling.
_FOLDS: tuple[tuple[str, str], ...] = (
    ("shch", "sh"),  # щ: Shchukin / Shukin
    ("dzh", "j"),  # дж: Dzhamila / Jamila
    ("zh", "j"),  # ж: Zhanar / Janar (Kazakh Latin writes ж as j)
    ("dj", "j"),  # French style: Djamila / Jamila
    ("kh", "h"),  # Мұсахан: Musakhanuly / Musahanuly (Kazakh Һ is h already)
    ("gh", "g"),  # ғ: anyascii writes Ғ as "gh", Russian Cyrillic and Kazakh Latin as g
    ("ts", "c"),  # ц: Tsoy / Coy
    ("ng", "n"),  # ң: anyascii writes Ң as "ng", Russian Cyrillic writes it н
    ("ou", "u"),  # French style: Nourlan / Nurlan
    ("w", "u"),  # Сәуле: Sawle / Saule (some Kazakh Latin drafts)
    ("q", "k"),  # қ: Qaisha / Kaisha
    ("y", "i"),  # й, ы: Kaysha / Kaisha, Alimuly / Alimuli
)
_DOUBLED = re.compile(r"([a-z])\1+")  # Assel / Asel; also "iy", "yi", "ii" after y→i
_INITIAL_IE = re.compile(r"\bie")  # Ерлан, Есенов: Yerlan / Erlan, Yesenov / Esenov
_FINAL_EI = re.compile(r"ei\b")  # Sergey / Sergei / Sergiy / Sergi

# A query word matches a name word with a few letters wrong (replaced, missing, extra,
# or two neighbours swapped: the optimal string alignment distance). How many depends
# on the longer of the two words (folding can turn one typo into two edits: "Фёдоров"
# typed "Фёдоов" folds to "fedov", two letters from "fedorov"): none below ONE_TYPO_FROM
# letters, one from there, two from TWO_TYPOS_FROM letters.
ONE_TYPO_FROM = 4
TWO_TYPOS_FROM = 7
MAX_TYPOS = 2
# A query word of at least this many letters also matches the name words it begins.
PREFIX_MIN_LENGTH = 3
# A prefix scores from PREFIX_BASE (a tiny part of the word) up towards 100 (all of it).
PREFIX_BASE = 75.0
# A person is returned when the mean of the query words' scores reaches this: with two
# query words both must match, with three two exact words are enough.
MATCH_CUTOFF = 60.0


def name_key(text: str) -> str:
    """Fold a spelling into its matching key: ASCII, lowercase, variants folded.

    >>> name_key("Қайша Ақан"), name_key("Kaysha Akan"), name_key("Qaiysha Aqan")
    ('kaisha akan', 'kaisha akan', 'kaisha akan')
    """
    ascii_text = anyascii(text.lower().translate(_BEFORE_ASCII)).lower()
    words = _NOT_LETTERS.sub(" ", _APOSTROPHES.sub("", ascii_text)).split()
    return " ".join(_fold_word(word) for word in words)


def _fold_word(word: str) -> str:
    """Apply the folding table to one lowercase ASCII word."""
    for variant, folded in _FOLDS:
        word = word.replace(variant, folded)
    word = _DOUBLED.sub(r"\1", word)
    word = _INITIAL_IE.sub("e", word)
    return _FINAL_EI.sub("i", word)


@dataclass(frozen=True)
class NameMatch:
    """A person found by a name search."""

    person_id: int
    spelling: str  # the stored spelling that matched best
    score: float  # 0..100


@dataclass
class _Entry:
    """One person's distinct name key, with the stored spellings that fold to it."""

    person_id: int
    words: tuple[str, ...]
    spellings: list[str] = field(default_factory=list)


class NameIndex:
    """An in-memory index of every spelling of every person's name."""

    def __init__(self) -> None:
        self._entries: dict[int, _Entry] = {}
        self._entry_ids: dict[tuple[int, str], int] = {}  # (person id, key) → entry id
        self._entry_ids_by_person: defaultdict[int, list[int]] = defaultdict(list)
        self._postings: defaultdict[str, set[int]] = defaultdict(set)  # word → entry ids
        self._next_entry_id = 0
        self._vocabulary: list[str] | None = None  # sorted words; None after a change
        self._spelling_count = 0

    def __len__(self) -> int:
        """The number of spellings held."""
        return self._spelling_count

    def add(self, person_id: int, spelling: str) -> None:
        """Hold one more spelling of a person's name; an exact repeat is ignored."""
        key = name_key(spelling)
        if not key:
            return
        entry_id = self._entry_ids.get((person_id, key))
        if entry_id is None:
            entry_id = self._add_entry(person_id, key)
        spellings = self._entries[entry_id].spellings
        if spelling not in spellings:
            spellings.append(spelling)
            self._spelling_count += 1

    def remove_person(self, person_id: int) -> None:
        """Forget every spelling of a person's name."""
        for entry_id in self._entry_ids_by_person.pop(person_id, []):
            entry = self._entries.pop(entry_id)
            self._spelling_count -= len(entry.spellings)
            del self._entry_ids[(person_id, " ".join(entry.words))]
            for word in set(entry.words):
                self._postings[word].discard(entry_id)
                if not self._postings[word]:
                    del self._postings[word]
                    self._vocabulary = None

    def search(self, query: str, *, limit: int = 10) -> list[NameMatch]:
        """The people whose names match `query` best, at most one match per person.

        A query word matches a name word exactly, as a prefix of at least three letters,
        or with a letter or two wrong. Each query word scores its best name word in a
        spelling, the spelling scores the mean over the query words, and each person
        their best spelling. When every query word is found exactly the score is 100.
        """
        query_words = name_key(query).split()
        if not query_words or limit <= 0:
            return []
        per_word = [self._entry_scores(word) for word in query_words]
        return [
            NameMatch(
                person_id=self._entries[entry_id].person_id,
                spelling=self._closest_spelling(query, entry_id),
                score=score,
            )
            for entry_id, score in self._best_entry_per_person(_mean_scores(per_word), limit)
        ]

    def _add_entry(self, person_id: int, key: str) -> int:
        """Start a new entry for a person's key and post its words; returns its id."""
        entry_id = self._next_entry_id
        self._next_entry_id += 1
        words = tuple(key.split())
        self._entries[entry_id] = _Entry(person_id=person_id, words=words)
        self._entry_ids[(person_id, key)] = entry_id
        self._entry_ids_by_person[person_id].append(entry_id)
        for word in words:
            if word not in self._postings:
                self._vocabulary = None
            self._postings[word].add(entry_id)
        return entry_id

    def _sorted_vocabulary(self) -> list[str]:
        """Every distinct name word, sorted (for prefix lookup); rebuilt after a change."""
        if self._vocabulary is None:
            # Joined and split again so the words are fresh strings lying side by side in
            # memory: rapidfuzz then compares against them about three times faster than
            # against the originals scattered over the heap.
            self._vocabulary = "\n".join(sorted(self._postings)).split("\n")
        return self._vocabulary

    def _matching_words(self, query_word: str) -> dict[str, float]:
        """Name words matching one query word, with a score each: exact, prefix or fuzzy."""
        vocabulary = self._sorted_vocabulary()
        scores: dict[str, float] = {query_word: 100.0} if query_word in self._postings else {}
        for word, distance, _ in process.extract(
            query_word, vocabulary, scorer=OSA.distance, score_cutoff=MAX_TYPOS, limit=None
        ):
            if distance <= _allowed_typos(max(len(query_word), len(word))):
                scores[word] = _typo_score(query_word, word, distance)
        if len(query_word) >= PREFIX_MIN_LENGTH:
            for word in _words_starting_with(vocabulary, query_word):
                scores[word] = max(scores.get(word, 0.0), _prefix_score(query_word, word))
        return scores

    def _entry_scores(self, query_word: str) -> dict[int, float]:
        """Each entry holding a name word that matches `query_word`, with the best score."""
        best: dict[int, float] = {}
        word_scores = self._matching_words(query_word)
        for word, score in sorted(word_scores.items(), key=itemgetter(1)):
            # Ascending, so a better word overwrites a worse one in the same entry.
            best.update(dict.fromkeys(self._postings[word], score))
        return best

    def _best_entry_per_person(
        self, entry_scores: dict[int, float], limit: int
    ) -> list[tuple[int, float]]:
        """(entry id, score) of the best entry of each of the best `limit` people.

        Entries are read best score first, one group of equal scores at a time, so a
        search that matches thousands of people stops after the first few groups.
        """
        ranked: list[tuple[int, float]] = []
        people: set[int] = set()
        by_score = sorted(entry_scores, key=entry_scores.__getitem__, reverse=True)
        for score, group in groupby(by_score, key=entry_scores.__getitem__):
            for entry_id in sorted(group, key=self._tie_rank):
                person_id = self._entries[entry_id].person_id
                if person_id not in people:
                    people.add(person_id)
                    ranked.append((entry_id, score))
            if len(ranked) >= limit:
                break
        return ranked[:limit]

    def _tie_rank(self, entry_id: int) -> tuple[int, int, int]:
        """Order among equal scores: fewer name words (less left unmatched), lower person id."""
        entry = self._entries[entry_id]
        return len(entry.words), entry.person_id, entry_id

    def _closest_spelling(self, query: str, entry_id: int) -> str:
        """Of the spellings folding to one key, the one written most like the query.

        So a query in Cyrillic is answered with the Cyrillic spelling when there is one.
        """
        spellings = self._entries[entry_id].spellings
        if len(spellings) == 1:
            return spellings[0]
        return max(
            spellings, key=lambda spelling: fuzz.ratio(query, spelling, processor=str.lower)
        )


def _words_starting_with(vocabulary: list[str], prefix: str) -> list[str]:
    """The words of a sorted vocabulary that begin with `prefix` (but are longer)."""
    words = []
    for position in range(bisect_left(vocabulary, prefix), len(vocabulary)):
        word = vocabulary[position]
        if not word.startswith(prefix):
            break
        if word != prefix:
            words.append(word)
    return words


def _allowed_typos(length: int) -> int:
    """How many letters may be wrong in a word of this length: 0, 1 or 2."""
    if length >= TWO_TYPOS_FROM:
        return MAX_TYPOS
    return 1 if length >= ONE_TYPO_FROM else 0


def _typo_score(query_word: str, word: str, distance: int) -> float:
    """The share of letters right: 100 for no typo, 75 for one in four, 71 for two in seven."""
    return 100.0 * (1.0 - distance / max(len(query_word), len(word)))


def _prefix_score(prefix: str, word: str) -> float:
    """How well a prefix stands for a word: more of the word, higher score (below 100)."""
    return PREFIX_BASE + (100.0 - PREFIX_BASE) * len(prefix) / len(word)


def _mean_scores(per_word: list[dict[int, float]]) -> dict[int, float]:
    """Each entry's mean score over the query words, where it reaches MATCH_CUTOFF.

    A query word the entry lacks scores 0. An entry lacking more than `misses` of the
    words cannot reach the cutoff, so it holds a word from any `misses + 1` of them:
    only the entries matching the `misses + 1` rarest words need to be read.
    """
    count = len(per_word)
    if count == 1:
        return per_word[0]  # a matching word scores at least 71, above MATCH_CUTOFF
    misses = math.floor(count * (100.0 - MATCH_CUTOFF) / 100.0)
    candidates = set().union(*sorted(per_word, key=len)[: misses + 1])
    means = {
        entry_id: sum(scores.get(entry_id, 0.0) for scores in per_word) / count
        for entry_id in candidates
    }
    return {entry_id: mean for entry_id, mean in means.items() if mean >= MATCH_CUTOFF}
