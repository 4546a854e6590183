"""The page's words in English and Romanian (comma-below ș and ț, as TPL-5 asks of templates).

The language is the config's [web] language, or else the browser's Accept-Language: the first
of en/ro it prefers (RFC 9110 §12.5.4 quality values), English when it names neither.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "ro"]

WORDS: dict[str, tuple[str, str]] = {  # key: (English, Romanian)
    "app": ("inboxops", "inboxops"),
    "queue": ("Queue", "De aprobat"),
    "meetings": ("Meetings", "Întâlniri"),
    "outbox": ("Outbox", "Expediere"),
    "digest": ("Digest", "Rezumat"),
    "status": ("Status", "Stare"),
    "logout": ("Log out", "Ieșire"),
    "login": ("Log in", "Autentificare"),
    "user": ("User", "Utilizator"),
    "password": ("Password", "Parolă"),
    "login_failed": ("Wrong user name or password.", "Utilizator sau parolă greșită."),
    "pending_drafts": ("Drafts waiting for approval", "Ciorne care așteaptă aprobarea"),
    "all": ("All", "Toate"),
    "category": ("Category", "Categorie"),
    "language": ("Language", "Limbă"),
    "confidence": ("Confidence", "Încredere"),
    "review": ("review", "de verificat"),
    "review_hint": ("Unsure of the category: check it before approving",
                    "Categorie nesigură: verificați-o înainte de aprobare"),
    "age": ("Age", "Vechime"),
    "to": ("To", "Către"),
    "from": ("From", "De la"),
    "subject": ("Subject", "Subiect"),
    "filter": ("Filter", "Filtrează"),
    "no_drafts": ("No drafts waiting.", "Nicio ciornă în așteptare."),
    "keys_queue": ("Keys: j/k move, Enter opens, a approves, e edits, r rejects, c category",
                   "Taste: j/k mută, Enter deschide, a aprobă, e editează, r respinge, "
                   "c categorie"),
    "keys_draft": ("Keys: e edits (Esc leaves the text), a approves, r rejects, c category, "
                   "j/k next/previous",
                   "Taste: e editează (Esc iese din text), a aprobă, r respinge, c categorie, "
                   "j/k următoarea/anterioara"),
    "draft": ("Draft", "Ciorna"),
    "original": ("The message", "Mesajul"),
    "reply": ("The reply", "Răspunsul"),
    "why": ("Why this category", "De ce această categorie"),
    "loop_signals": ("Automation signals", "Semne de mesaj automat"),
    "defects": ("Defects in the message", "Defecte ale mesajului"),
    "body": ("Text", "Text"),
    "approve": ("Approve and send", "Aprobă și trimite"),
    "reject": ("Reject", "Respinge"),
    "change_category": ("Change category", "Schimbă categoria"),
    "state": ("State", "Stare"),
    "decided": ("Decided by {by} at {at}", "Decis de {by} la {at}"),
    "delivery": ("Delivery", "Livrare"),
    "approved_msg": ("Draft #{id} approved; sending.", "Ciorna #{id} a fost aprobată; se trimite."),
    "rejected_msg": ("Draft #{id} rejected; nothing is sent.",
                     "Ciorna #{id} a fost respinsă; nu se trimite nimic."),
    "recategorized_msg": ("Message is now “{category}”; the classifier learned from it.",
                          "Mesajul este acum „{category}”; clasificatorul a învățat din "
                          "corectură."),
    "redrafted_msg": ("New draft #{id} written for the new category.",
                      "O nouă ciornă, #{id}, a fost scrisă pentru noua categorie."),
    "not_pending": ("This draft is no longer waiting: {error}",
                    "Această ciornă nu mai așteaptă: {error}"),
    "refused": ("Refused by the mail server", "Refuzat de serverul de e-mail"),
    "when": ("When", "Când"),
    "summary": ("Summary", "Subiect"),
    "client": ("Client", "Client"),
    "attendees": ("Answers", "Răspunsuri"),
    "attention": ("Needs you", "Necesită atenție"),
    "reschedule": ("Reschedule", "Reprogramează"),
    "cancel": ("Cancel meeting", "Anulează întâlnirea"),
    "no_meetings": ("No meetings to come.", "Nicio întâlnire programată."),
    "rescheduled_msg": ("Meeting #{id} moved; the new invitation is being sent.",
                        "Întâlnirea #{id} a fost mutată; se trimite noua invitație."),
    "cancelled_msg": ("Meeting #{id} cancelled; the cancellation is being sent.",
                      "Întâlnirea #{id} a fost anulată; se trimite anularea."),
    "kind": ("Kind", "Tip"),
    "recipients": ("Recipients", "Destinatari"),
    "attempts": ("Attempts", "Încercări"),
    "error": ("Error", "Eroare"),
    "created": ("Created", "Creat"),
    "sent_at": ("Sent", "Trimis"),
    "mark_sent": ("It arrived: mark sent", "A ajuns: marchează trimis"),
    "resend": ("It did not arrive: send again", "Nu a ajuns: trimite din nou"),
    "resolved_msg": ("Outbox #{id} settled.", "Mesajul #{id} a fost lămurit."),
    "no_outbox": ("Nothing sent yet.", "Nimic trimis încă."),
    "digest_preview": ("Digest preview (not sent)", "Previzualizare rezumat (netrimis)"),
    "state_pending": ("waiting", "în așteptare"),
    "state_failed": ("refused", "refuzat"),
    "state_approved": ("approved", "aprobat"),
    "state_sent": ("sent", "trimis"),
    "state_rejected": ("rejected", "respins"),
    "state_superseded": ("superseded", "înlocuit"),
    "cat_inquiry": ("inquiry", "cerere"),
    "cat_complaint": ("complaint", "reclamație"),
    "cat_meeting": ("meeting", "întâlnire"),
    "cat_other": ("other", "altele"),
    "minutes": ("{n} min", "{n} min"),
    "hours": ("{n} h", "{n} h"),
    "days": ("{n} d", "{n} z"),
    "new_drafts": ("{n} new", "{n} noi"),
    "forbidden": ("The form expired or did not come from this page. Reload and try again.",
                  "Formularul a expirat sau nu provine de pe această pagină. Reîncărcați și "
                  "încercați din nou."),
    "not_found": ("Not found.", "Nu a fost găsit."),
}


def pick(accept_language: str | None, setting: str = "auto") -> Lang:
    """en or ro: the setting if fixed, else the browser's preference by quality value."""
    if setting in ("en", "ro"):
        return setting  # type: ignore[return-value]
    best: tuple[float, int, Lang] | None = None
    for i, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("en", "ro"):
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0 and (best is None or (q, -i) > (best[0], best[1])):
            best = (q, -i, primary)  # type: ignore[assignment]
    return best[2] if best else "en"


def translator(lang: Lang) -> Translate:
    return Translate(lang)


class Translate:
    """`t("key", n=3)`: the word in the chosen language, with {fields} filled in."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self._index = 0 if lang == "en" else 1

    def __call__(self, key: str, **fields: object) -> str:
        text = WORDS[key][self._index]
        return text.format(**fields) if fields else text
