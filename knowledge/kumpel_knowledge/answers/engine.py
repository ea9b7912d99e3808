"""Turns a citizen's question into a cited German answer, a question back, or an honest "I don't know".

Every fact comes from the knowledge base; the text names no source itself (the action appends the
citation from ``source``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.clock import Clock, system_clock
from ..core.settings import Settings
from ..core.text import euro, fold
from ..kb.index import KnowledgeIndex
from ..kb.models import Faq, Notice, Office, Service, find_entry
from ..kb.municipality import contact_text, holiday_region
from ..search.german import asks_for_office
from ..search.types import SearchHit
from .dates import WEEKDAYS, asked_clauses, asked_day
from .hours import Closure, OfficeHours, to_local
from .hours_text import describe_day, describe_now, weekly_overview
from .models import UnansweredQuestion
from .scrub import scrub
from .topics import (
    asks_about_access,
    day_asked_for_a_service,
    infer_topic,
    is_follow_up,
    subject_words,
    tokens,
    without_fact_words,
    without_personal_data,
)
from .types import Answer, AnswerInput, Entry

# The entry types the search considers for a topic. A FAQ may answer a question of any topic: the
# NLU hears "Wann wird die Hundesteuer abgebucht?" as opening hours and "Gibt es eine zentrale
# Nummer für Behördenfragen?" as a contact question.
TYPES_BY_TOPIC: dict[str, tuple[str, ...] | None] = {
    "service": ("service", "faq"),
    "fees": ("service", "faq"),
    "documents": ("service", "faq"),
    "opening_hours": ("office", "service", "faq"),
    "contact": ("office", "service", "faq"),
    "office": ("office", "service", "faq"),
    "faq": ("faq", "service"),
    "auto": None,
}
LOW_CONFIDENCE = 0.5
# A named candidate that is not the question's whole subject settles a question back only when the
# runner-up has less than this share of its confidence (clear_lead).
RUNNER_UP_SHARE = 1 / 3
# A fees or documents question back is settled by its leading candidate only from this confidence on
# (set between an out-of-scope "Wie hoch ist der Benzinpreis?", 0.22, and "Welche Unterlagen brauche
# ich für die Hundeanmeldung?", 0.46).
FACT_LEAD_FLOOR = 0.4
ARTICLE = re.compile(r"^(der|die|das|den|dem|des)\s+", re.IGNORECASE)


def words_of(text: str) -> str:
    """The text's words, folded and joined by single spaces ("Bürger-Büro!" -> "buerger buero")."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))


def clear_lead(hits: list[Any]) -> bool:
    """True when the search's first candidate is far likelier than every other one.

    A name written in a question that also says more ("Ich finde meinen Personalausweis nicht
    mehr") settles a question back only then: with a close runner-up (the loss report) the rest of
    the question may well be what it is about.
    """
    if not hits:
        return False
    top = float(hits[0].confidence)
    return all(float(hit.confidence) < top * RUNNER_UP_SHARE for hit in hits[1:])


def has_fact(entry: Entry, topic: str) -> bool:
    """Whether the entry can answer a fees or documents question (a FAQ may answer anything)."""
    if isinstance(entry, Faq):
        return True
    if isinstance(entry, Service):
        return bool(entry.fees if topic == "fees" else entry.documents or entry.prerequisites)
    return False


def stem(word: str) -> str:
    """A crude German stem for matching a fee label to a question ("Hunde" and "Hund")."""
    return re.sub(r"(en|e|n|s)$", "", word) if len(word) > 3 else word


def named_fee(fees: list[dict[str, Any]], question: str) -> dict[str, Any] | None:
    """The fee whose label the question names word for word ("für zwei Hunde" -> "Zwei Hunde"),
    the most specific one when several do; None when it names none."""
    asked = {stem(word) for word in words_of(question).split()}
    best: tuple[int, dict[str, Any]] | None = None
    for fee in fees:
        label = {stem(word) for word in tokens(str(fee.get("label", "")))}
        if label and label <= asked and (best is None or len(label) > best[0]):
            best = (len(label), fee)
    return best[1] if best else None


def entry_type(entry: Entry) -> str:
    """The entry's type as the search and the answer contract name it."""
    return "service" if isinstance(entry, Service) else "office" if isinstance(entry, Office) else "faq"


def entry_title(entry: Entry) -> str:
    """How the entry is titled in a "Meinten Sie ...?" choice."""
    return entry.questions[0] if isinstance(entry, Faq) else entry.name


def bullet_list(items: list[str]) -> str:
    """Lines starting with '- '."""
    return "\n".join(f"- {item}" for item in items)


class AnswerEngine:
    """Answers one question against the database and the search index."""

    def __init__(
        self, session: Session, index: KnowledgeIndex, settings: Settings, clock: Clock = system_clock
    ) -> None:
        self.session = session
        self.index = index
        self.settings = settings
        self.clock = clock
        self._scrubbed: dict[str, str] = {}
        self._entries: dict[str, Entry | None] = {}
        self._service_days: dict[tuple[str, date], date | None] = {}

    def scrubbed(self, text: str) -> str:
        """``scrub(text)``, computed once per answer: the search, the unanswered record and the
        inbox (``inbox.record_answer``) all read the same scrubbed question."""
        if text not in self._scrubbed:
            self._scrubbed[text] = scrub(text)
        return self._scrubbed[text]

    # ---- entry point ------------------------------------------------------------------------

    def answer(self, request: AnswerInput) -> Answer:
        """Answer, clarify or admit not knowing; unknowns are recorded anonymously."""
        now = to_local(request.now or self.clock(), self.settings.timezone)
        if request.topic == "auto":
            request.topic = infer_topic(request.question, now.date())
        subject, confidence, clarify = self._subject(request, now.date())
        if subject is None:
            if clarify:
                return self._clarify(request, clarify, confidence)
            return self._unknown(request)
        answer = self._answer_about(subject, request.topic, request.question, now)
        answer.confidence = round(confidence, 3)
        return answer

    # ---- finding what the question is about ---------------------------------------------------

    def _entry(self, entry_id: str | None) -> Entry | None:
        # Looked up once per answer: a FAQ's id misses the service and office tables first, and the
        # same candidates are looked up again for names, facts and the reply (the session is this
        # request's, with no write in between).
        if not entry_id:
            return None
        if entry_id not in self._entries:
            self._entries[entry_id] = find_entry(self.session, entry_id)
        return self._entries[entry_id]

    def _context_entry(self, request: AnswerInput) -> Entry | None:
        # Opening hours and contact are about an office; other topics prefer the service.
        if request.topic in ("opening_hours", "contact", "office"):
            return self._entry(request.office_id) or self._entry(request.service_id)
        return self._entry(request.service_id) or self._entry(request.office_id)

    def _subject(self, request: AnswerInput, today: date) -> tuple[Entry | None, float, list[Any]]:
        chosen = self._entry(request.entity_id)
        if chosen is not None:
            return chosen, 1.0, []
        context_entry = self._context_entry(request)
        if context_entry is not None and is_follow_up(request.question):
            return context_entry, 1.0, []
        if context_entry is None and request.candidates and is_follow_up(request.question):
            # "Und wie ist die Telefonnummer?" right after "Meinten Sie A, B oder C?": about one of them.
            offered = [entry for entry in map(self._entry, request.candidates[:3]) if entry is not None]
            if offered:
                return None, 1.0, [SearchHit(e.id, entry_type(e), entry_title(e), 1.0, 1.0) for e in offered]
        types = TYPES_BY_TOPIC.get(request.topic)
        query = without_personal_data(self.scrubbed(request.question)) or request.question
        result = self.index.search.search(query, types=types, k=5)
        # A candidate the citizen named outright settles a clarify, without a second search
        # (each search embeds its question: about half of an answer's time).
        named = self._named_candidate(query, result)
        if named is None and result.status != "answer":
            # Words about days and kinds of facts ("an Heiligabend", "offen") dilute the match.
            reduced = without_fact_words(query)
            if reduced:
                retry = self.index.search.search(reduced, types=types, k=5)
                if retry.status == "answer" or (retry.status == "clarify" and result.status == "unknown"):
                    result = retry
                    named = self._named_candidate(query, result)
        if named is None and result.status != "answer" and request.topic == "service":
            # Not for fees or documents: "Kostet die Anmeldung im Bürgerbüro Geld?" names the office
            # but asks about a service's fee.
            result, named = self._with_offices(request, query, result, today)
        if named is not None:
            return named
        hits = list(result.hits)
        if result.status == "answer" and hits:
            top = self._entry(hits[0].id)
            if top is not None:
                return top, float(hits[0].confidence), []
        if context_entry is not None and result.status == "unknown":
            return context_entry, 0.5, []
        if result.status == "clarify" and hits:
            settled = self._settled_by_fact(request.topic, request.question, hits[:3], today)
            if settled is not None:
                return settled, float(hits[0].confidence), []
            return None, float(hits[0].confidence), hits[:3]
        return None, float(hits[0].confidence) if hits else 0.0, []

    def _with_offices(
        self, request: AnswerInput, query: str, result: Any, today: date
    ) -> tuple[Any, tuple[Entry, float, list[Any]] | None]:
        """The search again with offices among the candidates, when the NLU heard a question about a
        service (topic "service": services and FAQ only) that is about an office: it names one ("Wie
        buche ich einen Termin im Bürgerbüro?") or asks where or whom ("Wo sitzt die Steuerabteilung?").
        The question embedding is cached, so the second search costs only its lexical part. An office
        found this way answers with how to reach it (or its hours, when the words ask for them).
        """
        wider = self.index.search.search(query, types=None, k=5)
        named = self._named_candidate(query, wider)
        office_first = bool(wider.hits) and wider.hits[0].type == "office"
        names_office = (named is not None and isinstance(named[0], Office)) or (
            wider.status == "answer" and office_first and bool(self._written_names(query, list(wider.hits)[:1]))
        )
        asks_where = asks_for_office(query) and (
            wider.status == "answer" or (wider.status == "clarify" and result.status == "unknown")
        )
        if not (names_office or asks_where):
            return result, None
        if office_first:
            asked = infer_topic(request.question, today)
            if self._service_day(request.question, today):
                asked = "opening_hours"  # "Kann ich am Samstag ins Bürgerbüro kommen?"
            request.topic = asked if asked in ("opening_hours", "office") else "contact"
        return wider, named

    def _settled_by_fact(self, topic: str, question: str, hits: list[Any], today: date) -> Entry | None:
        """The entry a question back can do without, because the fact asked for decides it.

        - Contact and opening hours: when every candidate is served by the same office, its
          contact or hours are the answer whichever candidate was meant; so is that office's day when
          the question asks whether it can be done on a weekday ("Kann ich meinen fertigen Ausweis
          auch an einem Samstag abholen?").
        - Fees: exactly one candidate has a fee that the question names ("für zwei Hunde").
        - Fees and documents: the first candidate has the fact and clearly leads the others.
        """
        entries = [entry for entry in map(self._entry, (hit.id for hit in hits)) if entry is not None]
        if len(entries) != len(hits) or not entries:
            return None
        # Only when the words ask for it: the NLU hears "Zu welchem Datum ..." as a contact question.
        asks_office = topic in ("contact", "opening_hours", "office") and infer_topic(question, today) == topic
        if asks_office or (topic in ("service", "auto") and self._service_day(question, today)):
            offices = {self._office_of(entry) for entry in entries}
            only = offices.pop() if len(offices) == 1 else None
            return only
        if topic == "fees":
            naming = [e for e in entries if isinstance(e, Service) and named_fee(e.fees or [], question) is not None]
            if len(naming) == 1:
                return naming[0]
        likely = float(hits[0].confidence) >= FACT_LEAD_FLOOR
        if topic in ("fees", "documents") and likely and has_fact(entries[0], topic) and clear_lead(hits):
            return entries[0]
        return None

    def _office_of(self, entry: Entry) -> Office | None:
        """The office that serves an entry: itself, a service's responsible office, a FAQ's office."""
        if isinstance(entry, Office):
            return entry
        if isinstance(entry, Service):
            return self._responsible_office(entry)
        if entry.office_id:
            return self.session.get(Office, entry.office_id)
        service = self.session.get(Service, entry.service_id) if entry.service_id else None
        return self._responsible_office(service) if service is not None else None

    def _named_candidate(self, question: str, result: Any) -> tuple[Entry, float, list[Any]] | None:
        """The subject, if the search asks back and the citizen named one of its candidates."""
        if result.status != "clarify":
            return None
        named = self._named_in_question(question, list(result.hits)[:3])
        if named is None:
            return None
        return named, next((float(h.confidence) for h in result.hits if h.id == named.id), 0.0), []

    def _named_in_question(self, question: str, hits: list[Any]) -> Entry | None:
        """The one candidate whose name or synonym the citizen wrote out ("das Bürgerbüro"), when that
        settles what the question is about.

        It does when the written names cover the question's whole subject ("Wann hat das Bürgerbüro
        am Samstag auf?"), or when the candidate leads the search clearly (clear_lead). A name that
        is only part of the question does not settle it otherwise: "Wo kann ich Fotos für den neuen
        Pass machen?" names the passport ("Pass") but asks about photos.
        """
        # A clause that tells what happened ("Letzten Montag war zu.") is the story, not the subject.
        asked = " ".join(asked_clauses(question)) or question
        subject = set(subject_words(asked).split())
        named = [
            entry
            for rank, entry, written in self._written_names(question, hits)
            if subject <= written or (rank == 0 and clear_lead(hits))
        ]
        return named[0] if len(named) == 1 else None

    def _written_names(self, question: str, hits: list[Any]) -> list[tuple[int, Entry, set[str]]]:
        """The candidates (rank, entry, the words of their names) whose name or synonym the question
        writes out; FAQs have no name to write."""
        text = f" {words_of(question)} "
        found: list[tuple[int, Entry, set[str]]] = []
        for rank, hit in enumerate(hits):
            entry = self._entry(hit.id)
            if entry is None or isinstance(entry, Faq):
                continue
            # "das Bürgerbüro" is how the entry is named in a sentence: the citizen's wording too.
            in_sentence = ARTICLE.sub("", getattr(entry, "name_in_sentence", "") or "")
            names = (words_of(name) for name in (entry.name, *entry.synonyms, in_sentence))
            written = {word for name in names if name and f" {name} " in text for word in name.split()}
            if written:
                found.append((rank, entry, written))
        return found

    # ---- replies ------------------------------------------------------------------------------

    def _record_unanswered(self, request: AnswerInput, status: str) -> None:
        question = self.scrubbed(request.question)[:2000]
        if question:
            # Committed by the answer route with the answer's other records (one commit per answer).
            self.session.add(UnansweredQuestion(question=question, topic=request.topic, status=status))

    def _unknown(self, request: AnswerInput) -> Answer:
        self._record_unanswered(request, "unknown")
        return Answer(
            status="unknown",
            text="Dazu habe ich leider keine gesicherte Information. " + contact_text(self.session, self.settings),
            context={"service_id": request.service_id, "office_id": request.office_id},
            unanswered=True,
        )

    def _clarify(self, request: AnswerInput, hits: list[Any], confidence: float) -> Answer:
        # A question back whose best candidate is this unlikely counts as not answered, for the staff;
        # not when the question writes out one candidate's name ("Unser Sohn braucht zum ersten Mal
        # einen Pass"): the citizen then asked about it, and the choice is offered, never refused.
        unanswered = confidence < LOW_CONFIDENCE and not self._written_names(request.question, hits)
        if unanswered:
            self._record_unanswered(request, "clarify")
        choices = [{"type": h.type, "id": h.id, "title": h.title} for h in hits]
        titles = [f"„{c['title']}“" for c in choices]
        listed = titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " oder " + titles[-1]
        text = f"Meinten Sie {listed}? Bitte wählen Sie aus."
        if unanswered:
            # Most such questions are about something the town does not offer ("Wie buche ich einen
            # Flug?"): the citizen is told that the choices are a guess, and whom to ask instead.
            contact = contact_text(self.session, self.settings)
            text = f"Dazu bin ich mir nicht sicher. Meinten Sie {listed}? Falls nichts davon passt: {contact}"
        return Answer(
            status="clarify",
            text=text,
            choices=choices,
            context={"service_id": request.service_id, "office_id": request.office_id},
            confidence=round(confidence, 3),
            unanswered=unanswered,
        )

    def _answer_about(self, subject: Entry, topic: str, question: str, now: datetime) -> Answer:
        if isinstance(subject, Faq):
            return self._faq_or_its_office(subject, topic, question, now)
        if isinstance(subject, Office):
            if asks_about_access(question):
                return self._access_answer(subject)
            if topic in ("contact", "office"):
                return self._contact_answer(subject, None)
            if (
                topic == "service"
                and subject.opening_hours
                and self._asked_for_a_day(subject.description, question, now)
            ):
                return self._hours_answer(subject, None, question, now)
            if topic in ("fees", "documents", "service"):
                return self._office_services_clarify(subject, topic)
            return self._hours_answer(subject, None, question, now)
        service = subject
        if topic == "opening_hours":
            office = self._responsible_office(service)
            if office is not None:
                return self._hours_answer(office, service, question, now)
        if topic in ("service", "auto") and self._asked_for_a_day(
            f"{service.summary} {service.description}", question, now
        ):
            office = self._responsible_office(service)
            if office is not None and office.opening_hours:
                return self._hours_answer(office, service, question, now)
        if topic in ("contact", "office"):
            return self._contact_answer(self._responsible_office(service), service)
        if topic == "fees":
            return self._fees_answer(service, question)
        if topic == "documents":
            return self._documents_answer(service)
        return self._service_answer(service)

    def _faq_or_its_office(self, faq: Faq, topic: str, question: str, now: datetime) -> Answer:
        """The FAQ's answer, or its office's when the words ask for that office's contact or hours:
        "Wer ist für Sperrmüll zuständig?" found "Was gehört zum Sperrmüll?", and "Kann ich meinen
        fertigen Ausweis auch samstags abholen?" found "Ist mein Ausweis schon fertig?"."""
        office = self._office_of(faq)
        if office is None:
            return self._faq_answer(faq)
        service = self.session.get(Service, faq.service_id) if faq.service_id else None
        asked = infer_topic(question, now.date())
        if topic == asked == "opening_hours":
            return self._hours_answer(office, service, question, now)
        if topic == asked and topic in ("contact", "office"):
            return self._contact_answer(office, service)
        if topic in ("service", "auto") and office.opening_hours and self._asked_for_a_day(faq.answer, question, now):
            return self._hours_answer(office, service, question, now)
        return self._faq_answer(faq)

    def _asked_for_a_day(self, entry_text: str, question: str, now: datetime) -> bool:
        """True when the question asks whether a service can be done on a weekday or holiday; not
        when the entry's own text speaks of that weekday ("Trauungen auch samstags"): then the
        entry's answer says it."""
        day = self._service_day(question, now.date())
        if day is None:
            return False
        return WEEKDAYS[day.weekday()] not in fold(entry_text)

    def _service_day(self, question: str, today: date) -> date | None:
        """``day_asked_for_a_service`` in the town's state, read once per answer: the search for the
        subject, the settling of a question back and the reply all ask it."""
        key = (question, today)
        if key not in self._service_days:
            region = holiday_region(self.session, self.settings)
            self._service_days[key] = day_asked_for_a_service(question, today, region)
        return self._service_days[key]

    def _responsible_office(self, service: Service) -> Office | None:
        ranked = sorted(service.responsibilities, key=lambda r: r.role != "zustaendige_stelle")
        return ranked[0].office if ranked else None

    @staticmethod
    def _source(entry: Entry, title: str) -> dict[str, str]:
        return {"title": title, "url": entry.source_url, "last_reviewed": entry.last_reviewed.isoformat()}

    def _result(self, text: str, entry: Entry, title: str, service: Service | None, office: Office | None) -> Answer:
        kind = entry_type(entry)
        return Answer(
            status="answer",
            text=text,
            source=self._source(entry, title),
            entry={"type": kind, "id": entry.id},
            context={"service_id": service.id if service else None, "office_id": office.id if office else None},
        )

    def _service_answer(self, service: Service) -> Answer:
        lines = [f"{service.name}: {service.summary}"]
        if service.deadlines:
            lines.append("Fristen:\n" + bullet_list(service.deadlines))
        if service.processing_time:
            lines.append(f"Bearbeitungsdauer: {service.processing_time}")
        for online in service.online_services:
            lines.append(f"Online: {online['title']}: {online['url']}")
        office = self._responsible_office(service)
        if office is not None:
            lines.append(f"Zuständig: {office.name}")
        lines.append("Fragen Sie gern nach Unterlagen, Kosten oder Öffnungszeiten.")
        return self._result("\n".join(lines), service, service.name, service, office)

    def _fees_answer(self, service: Service, question: str = "") -> Answer:
        office = self._responsible_office(service)
        if not service.fees:
            text = f"Zu den Kosten für „{service.name}“ ist nichts hinterlegt."
            if office is not None:
                # name_in_sentence is nominative ("das Bürgerbüro"): the sentence keeps it the subject.
                text += f" Auskunft gibt Ihnen {office.name_in_sentence or office.name}."
            return self._result(text, service, service.name, service, office)
        items = []
        for fee in service.fees:
            item = fee["label"]
            if fee.get("amount_eur") is not None:
                item += f": {euro(float(fee['amount_eur']))}"
                if fee.get("unit"):
                    item += f" {fee['unit']}"
            if fee.get("note"):
                item += f" ({fee['note']})"
            items.append(item)
        text = f"Kosten für „{service.name}“:\n" + bullet_list(items)
        asked = named_fee(service.fees, question)
        if asked is not None and asked.get("amount_eur") is not None:
            # "Was kostet die Hundesteuer für zwei Hunde?": that line first, the whole list after it.
            amount = f"{euro(float(asked['amount_eur']))}" + (f" {asked['unit']}" if asked.get("unit") else "")
            label = str(asked["label"])
            text = f"{label[:1].upper()}{label[1:]}: {amount}.\n" + text
        if office is not None and any(fee.get("amount_eur") is None for fee in service.fees):
            text += f"\nDie genaue Höhe nennt Ihnen {office.name_in_sentence or office.name}"
            text += f" (Telefon {office.phone})." if office.phone else "."
        return self._result(text, service, service.name, service, office)

    def _documents_answer(self, service: Service) -> Answer:
        office = self._responsible_office(service)
        if service.documents:
            text = f"Für „{service.name}“ brauchen Sie:\n" + bullet_list(service.documents)
        else:
            text = f"Für „{service.name}“ sind keine besonderen Unterlagen hinterlegt."
        if service.prerequisites:
            text += "\nVoraussetzungen:\n" + bullet_list(service.prerequisites)
        return self._result(text, service, service.name, service, office)

    def _contact_answer(self, office: Office | None, service: Service | None) -> Answer:
        if office is None:
            assert service is not None
            text = f"Für „{service.name}“ ist keine zuständige Stelle hinterlegt. " + contact_text(
                self.session, self.settings
            )
            return self._result(text, service, service.name, service, None)
        lines = []
        if service is not None:
            lines.append(f"Für „{service.name}“ ist {office.name_in_sentence or office.name} zuständig.")
        lines.append(office.name)
        address = _visitor_address(office)
        if address:
            lines.append(address)
        hours = weekly_overview(office.opening_hours) if office.opening_hours else ""
        for label, value in (
            ("Telefon", office.phone),
            ("E-Mail", office.email),
            ("Internet", office.web),
            ("Termin", office.appointment_url),
            ("Öffnungszeiten", hours),
            ("Barrierefreiheit", office.accessibility),
        ):
            if value:
                lines.append(f"{label}: {value}")
        return self._result("\n".join(lines), office, office.name, service, office)

    def _access_answer(self, office: Office) -> Answer:
        """How accessible an office is, as its entry says; when it says nothing, that and whom to ask.

        Only for an office the question is about: "Meine Mutter sitzt im Rollstuhl, gibt es einen
        Parkausweis für sie?" is about a service, and its answer is the service's.
        """
        lines = []
        if office.accessibility:
            lines.append(f"Barrierefreiheit ({office.name}): {office.accessibility}")
        else:
            # The name stays nominative, in quotes, without article ("zu der Fachbereich" would be wrong).
            lines.append(f"Zur Barrierefreiheit sind für „{office.name}“ keine Angaben hinterlegt.")
        address = _visitor_address(office)
        if address:
            lines.append(address)
        if office.phone:
            lines.append(f"Bei Fragen oder besonderem Bedarf vorab anrufen: Telefon {office.phone}")
        return self._result("\n".join(lines), office, office.name, None, office)

    def _office_services_clarify(self, office: Office, topic: str) -> Answer:
        services = [r.service for r in office.responsibilities][:3]
        if not services:
            return self._contact_answer(office, None)
        choices = [{"type": "service", "id": s.id, "title": s.name} for s in services]
        return Answer(
            status="clarify",
            text=f"Zu welcher Leistung ({office.name}) möchten Sie das wissen? Bitte wählen Sie aus.",
            choices=choices,
            context={"service_id": None, "office_id": office.id},
            confidence=1.0,
        )

    def _closures(self, office: Office) -> tuple[Closure, ...]:
        notices = self.session.scalars(
            select(Notice).where(Notice.closed.is_(True), (Notice.office_id == office.id) | Notice.office_id.is_(None))
        )
        return tuple(Closure(n.starts_at, n.ends_at, n.title) for n in notices)

    def _active_notices(self, office: Office, now: datetime) -> list[Notice]:
        return list(
            self.session.scalars(
                select(Notice)
                .where(
                    (Notice.office_id == office.id) | Notice.office_id.is_(None),
                    Notice.ends_at > now,
                    # Announce what is on now and what starts within the coming two weeks.
                    Notice.starts_at <= now + timedelta(days=14),
                )
                .order_by(Notice.starts_at)
            )
        )

    def _hours_answer(self, office: Office, service: Service | None, question: str, now: datetime) -> Answer:
        subject = office.name_in_sentence or office.name
        if not office.opening_hours:
            # "Für der Fachbereich" would be wrong: the name stays nominative, in quotes, without article.
            text = f"Öffnungszeiten sind für „{office.name}“ nicht hinterlegt."
            if office.phone:
                text += f" Telefon: {office.phone}"
            return self._result(text, office, office.name, service, office)
        region = holiday_region(self.session, self.settings)  # the town's state, from its regional key
        hours = OfficeHours(office.opening_hours, holiday_region=region, closures=self._closures(office))
        asked = asked_day(question, now.date(), region)
        if asked.error:
            text = f"{asked.error} Bitte nennen Sie ein gültiges Datum, zum Beispiel „am 24.12.“."
            return self._result(text, office, office.name, service, office)
        if asked.day is not None and asked.day != now.date():
            text = describe_day(subject, hours, asked.day, now)
        else:
            text = describe_now(subject, hours, now)
        if service is not None:
            text = f"Für „{service.name}“ ist {subject} zuständig. " + text
        text += f"\nÖffnungszeiten: {weekly_overview(office.opening_hours)}"
        if office.opening_hours_note:
            text += f"\n{office.opening_hours_note}"
        if office.appointment_url:
            text += f"\nTermin: {office.appointment_url}"
        for notice in self._active_notices(office, now):
            text += f"\nHinweis: {notice.title}" + (f": {notice.text}" if notice.text else "")
        return self._result(text, office, office.name, service, office)

    def _faq_answer(self, faq: Faq) -> Answer:
        text = faq.answer
        for link in faq.links:
            text += f"\n{link['title']}: {link['url']}"
        service = self.session.get(Service, faq.service_id) if faq.service_id else None
        office = self.session.get(Office, faq.office_id) if faq.office_id else None
        return self._result(text, faq, faq.questions[0], service, office)


def _visitor_address(office: Office) -> str | None:
    """The "Adresse: ..." line of the office's visitor (or postal) address, if it has one."""
    for address in office.addresses:
        if address["type"] in ("besucheranschrift", "hausanschrift"):
            return f"Adresse: {address['street']}, {address['postcode']} {address['city']}"
    return None
