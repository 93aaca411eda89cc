"""Log matching: find the shared indicators in log lines.

Two engines, the same hits:

- ``aho`` (default): one Aho-Corasick automaton (``pyahocorasick``) over every indicator
  value, run on large blocks of the lower-cased file; the C scan only stops on real
  occurrences, then a boundary check (``evil.fr`` is not in ``notevil.fr``, but is in
  ``www.evil.fr``) and the line number (newlines counted between hits) are done in Python.
- ``regex``: one compiled regular expression extracts candidate tokens (URLs, e-mails, IPv4,
  hashes, domain names, IPv6) and each is looked up in Python sets (domains with their parents).

Matching is case-insensitive (values are stored lower-cased)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from esante.cyber.indicators.service import Known

BLOCK = 8 << 20
_DOM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
_HEXCH = frozenset("0123456789abcdef")
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_LOCAL = _ALNUM | frozenset("._%+-")
_DIGITS = frozenset("0123456789")
_URL_END = frozenset(" \t\r\n\"'<>`|,;")


class LogEncodingError(ValueError):
    """The file is not in the expected encoding (its message names the line)."""


@dataclass(frozen=True)
class Hit:
    line: int
    known: Known


def _url_key(value: str) -> tuple[str, bool]:
    """The key an URL is searched by, and whether it is a bare root (``http://h/``)."""
    _head, sep, rest = value.partition("://")
    root = sep != "" and rest.count("/") == 1 and rest.endswith("/")
    return (value[:-1], True) if root else (value, False)


def _bounded(kind: str, text: str, start: int, end: int, root: bool) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    after2 = text[end + 1] if end + 1 < len(text) else " "
    if kind == "domain":
        return before not in _DOM and after not in _DOM and not (after == "." and after2 in _DOM)
    if kind == "email":
        return before not in _LOCAL and after not in _DOM and not (after == "." and after2 in _DOM)
    if kind == "ip":
        if ":" in text[start:end]:
            return before not in _HEXCH and before != ":" and after not in _HEXCH and after != ":"
        return (before not in _DIGITS and before != "." and after not in _DIGITS
                and not (after == "." and after2 in _DIGITS))
    if kind == "url":
        return before not in _ALNUM and (after in _URL_END or (root and after in "/?#"))
    return before not in _ALNUM and after not in _ALNUM  # hashes


class AhoMatcher:
    def __init__(self, known: Iterable[Known]) -> None:
        import ahocorasick

        self.automaton = ahocorasick.Automaton()
        table: dict[str, tuple[str, bool, list[Known]]] = {}
        for k in known:
            key, root = _url_key(k.value) if k.kind == "url" else (k.value, False)
            if key in table:
                table[key][2].append(k)
            else:
                table[key] = (k.kind, root, [k])
        for key, payload in table.items():
            self.automaton.add_word(key, (len(key), *payload))
        self.size = len(table)
        if table:
            self.automaton.make_automaton()

    def find(self, text: str) -> Iterator[tuple[int, list[Known]]]:
        if not self.size:
            return
        for end, (n, kind, root, knowns) in self.automaton.iter(text):
            start = end - n + 1
            if _bounded(kind, text, start, end + 1, root):
                yield start, knowns


_TOKEN = re.compile(
    r"((?:https?|ftp)://[^\s\"'<>`|,;]+)"
    r"|([a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+)"
    r"|(?<![0-9.])((?:[0-9]{1,3}\.){3}[0-9]{1,3})(?![0-9]|\.[0-9])"
    r"|(?<![0-9a-z])([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})(?![0-9a-z])"
    r"|(?<![a-z0-9_-])((?:[a-z0-9-]{1,63}\.)+[a-z]{2,63})(?![a-z0-9_-]|\.[a-z0-9])"
    r"|(?<![0-9a-z:])([0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7})(?![0-9a-z:])")


class RegexMatcher:
    def __init__(self, known: Iterable[Known]) -> None:
        self.sets: dict[str, dict[str, list[Known]]] = {}
        self.roots: dict[str, list[Known]] = {}
        for k in known:
            if k.kind == "url":
                key, root = _url_key(k.value)
                if root:
                    self.roots.setdefault(key, []).append(k)
                    continue
            self.sets.setdefault(k.kind, {}).setdefault(k.value, []).append(k)
        self.size = sum(len(s) for s in self.sets.values()) + len(self.roots)
        self.domains = self.sets.get("domain", {})

    def _domain(self, name: str, pos: int) -> Iterator[tuple[int, list[Known]]]:
        labels = name.split(".")
        for i in range(len(labels) - 1):
            found = self.domains.get(".".join(labels[i:]))
            if found:
                yield pos, found

    def find(self, text: str) -> Iterator[tuple[int, list[Known]]]:
        if not self.size:
            return
        urls, emails = self.sets.get("url", {}), self.sets.get("email", {})
        ips = self.sets.get("ip", {})
        hashes = {**self.sets.get("md5", {}), **self.sets.get("sha1", {}),
                  **self.sets.get("sha256", {})}
        for m in _TOKEN.finditer(text):
            group, tok, pos = m.lastindex, m.group(m.lastindex or 0), m.start()
            if group == 1:
                found = urls.get(tok)
                if found:
                    yield pos, found
                rest = tok.split("://", 1)[1]
                host = re.split(r"[/?#:]", rest, maxsplit=1)[0]
                cut = len(tok) - len(rest) + len(host)
                root = self.roots.get(tok[:cut])
                if root:
                    yield pos, root
                if host in ips:
                    yield pos, ips[host]
                yield from self._domain(host, pos)
            elif group == 2:
                found = emails.get(tok)
                if found:
                    yield pos, found
                yield from self._domain(tok.rsplit("@", 1)[1], pos)
            elif group == 3:
                found = ips.get(tok)
                if found:
                    yield pos, found
            elif group == 4:
                found = hashes.get(tok)
                if found:
                    yield pos, found
            elif group == 5:
                yield from self._domain(tok, pos)
            elif "::" in tok or tok.count(":") == 7:  # IPv6 (not a time of day)
                found = ips.get(tok)
                if found:
                    yield pos, found


def make(engine: str, known: Iterable[Known]) -> AhoMatcher | RegexMatcher:
    if engine == "aho":
        return AhoMatcher(known)
    if engine == "regex":
        return RegexMatcher(known)
    raise ValueError(f"moteur inconnu « {engine} » (aho ou regex)")


def check_encoding(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise LogEncodingError(f"encodage inconnu « {encoding} » (exemples : utf-8, latin-1, "
                               "cp1252)") from None


def scan(path: Path, matcher: AhoMatcher | RegexMatcher, *, encoding: str = "utf-8",
         progress: object = None) -> Iterator[Hit]:
    """Hits of a log file, in line order; one per (line, indicator, event)."""
    encoding = check_encoding(encoding)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line_base = 1
    tail = b""
    with open(path, "rb") as fh:
        while True:
            block = fh.read(BLOCK)
            final = not block
            data = tail + block
            if final:
                cut = len(data)
            else:
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    tail = data
                    continue
            chunk_bytes, tail = data[:cut], data[cut:]
            try:
                text = decoder.decode(chunk_bytes, final=final).lower()
            except UnicodeDecodeError as exc:
                line = line_base + chunk_bytes[:exc.start].count(b"\n")
                raise LogEncodingError(
                    f"ligne {line} : le fichier n'est pas en {encoding} (octet "
                    f"0x{chunk_bytes[exc.start]:02x}) ; précisez l'encodage avec --encoding "
                    "(par exemple latin-1)") from None
            yield from _hits(text, matcher, line_base)
            line_base += text.count("\n")
            if callable(progress):
                progress(len(block))
            if final:
                return


def _hits(text: str, matcher: AhoMatcher | RegexMatcher, line_base: int) -> Iterator[Hit]:
    found = sorted(matcher.find(text), key=lambda x: x[0])
    line, pos = line_base, 0
    seen: set[tuple[int, int]] = set()
    for start, knowns in found:
        line += text.count("\n", pos, start)
        pos = start
        for k in knowns:
            if (line, k.indicator_id) not in seen:
                seen.add((line, k.indicator_id))
                yield Hit(line, k)
