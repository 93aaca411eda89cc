"""Log matching: both engines find the same hits with the same boundaries; a file in an
unexpected encoding is named with its line; ``esante cyber match`` as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from esante.core.db import make_engine
from esante.cyber.indicators import matcher, service
from esante.cyber.indicators.access import Audience
from esante.cyber.indicators.schemas import EventIn
from esante.cyber.indicators.service import Known
from tests.freshdb import fresh_database_url

KNOWN = [Known(1, "domain", "evil-cdn.net", 10, "Campagne A", "green"),
         Known(2, "ip", "185.234.72.19", 10, "Campagne A", "green"),
         Known(3, "url", "http://phish.example.org/login.php", 11, "Campagne B", "amber"),
         Known(4, "email", "compta@chu-factures.com", 11, "Campagne B", "amber"),
         Known(5, "sha256", "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
               12, "Rançongiciel", "amber"),
         Known(6, "url", "http://root-only.example.net/", 12, "Rançongiciel", "amber"),
         Known(7, "ip", "2001:db8:bad::1", 12, "Rançongiciel", "amber")]

LOG = """\
2026-11-24T08:14:07 proxy ALLOW 10.2.3.4 GET http://www.evil-cdn.net/a.js 200
2026-11-24T08:14:08 proxy ALLOW 10.2.3.4 GET http://notevil-cdn.net/a.js 200
2026-11-24T08:14:09 fw DENY src=10.2.3.5 dst=185.234.72.19 dport=443
2026-11-24T08:14:10 fw DENY src=10.2.3.5 dst=185.234.72.190 dport=443
2026-11-24T08:14:11 proxy ALLOW 10.2.3.6 GET http://phish.example.org/login.php 200
2026-11-24T08:14:12 proxy ALLOW 10.2.3.6 GET http://phish.example.org/login.php5 404
2026-11-24T08:14:13 mail from=<Compta@CHU-Factures.com> to=<rh@chu-paris.fr> status=sent
2026-11-24T08:14:14 av sha256=275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F
2026-11-24T08:14:15 proxy ALLOW 10.2.3.7 GET http://root-only.example.net/index.html 200
2026-11-24T08:14:16 fw DENY src=2001:db8:bad::1 dst=2001:db8::2 dport=22
2026-11-24T08:14:17 proxy ALLOW 10.2.3.8 GET https://evil-cdn.network/x 200
"""
EXPECTED = {(1, 1), (3, 2), (5, 3), (7, 4), (8, 5), (9, 6), (10, 7)}


@pytest.mark.parametrize("engine", ["aho", "regex"])
def test_engines_find_the_same_hits(tmp_path: Path, engine: str) -> None:
    log = tmp_path / "proxy.log"
    log.write_text(LOG, encoding="utf-8")
    m = matcher.make(engine, KNOWN)
    hits = {(h.line, h.known.indicator_id) for h in matcher.scan(log, m)}
    assert hits == EXPECTED


def test_lines_are_counted_across_blocks(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(matcher, "BLOCK", 64)  # many blocks, lines cut at block ends
    log = tmp_path / "proxy.log"
    log.write_text(LOG * 3, encoding="utf-8")
    n = LOG.count("\n")
    for engine in ("aho", "regex"):
        hits = {(h.line, h.known.indicator_id)
                for h in matcher.scan(log, matcher.make(engine, KNOWN))}
        assert hits == {(line + k * n, i) for k in range(3) for line, i in EXPECTED}


def test_encoding_errors_name_the_line(tmp_path: Path) -> None:
    log = tmp_path / "latin1.log"
    log.write_bytes(LOG.encode() + "utilisateur=Hélène\n".encode("latin-1"))
    with pytest.raises(matcher.LogEncodingError, match=r"ligne 12 .*utf-8.*--encoding"):
        list(matcher.scan(log, matcher.make("aho", KNOWN)))
    hits = list(matcher.scan(log, matcher.make("aho", KNOWN), encoding="latin-1"))
    assert len(hits) == len(EXPECTED)
    with pytest.raises(matcher.LogEncodingError, match="encodage inconnu"):
        list(matcher.scan(log, matcher.make("aho", KNOWN), encoding="klingon-8"))


@pytest.mark.slow
def test_the_match_command(tmp_path: Path) -> None:
    """``esante cyber match`` on its own database: hits printed with line, value and event;
    AMBER+STRICT of another establishment ignored; a wrong encoding is one clear line."""
    from esante.core import migrate
    from tests.factories import make_personas

    with fresh_database_url(tmp_path) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        with Session(engine) as s:
            personas = make_personas(s)
            from esante.core.policy import Principal

            a, b = personas.est["A"].finess, personas.est["B"].finess
            service.create_event(s, Principal.of(personas.users["rssi_a"]), EventIn.model_validate(
                {"title": "Proxy malveillant", "tlp": "green", "scope": "national",
                 "source_finess": a, "indicators": [{"value": "evil-cdn.net"}]}))
            service.create_event(s, Principal.of(personas.users["rssi_a"]), EventIn.model_validate(
                {"title": "Interne à A", "tlp": "amber+strict", "scope": "establishment",
                 "source_finess": a, "indicators": [{"value": "185.234.72.19"}]}))
            s.commit()
        engine.dispose()
        log = tmp_path / "fw.log"
        log.write_text(LOG, encoding="utf-8")
        env = {**os.environ, "ESANTE_MODE": "test", "ESANTE_DATABASE_URL": url,
               "ESANTE_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "esante.cli", "cyber", "match", *args],
                                  env=env, capture_output=True, text=True, timeout=120,
                                  check=False)

        out_b = run(str(log), "--finess", b)
        assert out_b.returncode == 0, out_b.stderr
        assert "ligne 1\tdomain\tevil-cdn.net\tévénement" in out_b.stdout
        assert "Proxy malveillant" in out_b.stdout and "185.234.72.19" not in out_b.stdout
        assert "1 touche(s)" in out_b.stdout
        out_a = run(str(log), "--finess", a, "--engine", "regex", "--record-sightings")
        assert out_a.returncode == 0, out_a.stderr
        assert "ligne 3\tip\t185.234.72.19" in out_a.stdout and "2 touche(s)" in out_a.stdout
        bad = tmp_path / "bad.log"
        bad.write_bytes(b"ok\n\xff\xfe garbage\n")
        out_bad = run(str(bad), "--finess", a)
        assert out_bad.returncode != 0
        assert "ligne 2" in out_bad.stderr and "--encoding" in out_bad.stderr
        assert len(out_bad.stderr.strip().splitlines()) == 1
        assert run(str(log)).returncode != 0  # neither --finess nor --token


def test_empty_audience_sees_nothing(db) -> None:
    assert list(service.active_indicators(db, Audience())) == []
