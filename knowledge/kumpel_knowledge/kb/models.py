"""Tables of the knowledge base: services, offices, responsibilities, FAQ entries and notices.

Names follow XZuFi / LeiKa where they exist (Leistung = service, Organisationseinheit = office,
Zuständigkeit = responsibility). List-like facts are JSON columns: they are read and written as a
whole, never queried by part, and the same column type works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..core.db import Base, utcnow


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
    # [{"type": "besucheranschrift"|"hausanschrift"|"postanschrift"|"postfach",
    #   "street": ..., "postcode": ..., "city": ...}]
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

    responsibilities: Mapped[list[Responsibility]] = relationship(back_populates="office", cascade="all, delete-orphan")


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


def column_default(model: type[Base], name: str) -> Any:
    """The value a new row gets for this column when none is given (None without a default)."""
    default = model.__table__.columns[name].default
    if default is None:
        return None
    if default.is_callable:
        return default.arg(None)  # SQLAlchemy wraps ``list`` as fn(context)
    return default.arg


def service_by_leika(session: Session, leika_key: str) -> Service | None:
    """The town's service with this LeiKa key (Leistungsschlüssel), if the knowledge base has one."""
    return session.scalar(select(Service).where(Service.leika_key == leika_key)) if leika_key else None


def find_entry(session: Session, entry_id: str) -> Service | Office | Faq | None:
    """The service, office or FAQ entry with this id, whichever table holds it."""
    for model in (Service, Office, Faq):
        # mypy joins the three classes to Base in the loop; the row is of the class it was looked up in.
        found = cast("Service | Office | Faq | None", session.get(model, entry_id))
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


class Municipality(Base):
    """The town itself: who runs this knowledge base and how citizens reach it (one row).

    Its name and contacts fill the bot's texts ("wenden Sie sich an die Stadt ..."); its regional key
    (Amtlicher Regionalschlüssel, 12 digits) says the state, whose public holidays apply.
    """

    __tablename__ = "municipality"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    name: Mapped[str] = mapped_column(String(200))
    # The name as it stands in a German sentence, with article: "die Stadt Musterstadt".
    name_in_sentence: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(80), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    web: Mapped[str] = mapped_column(String(500), default="")
    regional_key: Mapped[str] = mapped_column(String(12), default="")
    privacy_url: Mapped[str] = mapped_column(String(500), default="")
    # Whether the town takes part in the public authorities' number 115.
    line_115: Mapped[bool] = mapped_column(Boolean, default=True)
    # The short place name in sentences ("Ihre Anschrift in Krefeld"); empty: the name without "Stadt ".
    city: Mapped[str] = mapped_column(String(100), default="")
    # The town's postcodes (5-digit strings): the chat forms accept addresses with these only.
    postcodes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ImportedEntry(Base):
    """Where an imported service or office came from, and its official values as last imported.

    The entry tables hold what the bot serves (official values, or the staff's override where there
    is one); this row keeps the official side apart, so a later import can tell an official change
    from a local one (``kb/xzufi/sync.py``) and staff can see what the state's editors wrote.
    """

    __tablename__ = "imported_entries"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # "services" or "offices"
    entry_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    source: Mapped[str] = mapped_column(String(20), default="xzufi")
    external_id: Mapped[str] = mapped_column(String(200), index=True)
    # The official entry in interchange shape (kumpel-kb/1), as the last import read it.
    official: Mapped[dict[str, Any]] = mapped_column(JSON)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    overrides: Mapped[list[EntryOverride]] = relationship(
        back_populates="imported", cascade="all, delete-orphan", order_by="EntryOverride.field"
    )


class EntryOverride(Base):
    """A field of an imported entry that staff changed locally: it wins over the official value."""

    __tablename__ = "entry_overrides"
    __table_args__ = (
        ForeignKeyConstraint(
            ["kind", "entry_id"], ["imported_entries.kind", "imported_entries.entry_id"], ondelete="CASCADE"
        ),
        UniqueConstraint("kind", "entry_id", "field", name="uq_entry_override"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    entry_id: Mapped[str] = mapped_column(String(80))
    field: Mapped[str] = mapped_column(String(40))
    # The local value (interchange shape; None: staff emptied the field).
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    username: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    imported: Mapped[ImportedEntry] = relationship(back_populates="overrides")
