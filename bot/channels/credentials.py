"""``credentials.yml`` with only the channels whose variables are set: a channel is on by its secrets.

Rasa 3.6 substitutes ``${VAR}`` in ``credentials.yml`` (``rasa.shared.utils.io``'s ``!env_var``
constructor) and raises ``RasaException`` for an unset one: Rasa would not start at all while a
single channel's secrets are missing. So the engine (``bot/engine.py``) hands Rasa a generated copy
that keeps a top-level section only when every ``${VAR}`` in it is set to a non-empty value (an
empty secret would let an empty signature through). Sections without variables (REST, widget) are
always kept.

The copy keeps the ``${VAR}`` references as they are: Rasa still substitutes them, so no secret is
ever written to disk. Its name is a hash of its content, so engines started with different
environments (tests run several stacks at once) never overwrite each other's file, and a restart
with the same environment reuses it.

Sections are found by their lines: a line that starts with a key (no indentation, not a comment)
starts a section, which runs up to the next one; comments just above a key belong to it. Flow-style
top-level mappings (``{a: ..., b: ...}``) are not supported in ``credentials.yml``.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED_DIR = ROOT / "var"
CREDENTIALS_OPTION = "--credentials"
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_QUOTED_VARIABLE = re.compile(r"""^[^#]*:\s*["'][^"'#]*\$\{""", re.MULTILINE)
_TOP_LEVEL_KEY = re.compile(r"^[^\s#][^:]*:")


@dataclass(frozen=True)
class Section:
    name: str
    text: str
    variables: tuple[str, ...]


def sections(source: str) -> tuple[str, list[Section]]:
    """The file's header (text before the first key) and its top-level sections, verbatim."""
    header: list[str] = []
    found: list[tuple[str, list[str]]] = []
    pending_comments: list[str] = []
    for line in source.splitlines(keepends=True):
        if _TOP_LEVEL_KEY.match(line):
            found.append((line.split(":", 1)[0].strip(), [*pending_comments, line]))
            pending_comments = []
        elif not line.strip() or line.startswith("#"):
            pending_comments.append(line)
        elif found:
            found[-1][1].extend([*pending_comments, line])
            pending_comments = []
        else:
            header.extend([*pending_comments, line])
            pending_comments = []
    if found:
        found[-1][1].extend(pending_comments)
    else:
        header.extend(pending_comments)
    result = []
    for name, lines in found:
        text = "".join(lines)
        code = "".join(line.split("#", 1)[0] if line.lstrip().startswith("#") else line for line in lines)
        result.append(Section(name, text, tuple(dict.fromkeys(_VARIABLE.findall(code)))))
    return "".join(header), result


def enabled(source: str, environ: Mapping[str, str]) -> tuple[str, list[str], dict[str, list[str]]]:
    """``(the file with only enabled sections, enabled names, {disabled name: its unset variables})``."""
    header, found = sections(source)
    kept: list[str] = []
    names: list[str] = []
    disabled: dict[str, list[str]] = {}
    for section in found:
        missing = [name for name in section.variables if not environ.get(name, "").strip()]
        if missing:
            disabled[section.name] = missing
        else:
            kept.append(section.text)
            names.append(section.name)
    text = header + "".join(kept)
    if not text.endswith("\n"):
        text += "\n"
    return text, names, disabled


def generate(source_file: Path, environ: Mapping[str, str], target_dir: Path = GENERATED_DIR) -> Path:
    """Write the enabled copy of ``source_file`` and return its path (content-addressed, atomic)."""
    text, names, disabled = enabled(source_file.read_text(encoding="utf-8"), environ)
    if _QUOTED_VARIABLE.search(text):
        # ruamel only resolves plain scalars: Rasa would pass a quoted "${VAR}" on as it stands.
        sys.stderr.write('credentials: a quoted "${VAR}" is not substituted by Rasa: write it unquoted\n')
    for name, missing in disabled.items():
        # Names of variables only, never their values.
        sys.stderr.write(f"credentials: channel {name} off (not set: {', '.join(missing)})\n")
    sys.stderr.write(f"credentials: channels on: {', '.join(names) or 'none'}\n")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    for directory in (target_dir, Path(tempfile.gettempdir())):
        target = directory / f"credentials.generated.{digest}.yml"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                handle, temporary = tempfile.mkstemp(dir=directory, prefix=".credentials.", suffix=".yml")
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(text)
                os.replace(temporary, target)
            return target
        except OSError:  # a read-only var/ in a container: the temporary directory then
            continue
    raise OSError(f"cannot write the generated credentials file (tried {target_dir} and the temp directory)")


def use_enabled_channels(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """``argv`` with its ``--credentials FILE`` (or ``--credentials=FILE``) replaced by the enabled copy."""
    env = os.environ if environ is None else environ
    args = list(argv)
    for index, arg in enumerate(args):
        if arg == CREDENTIALS_OPTION and index + 1 < len(args):
            args[index + 1] = str(generate(Path(args[index + 1]), env))
            break
        if arg.startswith(CREDENTIALS_OPTION + "="):
            args[index] = f"{CREDENTIALS_OPTION}={generate(Path(arg.split('=', 1)[1]), env)}"
            break
    return args
