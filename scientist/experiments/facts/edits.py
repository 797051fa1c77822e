"""Apply a model's search/replace edits strictly: all or nothing, never a silent partial apply."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from scientist.errors import ScientistError
from scientist.schemas import EditBlock


class EditNotApplied(ScientistError):
    """An edit names a file it may not touch, or its search text is not found exactly once."""

    code = "edit_not_applied"


class NoEffectiveChange(ScientistError):
    """The edits leave every file byte-identical."""

    code = "no_effective_change"


def _locate(text: str, search: str) -> tuple[int, int] | None:
    """Where ``search`` occurs exactly once in ``text``: exactly, else ignoring trailing spaces per line."""
    if text.count(search) == 1:
        start = text.index(search)
        return start, start + len(search)
    if text.count(search) > 1:
        raise EditNotApplied("the search text occurs more than once; include more lines to make it unique")
    lines = text.splitlines(keepends=True)
    wanted = [line.rstrip() for line in search.strip("\n").splitlines()]
    if not wanted:
        return None
    hits = [i for i in range(len(lines) - len(wanted) + 1)
            if [line.rstrip() for line in lines[i:i + len(wanted)]] == wanted]
    if len(hits) != 1:
        if len(hits) > 1:
            raise EditNotApplied("the search text occurs more than once; include more lines to make it unique")
        return None
    start = sum(len(line) for line in lines[:hits[0]])
    end = start + sum(len(line) for line in lines[hits[0]:hits[0] + len(wanted)])
    return start, end


def _line_span(text: str, first: str, last: str) -> tuple[int, int] | None:
    """Character span of the lines from the unique line ``first`` through the next line ``last``."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip() == first.rstrip()]
    if len(starts) != 1:
        if len(starts) > 1:
            raise EditNotApplied(f"the line {first.strip()!r} occurs more than once; choose a unique line")
        return None
    ends = [i for i in range(starts[0], len(lines)) if lines[i].rstrip() == last.rstrip()]
    if not ends:
        raise EditNotApplied(f"the end line {last.strip()!r} does not come after {first.strip()!r}")
    start = sum(len(line) for line in lines[:starts[0]])
    return start, start + sum(len(line) for line in lines[starts[0]:ends[0] + 1])


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _reindent(replace: str, matched: str) -> str:
    """Shift ``replace`` so its first line has the matched block's indentation (Python cares)."""
    first_matched = next((line for line in matched.splitlines() if line.strip()), "")
    first_replace = next((line for line in replace.splitlines() if line.strip()), "")
    want, have = _indent(first_matched), _indent(first_replace)
    if want == have or not first_replace:
        return replace
    if have and want.startswith(have):
        extra = want[len(have):]
        return "".join(extra + line if line.strip() else line for line in replace.splitlines(keepends=True))
    if not have:
        return "".join(want + line if line.strip() else line for line in replace.splitlines(keepends=True))
    return replace


def _check_path(name: str, allowed: set[str]) -> str:
    path = PurePosixPath(name.strip())
    if path.is_absolute() or ".." in path.parts or str(path) not in allowed:
        raise EditNotApplied(f"'{name}' is not an editable file (editable: {', '.join(sorted(allowed))})")
    return str(path)


def apply_edits(files: dict[str, str], edits: list[EditBlock], allowed: set[str]) -> dict[str, str]:
    """The new contents of ``files`` after every edit; raises before changing anything on any failure.

    Every edit is located in the file as the model saw it (not after the earlier edits), so one edit
    cannot move another's anchor; overlapping edits are refused.
    """
    located: dict[str, list[tuple[int, int, str, int]]] = {}
    for number, edit in enumerate(edits, start=1):
        name = _check_path(edit.file, allowed)
        text = files[name]
        span = _line_span(text, edit.search, edit.search_end) if edit.search_end else _locate(text, edit.search)
        if span is None:
            first = edit.search.strip().splitlines()[0][:80] if edit.search.strip() else ""
            raise EditNotApplied(f"edit {number}: the search text was not found in {name} "
                                 f"(first line: {first!r}); copy the lines exactly from the current file")
        matched = text[span[0]:span[1]]
        replace = _reindent(edit.replace, matched)
        if matched.endswith("\n") and replace and not replace.endswith("\n"):
            replace += "\n"
        located.setdefault(name, []).append((span[0], span[1], replace, number))
    new = dict(files)
    for name, spans in located.items():
        spans.sort()
        for (_, end_a, _, a), (start_b, _, _, b) in zip(spans, spans[1:], strict=False):
            if start_b < end_a:
                raise EditNotApplied(f"edits {a} and {b} change overlapping lines of {name}; merge them into one")
        text = files[name]
        for start, stop, replace, _ in reversed(spans):
            text = text[:start] + replace + text[stop:]
        new[name] = text
    if new == files:
        raise NoEffectiveChange("the edits leave the code byte-identical")
    return new


def syntax_error(source: str, filename: str) -> str | None:
    """The syntax error of ``source`` as one line, or ``None`` when it compiles."""
    try:
        compile(source, filename, "exec")
    except SyntaxError as exc:
        return f"{filename}:{exc.lineno}: {exc.msg}"
    return None


def read_files(folder: Path, names: set[str]) -> dict[str, str]:
    """Current contents of the editable files."""
    return {name: (folder / name).read_text(encoding="utf-8") for name in sorted(names)}
