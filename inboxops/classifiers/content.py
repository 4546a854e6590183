"""Content rules in English and Romanian, matched on diacritic-folded text.

Folding (ș/ş→s, ț/ţ→t, ă/â→a, î→i) makes "reclamație", "reclamaţie" and "reclamatie" one word,
so mail typed without diacritics is read like mail typed with them. Patterns are word stems;
the subject counts more than the body because clients put their intent there.
"""

from __future__ import annotations

from typing import ClassVar

from inboxops.classifiers.base import Classifier, Verdict, register
from inboxops.classifiers.phrases import PhraseSet
from inboxops.classifiers.reading import READ_CHARS, Reading
from inboxops.models import Category

# Stems (regex fragments, already folded) with weights. Written for this project from general
# knowledge of how clients write; extend in config-free code review, not by pasting real mail.
RULES: dict[Category, list[tuple[str, float]]] = {
    "complaint": [
        # English: the problem, the harm, the demand, the frustration.
        (r"complain\w*", 2.0), (r"refund\w*", 1.5), (r"broken", 1.2), (r"damaged?", 1.2),
        (r"defect\w*", 1.5), (r"faulty", 1.5), (r"unacceptable", 2.0), (r"disappoint\w*", 1.5),
        (r"terrible", 1.2), (r"awful", 1.2), (r"horrible", 1.5), (r"worst", 1.2),
        (r"still (not|no|hasn.t|haven.t|waiting)", 1.2), (r"never (arrived|received|came|got)",
         1.8), (r"not (working|received|delivered|happy|satisfied|resolved)", 1.2),
        (r"(doesn.t|don.t|didn.t|won.t|isn.t) work\w*", 1.2), (r"overcharg\w*", 1.8),
        (r"charged (me )?(twice|again|for)", 1.5), (r"poor (service|quality|customer)", 1.8),
        (r"frustrat\w*", 1.2), (r"angry", 1.2), (r"annoy\w*", 1.0), (r"unhappy", 1.5),
        (r"money back", 1.8), (r"cancel\w* (my )?(order|contract|subscription|account)", 1.0),
        (r"wrong (item|product|order|size|amount)", 1.5), (r"late delivery", 1.2),
        (r"delay\w*", 0.6), (r"issue", 0.4), (r"problem\w*", 0.6), (r"ridiculous", 1.5),
        (r"rude", 1.5), (r"waste of", 1.2), (r"scam\w*", 1.5), (r"dispute\w*", 1.5),
        (r"fraud\w*", 1.2), (r"(inaccurate|incorrect)\w*", 1.5), (r"error\w*", 0.6),
        (r"mistake\w*", 0.8), (r"unauthori[sz]ed", 1.5), (r"identity theft", 1.5),
        (r"harass\w*", 1.5), (r"threat\w*", 1.0), (r"lie[sd]|lying|liars?", 1.2),
        (r"refus\w*", 0.8), (r"denied", 0.8), (r"ignor\w*", 0.8), (r"no (one|response|reply)",
         1.0), (r"nobody", 0.8), (r"(months|weeks) (ago|later|now)", 0.6),
        (r"(called|contacted|emailed|tried) (\w+ )?(several|multiple|many|numerous) times",
         1.5), (r"i want my", 1.2), (r"owe[sd]?", 0.6), (r"debt\w*", 0.8),
        (r"collect(or|ion)s?", 0.6), (r"late fees?|fees?", 0.5), (r"credit (report|file)",
         0.8), (r"violat\w*", 1.2), (r"illegal\w*", 1.2), (r"lawsuit|attorney|lawyer", 1.0),
        (r"misleading|deceptive", 1.5), (r"useless", 1.5), (r"sucks?", 1.2), (r"shame\w*",
         0.8), (r"fix (this|it)", 1.0), (r"any update", 1.0), (r"keeps? (\w+ing)", 0.6),
        (r"recall\w*", 0.6), (r"can.?t|cannot|unable to|couldn.t", 0.8),
        (r"no longer", 1.2), (r"on and off|continuous\w*|constantly|over and over", 0.8),
        (r"should (have|be|not)", 0.6), (r"bring (it )?back", 0.8), (r"double|twice", 0.6),
        (r"why (is|are|do|does|did|can.t|won.t|would)", 0.8), (r"!!+", 0.6),
        (r"(took|taken|been) (\w+ )?(hours|days|weeks|months)", 0.8), (r"return\w*", 0.4),
        (r"leak\w*|crack\w*|stopped working", 1.2),
        (r"(they|he|she|the (bank|company|agent|representative|store)) (said|told|claimed|"
         r"stated|refused|charged|promised|insisted)", 1.0),
        (r"i (was|have been) (told|charged|promised|billed|denied|ignored)", 1.2),
        (r"(nonsense|absurd|pathetic|disgrace\w*|outrage\w*)", 1.5), (r"victim", 1.2),
        (r"closed my", 1.0),
        # Complaints written as questions: the writer asks why something is still wrong, or
        # where the thing they paid for is, not for information.
        (r"where (is|are) my (order|package|parcel|refund|money|delivery|item|stuff|bag)s?",
         1.5), (r"how (many (more )?times|much longer)", 1.5),
        (r"how long (do|must|should|will) (i|we) (have to )?(wait|keep)", 1.5),
        (r"how (hard|difficult) (is it|can it be)", 1.5), (r"what.s the point", 1.2),
        (r"is (anyone|anybody|someone) (going to|ever|actually|even)", 1.2),
        (r"when (will|are|do) you (finally|ever|actually)", 1.5),
        (r"why (has|have|hasn.t|haven.t|isn.t|aren.t|wasn.t|does|doesn.t|do|don.t) (it|my|your|"
         r"the|this|nobody|no one)", 0.8), (r"\?!|!\?", 0.8),
        # A malfunction reported, however politely.
        (r"(i|we) (get|got|keep getting|receive|received|see|am getting|are getting) "
         r"(an|the|this|a|same) (\w+ )?error", 1.5), (r"error (message|code)", 1.0),
        # Romanian
        (r"reclamati\w*", 2.5), (r"sesizar\w*|semnal(am|ez|ati)", 1.5), (r"plangere\w*", 2.5),
        (r"nemultumi\w*", 2.0),
        (r"rambursar\w*", 1.8), (r"banii (inapoi|inapoiati)", 1.8), (r"returnar\w*", 1.0),
        (r"retur\w*", 0.8), (r"stricat\w*", 1.5), (r"deteriorat\w*", 1.5),
        (r"nu (mai )?functioneaz\w*", 1.8), (r"nu merge", 1.5), (r"inacceptabil\w*", 2.0),
        (r"dezamagi\w*", 1.8), (r"(nu am|n-am) primit", 1.5), (r"intarzier\w*", 1.2),
        (r"gresit\w*|greseal\w*", 1.0), (r"nu recomand", 2.0),
        (r"calitate (slaba|proasta|indoielnica)", 1.8), (r"prost\w*", 1.0), (r"jalnic\w*",
         1.5), (r"bataie de joc", 2.0), (r"anpc|protectia consumatorului", 1.8),
        (r"despagubir\w*", 1.8), (r"se (rupe|strica|incinge|blocheaza|opreste)\w*", 1.2),
        (r"eroare\w*", 0.6), (r"lipsa|lipseste", 0.6), (r"zgariat\w*|fisurat\w*|spart\w*",
         1.5), (r"(nu|n-)\w* (raspuns|rezolvat)", 1.2), (r"degeaba", 1.2), (r"teapa", 1.8),
        (r"nu (este|e) (ok|in regula|normal)", 1.0), (r"ineficient\w*|inutil\w*", 1.2),
        (r"dupa (o|doua|cateva) (zile|saptamani|luni)", 0.8), (r"garanti\w*", 0.8),
        (r"neconform\w*", 1.5), (r"ma (asteptam|asteptam la mai mult)", 0.8),
        (r"pacat", 1.0), (r"slab\w*", 0.8), (r"banii aruncati|bani aruncati", 1.8),
        # A malfunction reported politely, as support trackers see it: the error shown, the
        # action that fails.
        (r"(primim|primesc|apare|ne apare|imi apare|obtinem|returneaza|intoarce|afiseaza) "
         r"(o |urmatoarea |aceeasi |mesajul de |codul de )?eroare\w*", 1.5),
        (r"(mesaj|cod)(ul)? de eroare", 1.2),
        (r"nu (se )?(poate|putem|pot|reusim|reusesc) (sa )?(salva|trimite|transmite|accesa|"
         r"inregistra|incarca|descarca|genera|deschide|valida|semna)\w*", 1.2),
        (r"nu (mai )?(se )?(salveaza|trimite|transmite|incarca|afiseaza|valideaza|"
         r"genereaza|actualizeaza)\w*", 1.2),
    ],
    "meeting": [
        # English
        (r"meet(ing)?s?", 1.5), (r"appointment\w*", 2.0), (r"schedul\w*", 1.2),
        (r"availability", 1.0), (r"calendar", 1.0),
        (r"(mon|tues|wednes|thurs|fri|satur|sun)day", 0.8),
        (r"tomorrow", 0.4), (r"next week", 0.6), (r"\d{1,2}(:\d{2})? ?(am|pm)", 0.8),
        (r"reschedul\w*", 1.5), (r"get together", 1.2), (r"conference (room|call)", 1.2),
        (r"agenda", 0.8), (r"catch up", 0.8), (r"lunch|dinner|breakfast", 0.6),
        (r"(zoom|teams|video) (call|meeting)", 1.0), (r"(set up|arrange|book) a (time|call)",
         1.5), (r"are you (free|available)", 1.5), (r"(does|would|will) (that|this) (time )?"
         r"(work|suit)", 1.2), (r"(come|stop) by", 0.8), (r"in person", 0.8), (r"discuss", 0.5),
        (r"let.s (talk|meet|get)", 1.2), (r"interview\w*", 0.8), (r"visit", 0.5),
        # A meeting announced rather than asked for: a time stated, nothing asked.
        (r"(will be|has been|have been|is|are) (held|scheduled|rescheduled|moved|set up|"
         r"planned) (for|on|at|in|from)", 1.5), (r"will take place", 1.2),
        (r"(please )?(plan to|make sure to|be sure to) (attend|join|be there)", 1.2),
        (r"dial.?in|call.?in (number|info\w*)|pass ?code|bridge (line|number)", 1.2),
        # Romanian
        (r"intalnir\w*", 2.0), (r"programar\w*", 1.8), (r"sedint\w*", 1.8),
        (r"intrevede\w*", 2.0), (r"discuti\w*", 0.6),
        (r"(luni|marti|miercuri|joi|vineri|sambata|duminica)", 0.6),
        (r"maine", 0.4), (r"saptamana viitoare", 0.8), (r"la ora \d", 1.2), (r"ora \d", 0.6),
        (r"ne (putem )?(vedea|intalni)", 1.8), (r"va convine", 1.2), (r"sunteti disponibil\w*",
         1.2), (r"vizit\w*", 0.5), (r"apel (video|telefonic)", 1.0),
        (r"(va avea|vor avea|are) loc", 1.2), (r"(este|a fost|au fost) (programat|stabilit|"
         r"mutat|reprogramat)\w*", 1.2),
    ],
    "inquiry": [
        # English
        (r"(price|pricing|quote|quotation)s?", 1.5), (r"how much", 1.5), (r"cost\w*", 0.6),
        (r"information|info", 0.6), (r"(could|can|would) you (please )?(tell|send|let|provide|"
         r"check|confirm|advise)", 1.2), (r"i would like to (know|ask|order|buy|request)", 1.0),
        (r"interested in", 1.5), (r"do you (have|offer|provide|sell|ship|deliver|know)", 1.5),
        (r"question\w*", 1.0), (r"wondering", 1.2), (r"inquir\w*|enquir\w*", 1.8),
        (r"catalog\w*|brochure", 1.2), (r"stock", 0.8), (r"details", 0.4),
        (r"is (it|there|this) (possible|available|a way)", 1.2), (r"\?", 0.5),
        (r"available (to order|for purchase|online|in (the )?store|in)", 1.2),
        (r"when (will|is|does|do)", 0.8), (r"what (is|are|time|does)", 0.6), (r"where (can|do|is)",
         0.8), (r"how (do|can|long|does)", 0.8), (r"do i (have|need)", 0.8), (r"can i", 0.8),
        (r"status of", 1.0), (r"what is the status", 1.2), (r"order", 0.3), (r"help", 0.3),
        (r"hours|opening", 0.6), (r"ship(ping)? to", 0.8), (r"support\w*", 0.3),
        # Romanian
        (r"oferta\w*", 1.2), (r"pret\w*", 1.5), (r"cat costa", 1.8), (r"costa\w*", 0.6),
        (r"informati\w*", 1.2), (r"intreba\w*|intrebare\w*", 1.2), (r"as dori", 1.0),
        (r"doresc", 0.6), (r"va rog", 0.4), (r"puteti", 0.8), (r"(aveti|oferiti|livrati)", 1.0),
        (r"stoc", 1.0), (r"detalii", 0.8), (r"cerere", 0.6), (r"comanda", 0.3),
        (r"se poate", 0.8), (r"ma intereseaza", 1.5), (r"interesat\w*", 1.2),
        (r"cum (pot|se|putem|trebuie)", 1.0), (r"este posibil", 1.0), (r"exista", 0.6),
        (r"ce (trebuie|inseamna|documente)", 0.8), (r"unde (pot|gasesc|se)", 0.8),
        (r"(aveti|exista) (vreo|o) (solutie|posibilitate)", 1.0), (r"nu stiu (cum|daca)", 0.8),
        (r"cum (se )?procedeaz\w*", 1.5), (r"(care|cum) (este|e|sunt) (procedura|modalitatea|"
         r"pasii)", 1.2),
    ],
    "other": [
        # Bulk and marketing mail, notifications, scams: written to many, not to us.
        (r"unsubscribe|dezabon\w*", 2.0), (r"newsletter", 2.0), (r"out of (the )?office", 2.5),
        (r"automatic reply|auto-?reply|raspuns automat", 2.5), (r"do not reply", 1.5),
        (r"nu raspundeti", 1.5), (r"click here|apasa(ti)? aici|click (on )?(the|this) link",
         1.5), (r"viagra|casino|lottery", 2.5), (r"winner|castigat\w*", 1.0),
        (r"free (gift|money|trial|offer|quote|report)", 1.5), (r"(password|parola) "
         r"(reset|resetare)|reseta\w* (a )?parol\w*", 2.0), (r"verify your (account|email)",
         1.5), (r"confirm\w* (your |adresa |contul )?(email|subscription|abonar\w*|cont\w*)",
         1.5), (r"promoti\w*|discount|reducer\w*", 0.8), (r"notificar\w*|notification\w*",
         1.2), (r"\$\d|usd|million", 0.5), (r"opt.?out|to be removed|remove (me|you)", 2.0),
        (r"you are receiving|this (e-?mail|message) (was|is) sent|ati primit acest", 2.0),
        (r"(limited|special) (time|offer)", 1.5), (r"act now|order now|call now", 1.5),
        (r"guarantee\w*|100%", 1.0), (r"work from home|home business|earn \$?\d", 2.0),
        (r"(mortgage|loan|insurance|credit card) (rates?|processing|approved|offers?)", 1.5),
        (r"(dear|hello) (friend|customer|subscriber)", 1.2), (r"opportunit\w*", 0.8),
        (r"investment|profit\w*|income", 1.0), (r"(weekly|daily|monthly) (update|report|"
         r"letter|digest|newsletter|stats)", 1.5), (r"subscri\w*|abonament\w*|abonat\w*", 0.8),
        (r"bine ati venit|welcome to", 1.5), (r"contul (dvs|tau|dumneavoastra)|your account",
         1.0), (r"(link|butonul) (de mai jos|below)", 1.2), (r"inregistrar\w*|registration", 0.8),
        (r"autentific\w*|log ?in|sign ?in", 0.8), (r"echipa \w+|the \w+ team", 0.6),
        (r"a fost (expediat|livrat|trimis|confirmat|anulat|activat|schimbat|modificat)\w*", 1.2),
        (r"has been (shipped|delivered|sent|confirmed|cancel+ed|activated|changed|updated)", 1.2),
        (r"cod(ul)? (de )?(confirmare|verificare|activare)", 1.5),
        (r"(invitati|invited) (you )?to join|te-a invitat", 1.5),
        (r"\{\w+\}|%\{\w+\}|\{\{ ?\w+", 2.5),  # an unrendered template: a machine wrote it
        (r"(urgent|confidential) (business|proposal|assistance|transaction)", 2.0),
        (r"next of kin|beneficiary|transfer (of )?(the|this|these) (funds?|sum|money)", 2.0),
        (r"complimentary|no obligation|risk.free|lowest (rates?|prices?)", 1.5),
        (r"webinar|webcast|seminar|conference call at", 1.0), (r"register (now|today|online)",
         1.5), (r"(join|attend) (us|our)", 1.0), (r"per month|as (little|low) as", 1.0),
        (r"save (up to|\d+)", 1.2), (r"you (qualify|have been (selected|approved|chosen))",
         1.8), (r"(dear|valued) (colleague|member|subscriber|client)s?", 1.2),
        # Notices, reports and newsletters: written to inform many, asking nothing back.
        (r"this is to (inform|notify|remind|announce|confirm)", 1.5),
        (r"(we are|i am|we.re) (pleased|happy|excited|proud) to (announce|inform|introduce|"
         r"welcome|share)", 2.0), (r"(would like to|wish to) (announce|remind|inform) (you|all|"
         r"everyone)", 1.5), (r"for your (information|records|reference)|\bfyi\b", 1.2),
        (r"(please|kindly) (be advised|note that)", 1.0), (r"effective (immediately|today)",
         1.0), (r"press release|in this (issue|edition)|this week.s (news|issue|edition)|"
         r"(today.s|this week.s) (headlines|top stories)", 2.0),
        (r"(weekly|daily|monthly|quarterly|annual) (report|summary|bulletin|review|update)s?",
         1.2), (r"va (informam|anuntam|aducem la cunostinta)", 1.5),
        (r"buletin\w* (informativ|de stiri)|comunicat de presa", 2.0),
    ],
}

# Every rule once, in order, and one PhraseSet that searches them together (see phrases.py).
_RULES = [(category, stem, weight) for category, rules in RULES.items() for stem, weight in rules]
_PHRASES = PhraseSet([stem for _, stem, _ in _RULES])


@register
class ContentClassifier(Classifier):
    """Bilingual keyword rules over the subject and the new text of the message."""

    name: ClassVar[str] = "content"
    subject_weight: float = 1.5
    max_reasons: int = 6
    max_chars: int = READ_CHARS  # the opening of a long message says what it is about
    # Diminishing returns: a long bulk mailing names every topic many times, a short complaint
    # names one once. score / (1 + score / saturation) keeps a pile of weak words from
    # outvoting the few telling ones (and the style signals).
    saturation: float = 16.0

    def assess(self, reading: Reading) -> Verdict:
        verdict = Verdict()
        words: dict[Category, dict[str, None]] = {}
        in_subject = _PHRASES.search(reading.subject)
        in_body = _PHRASES.search(reading.folded(self.max_chars))
        for index in sorted(in_subject.keys() | in_body.keys()):
            category, _, weight = _RULES[index]
            score = weight * (self.subject_weight if index in in_subject else 1.0)
            if index in in_subject and index in in_body:
                score += weight * 0.5
            word = in_subject.get(index) or in_body[index]
            verdict.scores[category] = verdict.scores.get(category, 0.0) + score
            words.setdefault(category, {})[word] = None
        if self.saturation > 0:
            verdict.scores = {c: s / (1 + s / self.saturation) for c, s in verdict.scores.items()}
        ranked = sorted(words, key=lambda c: verdict.scores[c], reverse=True)
        verdict.reasons = [
            f"{category} words: {', '.join(list(words[category])[: self.max_reasons])}"
            for category in ranked
        ]
        return verdict
