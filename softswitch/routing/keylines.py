"""Line numbers of the tables and keys of a TOML document.

`tomllib` returns plain dicts without positions, so errors found while validating a dialplan
would have no line to point at. This scanner reads the same (already syntax-checked) text and
records where each table header and key was written, by path: `("rule", 3, "deliver")` is the
`deliver` key of the fourth `[[rule]]`. It understands what dialplan files use: tables, arrays of
tables, dotted and quoted keys, multi-line strings and arrays, comments.
"""

from __future__ import annotations

__all__ = ["KeyLines", "Path"]

Path = tuple[str | int, ...]

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class KeyLines:
    """Where each path of a TOML document was written."""

    __slots__ = ("_lines", "last_line")

    def __init__(self, text: str) -> None:
        self._lines: dict[Path, int] = {}
        self.last_line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        self._scan(text)

    def line(self, path: Path) -> int:
        """The line of `path`, or of its nearest enclosing table or key that has one (an error
        inside an inline table points at the line of its key); 1 if none."""
        for end in range(len(path), 0, -1):
            found = self._lines.get(path[:end])
            if found is not None:
                return found
        return 1

    def _scan(self, text: str) -> None:
        array_counts: dict[tuple[str, ...], int] = {}
        current: Path = ()
        value = _ValueScanner()
        for number, raw in enumerate(text.splitlines(), 1):
            if value.busy:
                value.feed(raw)
                continue
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[["):
                keys, _ = _parse_key(line, 2, "]")
                names = tuple(keys)
                index = array_counts.get(names, 0)
                array_counts[names] = index + 1
                current = (*_resolve(keys[:-1], array_counts), keys[-1], index)
                self._lines.setdefault(current[:-1], number)
                self._lines[current] = number
            elif line.startswith("["):
                keys, _ = _parse_key(line, 1, "]")
                current = _resolve(keys, array_counts)
                self._lines.setdefault(current, number)
            else:
                keys, after = _parse_key(line, 0, "=")
                for end in range(1, len(keys) + 1):
                    self._lines.setdefault((*current, *keys[:end]), number)
                value.feed(line[after:])


def _resolve(keys: list[str], array_counts: dict[tuple[str, ...], int]) -> Path:
    """The path of a table header, with the current index of each array of tables in it."""
    path: list[str | int] = []
    for end in range(1, len(keys) + 1):
        path.append(keys[end - 1])
        count = array_counts.get(tuple(keys[:end]))
        if count:
            path.append(count - 1)
    return tuple(path)


def _parse_key(line: str, start: int, terminator: str) -> tuple[list[str], int]:
    """The parts of the (dotted, maybe quoted) key at `start`, and the index after the
    terminator that ends it."""
    keys: list[str] = []
    i = start
    n = len(line)
    while i < n:
        char = line[i]
        if char in " \t.":
            i += 1
        elif char == terminator:
            return keys, i + 1
        elif char in "\"'":
            end = i + 1
            part: list[str] = []
            while end < n and line[end] != char:
                if char == '"' and line[end] == "\\" and end + 1 < n:
                    part.append(line[end + 1])
                    end += 2
                    continue
                part.append(line[end])
                end += 1
            keys.append("".join(part))
            i = end + 1
        else:
            end = i
            while end < n and line[end] in _BARE_KEY:
                end += 1
            if end == i:  # not a key: leave it to the validator
                return keys or [line], n
            keys.append(line[i:end])
            i = end
    return keys or [line], n


class _ValueScanner:
    """Follows a value across lines: open brackets of arrays and inline tables, multi-line
    strings. While `busy`, the next line continues the value."""

    __slots__ = ("depth", "open_string")

    def __init__(self) -> None:
        self.depth = 0
        self.open_string: str | None = None

    @property
    def busy(self) -> bool:
        return self.depth > 0 or self.open_string is not None

    def feed(self, text: str) -> None:
        i = 0
        n = len(text)
        while i < n:
            if self.open_string is not None:
                end = _find_closing(text, i, self.open_string)
                if end < 0:
                    return
                self.open_string = None
                i = end
                continue
            char = text[i]
            if char == "#":
                return
            if char in "\"'":
                if text.startswith(char * 3, i):
                    self.open_string = char * 3
                    i += 3
                    continue
                i = _find_closing(text, i + 1, char)
                if i < 0:
                    return
                continue
            if char in "[{":
                self.depth += 1
            elif char in "]}":
                self.depth -= 1
            i += 1


def _find_closing(text: str, start: int, quote: str) -> int:
    """The index after the closing `quote` (one or three quote characters), or -1."""
    escapes = quote[0] == '"'
    i = start
    n = len(text)
    while i < n:
        if escapes and text[i] == "\\":
            i += 2
            continue
        if text.startswith(quote, i):
            end = i + len(quote)
            while len(quote) == 3 and end < n and text[end] == quote[0]:
                end += 1  # up to two quotes may end a multi-line string's content
            return end
        i += 1
    return -1
