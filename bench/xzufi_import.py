"""XZuFi import: the time to sync a large town's catalogue, and the search quality on an imported export.

1. Generates N Leistungen (default 2,300, ``bench/xzufi_generate.py``, deterministic by seed), migrates
   a fresh SQLite database (Alembic, as ``db upgrade``), sets the town's profile and times: reading
   the XML, the dry run (``plan_sync``), applying it (``apply_sync``: entries, provenance, versions,
   audit) and a re-import of the same export (read + sync, nothing to change).
2. Imports the Musterau fixture (tests/knowledge/fixtures/xzufi/) the same way, and runs the hybrid
   and lexical search on its labelled citizens' questions (``questions.yml``) with the shipped
   calibration, through ``bench/search_quality.py``'s machinery: top-1, top-3 (ranking), answered
   and confident wrong (an answer naming the wrong entry), over all questions.

    .venv/knowledge/bin/python bench/xzufi_import.py
    .venv/knowledge/bin/python bench/xzufi_import.py --services 500 --skip-quality
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

# Run as a script: Python puts bench/ first on the path, so the sibling benchmarks import as modules
# (as bench/answer_quality.py imports search_quality).
import search_quality
import xzufi_generate

from kumpel_knowledge.core.db import make_engine, make_session_factory
from kumpel_knowledge.core.migrations import upgrade
from kumpel_knowledge.kb import interchange
from kumpel_knowledge.kb.models import Municipality
from kumpel_knowledge.kb.xzufi.sync import apply_sync, plan_sync, read_export
from kumpel_knowledge.search import HybridSearch
from kumpel_knowledge.search import calibration as calibration_mod
from kumpel_knowledge.staff.auth import StaffIdentity

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "knowledge" / "fixtures" / "xzufi"
IMPORTER = StaffIdentity("bench", "editor")
T = TypeVar("T")


def timed(label: str, action: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = action()
    print(f"  {label:<34} {time.perf_counter() - started:7.2f} s")
    return result


def fresh_database(folder: Path, name: str) -> str:
    url = f"sqlite:///{folder / name}"
    upgrade(url)
    return url


def bench_import_time(folder: Path, services: int, seed: int) -> None:
    export_file = folder / f"xzufi-{services}.xml"
    export_file.write_bytes(xzufi_generate.generated(services, seed))
    print(f"generated {services} Leistungen (seed {seed}): {export_file.stat().st_size / 1e6:.1f} MB of XZuFi 2.2 XML")
    engine = make_engine(fresh_database(folder, "time.db"))
    with make_session_factory(engine)() as session:
        session.add(Municipality(id=1, name="Stadt Musterau", regional_key=xzufi_generate.TOWN_ARS))
        session.commit()
        started = time.perf_counter()
        export = timed("read (XML -> entries)", lambda: read_export(session, [export_file]))
        plan = timed("plan (dry run)", lambda: plan_sync(session, export))
        report = timed("apply (one transaction)", lambda: apply_sync(session, export, IMPORTER))
        total = time.perf_counter() - started
        print(f"  {'first import in all':<34} {total:7.2f} s: {report.counts['add']} entries added")
        again = timed(
            "re-import (read + sync)", lambda: apply_sync(session, read_export(session, [export_file]), IMPORTER)
        )
        print(
            f"  re-import: {again.counts['unchanged']} unchanged, {again.counts['change']} changed, {again.versions} versions"
        )
        assert plan.counts["add"] == report.counts["add"] and not again.plan.writes
    engine.dispose()


def imported_fixture(folder: Path, fixture: Path, municipality: Path) -> Path:
    """The fixture synced into a fresh database, exported as a kumpel-kb folder for the search benchmark."""
    engine = make_engine(fresh_database(folder, "fixture.db"))
    with make_session_factory(engine)() as session:
        interchange.import_path(session, municipality)
        report = apply_sync(session, read_export(session, [fixture]), IMPORTER)
        print(
            f"imported {fixture.name}: {report.counts['add']} entries, "
            f"{report.counts['skipped_outside_region']} objects outside the town skipped"
        )
        kb_dir = folder / "fixture-kb"
        interchange.export_path(session, kb_dir)
    engine.dispose()
    return kb_dir


def bench_search_quality(kb_dir: Path, questions_file: Path, model: str | None) -> None:
    docs = search_quality.load_seed_docs(kb_dir)
    questions = search_quality.load_questions(questions_file)
    search_quality.check_labels(questions, docs)
    calibrations = calibration_mod.load()
    print(f"search quality on the imported fixture: {len(docs)} entries, {len(questions)} questions (all counted)")
    print(f"  {'mode':8} {'top-1':>6} {'top-3':>6} {'answered':>8} {'conf.wrong':>10}")
    for mode in ("hybrid", "lexical"):
        search = HybridSearch(model if mode != "lexical" else None, mode=mode)
        search.rebuild(docs)
        rows = search_quality.as_mode(search_quality.collect_signals(search, questions), mode)
        m = search_quality.evaluate(search, rows, calibrations[mode])
        print(f"  {mode:8} {m['top1']:6.3f} {m['top3']:6.3f} {m['answered']:8.3f} {m['confident_wrong']:10.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=2300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fixture", type=Path, default=FIXTURES / "musterau-xzufi.xml")
    parser.add_argument("--municipality", type=Path, default=FIXTURES / "musterau-municipality.yaml")
    parser.add_argument("--questions", type=Path, default=FIXTURES / "questions.yml")
    parser.add_argument("--model", default=None, help="embedding model name or path (default: the built e5)")
    parser.add_argument("--skip-quality", action="store_true", help="only the import time")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kumpel-xzufi-bench-") as tmp:
        folder = Path(tmp)
        bench_import_time(folder, args.services, args.seed)
        if not args.skip_quality:
            bench_search_quality(imported_fixture(folder, args.fixture, args.municipality), args.questions, args.model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
