"""SQLAlchemy 2 models of every table of the knowledge service (docs/contracts.md).

Names follow XZuFi / LeiKa where they exist (Leistung = service, Organisationseinheit = office,
Zuständigkeit = responsibility). List-like facts are JSON columns: they are read and written as a
whole, never queried by part, and the same column type works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


def utcnow() -> datetime:
    """Timezone-aware now in UTC (column default)."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of all tables."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Service(Base):
    """A municipal service (XZuFi Leistung)."""

    __tablename__ = "services"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    leika_key: Mapped[str | None] = mapped_column(String(14), index=True)
    name: Mapped[str] = mapped_column(String(300))
    synonyms: Mapped[list[Any]] = mapped_column(JSON, default=list)
    summary: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    prerequisites: Mapped[list[Any]] = mapped_column(JSON, default=list)
    documents: Mapped[list[Any]] = mapped_column(JSON, default=list)
    fees: Mapped[list[Any]] = mapped_column(JSON, default=list)
    deadlines: Mapped[list[Any]] = mapped_column(JSON, default=list)
    processing_time: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[list[Any]] = mapped_column(JSON, default=list)
    online_services: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source_url: Mapped[str] = mapped_column(String(500))
    last_reviewed: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    responsibilities: Mapped[list[Responsibility]] = relationship(
        back_populates="service", cascade="all, delete-orphan", order_by="Responsibility.id"
    )


class Office(Base):
    """An office or contact point (XZuFi Organisationseinheit)."""

    __tablename__ = "offices"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    # The name as it stands in a German sentence, with article: "das Bürgerbüro".
    name_in_sentence: Mapped[str] = mapped_column(String(300), default="")
    synonyms: Mapped[list[Any]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    # [{"type": "besucheranschrift"|"hausanschrift"|"postanschrift"|"postfach", "street": ..., "postcode": ..., "city": ...}]
    addresses: Mapped[list[Any]] = mapped_column(JSON, default=list)
    phone: Mapped[str] = mapped_column(String(80), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    web: Mapped[str] = mapped_column(String(500), default="")
    appointment_url: Mapped[str] = mapped_column(String(500), default="")
    accessibility: Mapped[str] = mapped_column(Text, default="")
    # OpenStreetMap opening_hours syntax, reasoned about in Europe/Berlin with NRW holidays.
    opening_hours: Mapped[str] = mapped_column(String(500), default="")
    opening_hours_note: Mapped[str] = mapped_column(Text, default="")
    regional_key: Mapped[str] = mapped_column(String(12), default="")
    source_url: Mapped[str] = mapped_column(String(500))
    last_reviewed: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    responsibilities: Mapped[list[Responsibility]] = relationship(
        back_populates="office", cascade="all, delete-orphan"
    )


class Responsibility(Base):
    """Which office is responsible for a service (XZuFi Zuständigkeit)."""

    __tablename__ = "responsibilities"
    __table_args__ = (UniqueConstraint("service_id", "office_id", "role", name="uq_responsibility"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), index=True)
    # "zustaendige_stelle" (XZuFi role 01) or "ansprechpunkt" (role 03).
    role: Mapped[str] = mapped_column(String(40), default="zustaendige_stelle")

    service: Mapped[Service] = relationship(back_populates="responsibilities")
    office: Mapped[Office] = relationship(back_populates="responsibilities")


class Faq(Base):
    """A frequently asked question with its variants and the curated answer."""

    __tablename__ = "faqs"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    questions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    links: Mapped[list[Any]] = mapped_column(JSON, default=list)
    service_id: Mapped[str | None] = mapped_column(ForeignKey("services.id", ondelete="SET NULL"))
    office_id: Mapped[str | None] = mapped_column(ForeignKey("offices.id", ondelete="SET NULL"))
    source_url: Mapped[str] = mapped_column(String(500))
    last_reviewed: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


def find_entry(session: Session, entry_id: str) -> Service | Office | Faq | None:
    """The service, office or FAQ entry with this id, whichever table holds it."""
    for model in (Service, Office, Faq):
        found = session.get(model, entry_id)
        if found is not None:
            return found
    return None


class Notice(Base):
    """A time-bound announcement; with ``closed`` it overrides an office's opening hours."""

    __tablename__ = "notices"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    office_id: Mapped[str | None] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, default="")
    # Local (Europe/Berlin) wall-clock times, stored naive: a closure "24.12. all day" stays that day.
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    closed: Mapped[bool] = mapped_column(Boolean, default=True)
    source_url: Mapped[str] = mapped_column(String(500), default="")
    last_reviewed: Mapped[date | None] = mapped_column(Date)


class Submission(Base):
    """A form submitted in the chat (owned by the form workflow; the action server holds no data)."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    form: Mapped[str] = mapped_column(String(80), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8), default="de")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Feedback(Base):
    """An anonymous thumbs up/down on one bot answer."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rating: Mapped[str] = mapped_column(String(8))
    entry_type: Mapped[str | None] = mapped_column(String(20))
    entry_id: Mapped[str | None] = mapped_column(String(80), index=True)
    message_id: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UnansweredQuestion(Base):
    """A question the bot could not answer, scrubbed of personal data, for the staff to curate."""

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(String(40), default="auto")
    status: Mapped[str] = mapped_column(String(20), default="unknown")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class StaffUser(Base):
    """A member of staff who curates the knowledge base (argon2 password hash)."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditLog(Base):
    """Who changed what and when (no personal data of citizens)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(120))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
