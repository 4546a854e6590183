"""English or Romanian? A small, deterministic scorer that works on one-line messages (PARSE-7).

Evidence, strongest first: words carrying Romanian-only diacritics (ă ș ț, cedilla or comma
below), common function and courtesy words of each language (matched after diacritic folding, so
"multumesc" and "mulțumesc" count alike), and word endings typical of each language. Words
spelled the same in both languages ("a", "in", "are", "am", "as", "an", "care" ...) are left
out of both lists. The word lists were written for this project from general knowledge of the
two languages.
"""

from __future__ import annotations

import re

from inboxops.models import Language
from inboxops.text import fold_diacritics

__all__ = ["detect_language"]

# Enough text to decide; keeps the cost per message bounded on huge bodies.
_MAX_CHARS = 10_000


def _words(block: str) -> frozenset[str]:
    return frozenset(block.split())


_RO_WORDS = _words(
    """
    si sa nu este sunt era fost fi fie pentru cu la de din pe prin spre catre dupa fara
    intre pana despre printr dintr intr o un unei unui unor niste ce cine cum unde cand
    daca fiindca deoarece dar sau ori iar ci nici ca mai foarte tot toti toate toata doar
    inca deja acum aici acolo azi astazi maine ieri va vom veti vor ar as ati am ai
    eu tu el ea noi voi ei ele ma mi te ti il le ne ni va vi lui lor meu mea mei mele tau ta
    nostru noastra vostru voastra dumneavoastra dvs dumneata acest aceasta acesta aceste
    acestea acel acea aceea asta ala aia avea aveti avem are pot poate putem puteti
    puteam trebuie vreau vrem vreti doresc dorim doriti dori dorii dorit rog rugam
    multumesc multumim multumiri mersi buna bun bune ziua seara dimineata salut salutari
    stimate stimata stima stimati domnule doamna doamnelor domnilor cordial cu respect
    oferta ofertei oferte comanda comenzii comenzi pret pretul preturi factura facturii
    livrare livrarea produs produsul produse problema probleme reclamatie reclamatia
    nemultumit nemultumita intalnire intalnirea sedinta programare saptamana saptamanii
    luna ora orele luni marti miercuri joi vineri sambata duminica ianuarie februarie martie
    aprilie mai iunie iulie august septembrie octombrie noiembrie decembrie urgent raspuns
    raspunsul atasat atasez anexat mesaj mesajul informatii detalii multe multa mult putin
    bine rau da nimic ceva nimeni cineva fiecare alt alta alte altii acelasi
    """
) - {"am", "as", "ai", "are", "august"}  # shared with English: no evidence either way

_EN_WORDS = _words(
    """
    the and is was were be been being you your yours please thanks thank would could should
    will shall we our ours us he she his her they them their theirs it its this that these
    those there here what when where which who whom why how with without for from of to at by
    about into onto over under after before between through if or but so not no yes do does
    did done have has had having can cannot may might must my me mine hello hi hey dear
    regards best kind kindly sincerely cheers morning afternoon evening good like just also
    very any some all each every more most other such only own same than too again further
    get got order offer price quote quotation invoice delivery product problem complaint
    meeting call tomorrow today yesterday week month time monday tuesday wednesday thursday
    friday saturday sunday january february march april june july september october november
    december let know need want looking forward hear soon attached attachment regarding
    question questions information details received send sent available appreciate sorry
    issue still already now then because while until since though although whether i im
    don doesn didn isn wasn aren ll ve
    """
)

# Romanian joins clitics with a hyphen: s-a, n-am, mi-ar, într-o, dintr-un, v-am, l-am ...
_RO_CLITICS = _words("a ai al am ar as ati au i l le li m ma mi n ne ni o s si t te ti un v va vi")
_RO_CLITICS |= {"intr", "dintr", "printr", "nentr"}

# Tokens containing these letters are strong Romanian evidence; â and î less so (French has them).
_RO_STRONG = frozenset("ăĂșȘțȚşŞţŢ")
_RO_WEAK = frozenset("âÂîÎ")
_TOKEN = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_ASCII_TOKEN = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")  # the same on ASCII text, and faster

_RO_ENDINGS = ("ului", "ilor", "elor", "tie", "tia", "tiei", "eaza", "easca", "esc", "ati", "ul")
_EN_ENDINGS = ("ing", "tion", "tions", "ly", "ed", "ness", "ship", "ould", "ght", "ful")
_EN_LETTERS = ("th", "w", "sh", "ck")

# Weights in tenths, so that sums are exact integers and a tie is a tie.
_WORD = 10
_DIACRITIC_STRONG = 10
_DIACRITIC_WEAK = 5
_HINT = 3
_MIN_HINT_LENGTH = 4
# Scores of tokens seen before. Word frequencies are Zipfian, so most tokens of a message are
# found here; bounded, since every new token would otherwise stay for the life of the process.
_SCORES: dict[str, tuple[int, int]] = {}
_CHUNKS: dict[str, int] = {}
_MAX_SCORES = 20_000


def _score(raw: str) -> tuple[int, int]:
    """(Romanian, English) evidence of one token, in tenths."""
    ro = 0
    en = 0
    if raw.isascii():
        token = raw.lower()
    else:
        letters = set(raw)
        if letters & _RO_STRONG:
            ro += _DIACRITIC_STRONG
        elif letters & _RO_WEAK:
            ro += _DIACRITIC_WEAK
        token = fold_diacritics(raw)
    if token in _RO_WORDS:
        ro += _WORD
    elif "-" in token:
        if any(part in _RO_CLITICS for part in token.split("-")):
            ro += _WORD
    elif token in _EN_WORDS:
        en += _WORD
    elif len(token) >= _MIN_HINT_LENGTH:
        if token.endswith(_RO_ENDINGS):
            ro += _HINT
        if token.endswith(_EN_ENDINGS) or any(part in token for part in _EN_LETTERS):
            en += _HINT
    return ro, en


# A chunk's two scores packed in one int, Romanian above bit 32, so that a message's total is one
# sum() in C; no sum comes near 2**32 (_MAX_CHARS characters score far less).
_SHIFT = 32
_LOW = (1 << _SHIFT) - 1


def _chunk_score(chunk: str) -> int:
    """Packed (Romanian, English) evidence of one whitespace-free chunk: the sum over its tokens."""
    ro = 0
    en = 0
    for raw in (_ASCII_TOKEN if chunk.isascii() else _TOKEN).findall(chunk):
        score = _SCORES.get(raw)
        if score is None:
            score = _SCORES[raw] = _score(raw)
        ro += score[0]
        en += score[1]
    return (ro << _SHIFT) | en


def detect_language(text: str, default: Language = "en") -> Language:
    """Return "ro" or "en" for a text, even a greeting alone; `default` if there is no evidence."""
    # A token never spans whitespace, so the text is scored chunk by chunk (str.split), and the
    # chunks, which repeat like words do, are scored once. Sums of integers: order is no matter.
    # The sum runs in C (sum over map) when every chunk was seen before, the common case.
    if len(_SCORES) >= _MAX_SCORES or len(_CHUNKS) >= _MAX_SCORES:
        _SCORES.clear()
        _CHUNKS.clear()
    chunks = _CHUNKS
    words = text[:_MAX_CHARS].split()
    try:
        total = sum(map(chunks.__getitem__, words))
    except KeyError:
        total = 0
        for chunk in words:
            score = chunks.get(chunk)
            if score is None:
                score = chunks[chunk] = _chunk_score(chunk)
            total += score
    ro = total >> _SHIFT
    en = total & _LOW
    if ro > en:
        return "ro"
    if en > ro:
        return "en"
    return default
