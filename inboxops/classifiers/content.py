"""Content rules in English and Romanian, matched on diacritic-folded text.

Folding (ș/ş→s, ț/ţ→t, ă/â→a, î→i) makes "reclamație", "reclamaţie" and "reclamatie" one word,
so mail typed without diacritics is read like mail typed with them. Patterns are word stems;
the subject counts more than the body because clients put their intent there.
"""

from __future__ import annotations

import re
from typing import ClassVar

from ..models import Category, ParsedMessage
from ..text import fold_diacritics
from .base import Classifier, Verdict, register

# Stems (regex fragments, already folded) with weights. Written for this project from general
# knowledge of how clients write; extend in config-free code review, not by pasting real mail.
RULES: dict[Category, list[tuple[str, float]]] = {
    "complaint": [
        # English
        (r"complain\w*", 2.0), (r"refund\w*", 1.5), (r"broken", 1.2), (r"damaged?", 1.2),
        (r"defect\w*", 1.5), (r"faulty", 1.5), (r"unacceptable", 2.0), (r"disappoint\w*", 1.5),
        (r"terrible", 1.2), (r"awful", 1.2), (r"worst", 1.2), (r"still (not|no|hasn.t|haven.t)",
         1.2), (r"never (arrived|received|came)", 1.8), (r"not (working|received|delivered)",
         1.2), (r"doesn.t work", 1.2), (r"overcharg\w*", 1.8), (r"charged twice", 2.0),
        (r"poor (service|quality)", 1.8), (r"frustrat\w*", 1.2), (r"angry", 1.2),
        (r"money back", 1.8), (r"cancel\w* (my )?(order|contract|subscription)", 1.0),
        (r"wrong (item|product|order|size)", 1.5), (r"late delivery", 1.2), (r"delay\w*", 0.6),
        (r"issue", 0.4), (r"problem", 0.6), (r"ridiculous", 1.5), (r"rude", 1.5),
        (r"waste of", 1.2), (r"scam", 1.5), (r"dispute", 1.2), (r"fraud\w*", 1.2),
        # Romanian
        (r"reclamati\w*", 2.5), (r"plangere\w*", 2.5), (r"nemultumi\w*", 2.0),
        (r"rambursar\w*", 1.8), (r"banii (inapoi|inapoiati)", 1.8), (r"returnar\w*", 1.0),
        (r"retur\w*", 0.8), (r"defect\w*", 1.5), (r"stricat\w*", 1.5), (r"deteriorat\w*", 1.5),
        (r"nu (mai )?functioneaz\w*", 1.8), (r"nu merge", 1.5), (r"inacceptabil\w*", 2.0),
        (r"dezamagi\w*", 1.8), (r"(nu am|n-am) primit", 1.5), (r"intarzier\w*", 1.2),
        (r"problema\w*", 0.6), (r"greseal\w*", 0.8), (r"gresit\w*", 1.0), (r"executor", 0.6),
        (r"nu recomand", 2.0), (r"calitate (slaba|proasta)", 1.8), (r"prost\w*", 1.0),
        (r"jalnic\w*", 1.5), (r"bataie de joc", 2.0), (r"anpc", 1.8), (r"despagubir\w*", 1.8),
        (r"se (rupe|strica|incinge)\w*", 1.2), (r"eroare\w*", 0.6), (r"bug\w*", 0.4),
        (r"factura\w* (gresit|eronat)\w*", 1.5), (r"lipsa", 0.5),
    ],
    "meeting": [
        # English
        (r"meet(ing)?s?", 1.5), (r"appointment\w*", 2.0), (r"schedul\w*", 1.2),
        (r"(a )?call", 0.6), (r"available", 0.8), (r"availability", 1.2), (r"calendar", 1.0),
        (r"(mon|tues|wednes|thurs|fri)day", 0.8), (r"tomorrow", 0.5), (r"next week", 0.6),
        (r"\d{1,2}(:\d{2})? ?(am|pm)", 0.8), (r"reschedul\w*", 1.5), (r"get together", 1.2),
        (r"conference room", 1.2), (r"agenda", 0.8), (r"slot", 0.8), (r"catch up", 0.8),
        (r"lunch", 0.6), (r"visit", 0.6), (r"invite", 0.6), (r"zoom|teams|video call", 1.0),
        # Romanian
        (r"intalnir\w*", 2.0), (r"programar\w*", 1.8), (r"sedint\w*", 1.8),
        (r"intrevede\w*", 2.0), (r"discuti\w*", 0.6), (r"(luni|marti|miercuri|joi|vineri)", 0.6),
        (r"maine", 0.5), (r"saptamana viitoare", 0.8), (r"la ora \d", 1.2), (r"ora \d", 0.8),
        (r"ne (putem )?(vedea|intalni)", 1.8), (r"disponibil\w*", 0.8), (r"vizit\w*", 0.6),
        (r"apel", 0.6), (r"call", 0.5),
    ],
    "inquiry": [
        # English
        (r"(price|pricing|quote|quotation)s?", 1.5), (r"how much", 1.5), (r"cost\w*", 0.8),
        (r"information", 1.0), (r"(could|can|would) you (please )?(tell|send|let|provide)", 1.2),
        (r"i would like to (know|ask|order|buy|request)", 1.2), (r"interested in", 1.5),
        (r"do you (have|offer|provide|sell|ship|deliver)", 1.5), (r"question\w*", 1.0),
        (r"wondering", 1.0), (r"inquir\w*|enquir\w*", 1.8), (r"offer\w*", 0.6),
        (r"catalog\w*|brochure", 1.2), (r"stock", 0.8), (r"details", 0.6), (r"is it possible",
         1.0), (r"\?", 0.3), (r"available", 0.3), (r"order", 0.3), (r"help", 0.3),
        # Romanian
        (r"oferta\w*", 1.5), (r"pret\w*", 1.5), (r"cat costa", 1.8), (r"cost\w*", 0.8),
        (r"informati\w*", 1.2), (r"intreba\w*", 1.2), (r"as dori", 1.0), (r"doresc", 0.6),
        (r"va rog", 0.4), (r"puteti", 0.8), (r"(aveti|oferiti|livrati)", 1.0), (r"stoc", 1.0),
        (r"detalii", 0.8), (r"cerere", 0.6), (r"comanda", 0.3), (r"se poate", 0.8),
        (r"ma intereseaza", 1.5), (r"interesat\w*", 1.2), (r"intrebare\w*", 1.2),
        (r"cum (pot|se)", 0.8), (r"factur\w*", 0.3),
    ],
    "other": [
        (r"unsubscribe|dezabon\w*", 2.0), (r"newsletter", 2.0), (r"out of (the )?office", 2.5),
        (r"automatic reply|auto-?reply|raspuns automat", 2.5), (r"do not reply", 1.5),
        (r"nu raspundeti", 1.5), (r"click here|apasa aici", 1.2), (r"viagra|casino|lottery",
         2.5), (r"winner|castigat\w*", 1.0), (r"free (gift|money|trial)", 1.5),
        (r"(password|parola) (reset|resetare)", 1.5), (r"verify your (account|email)", 1.5),
        (r"confirm\w* (your )?(email|adresa|subscription|abonar\w*)", 1.5),
        (r"promoti\w*|discount|reducer\w*", 0.8), (r"notificar\w*|notification", 1.0),
        (r"\$\d|usd|million", 0.5),
    ],
}

def _anchor(stem: str) -> str:
    """The literal text every match of `stem` starts with ("" if none): a cheap pre-check."""
    depth = 0
    for ch in stem:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "|" and depth == 0:
            return ""  # top-level alternatives share no prefix
    m = re.match(r"[a-z ]+", stem)
    literal = m.group(0) if m else ""
    # A quantifier after the last letter makes that letter optional: leave it out.
    if literal and len(stem) > len(literal) and stem[len(literal)] in "?*{":
        literal = literal[:-1]
    return literal


_COMPILED = {
    category: [(re.compile(rf"(?<!\w){stem}(?!\w)"), _anchor(stem), weight)
               for stem, weight in rules]
    for category, rules in RULES.items()
}


@register
class ContentClassifier(Classifier):
    """Bilingual keyword rules over the subject and the new text of the message."""

    name: ClassVar[str] = "content"
    subject_weight: float = 1.5
    max_reasons: int = 6

    def judge(self, msg: ParsedMessage) -> Verdict:
        verdict = Verdict()
        subject = fold_diacritics(msg.subject)
        body = fold_diacritics(msg.text[:20000])
        words: dict[Category, dict[str, None]] = {}
        for category, rules in _COMPILED.items():
            for pattern, anchor, weight in rules:
                in_subject = pattern.search(subject) if anchor in subject else None
                in_body = pattern.search(body) if anchor in body else None
                if not (in_subject or in_body):
                    continue
                score = weight * (self.subject_weight if in_subject else 1.0)
                if in_subject and in_body:
                    score += weight * 0.5
                word = (in_subject or in_body).group(0)  # type: ignore[union-attr]
                verdict.scores[category] = verdict.scores.get(category, 0.0) + score
                words.setdefault(category, {})[word] = None
        ranked = sorted(words, key=lambda c: verdict.scores[c], reverse=True)
        verdict.reasons = [
            f"{category} words: {', '.join(list(words[category])[: self.max_reasons])}"
            for category in ranked
        ]
        return verdict
