"""Reading an identity file, and the prepared ``rec`` table that comparisons work on.

Everything runs inside one DuckDB connection (columnar, vectorised, multi-threaded);
Python only normalises the *distinct* names, which are far fewer than the records.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb
import numpy as np

from esante.identity.matching.internals.normalise import phonetic_key

COLUMNS = ("record_id", "birth_name", "used_name", "first_names", "sex", "birth_date",
           "birth_place", "nir")


class InputError(ValueError):
    """A file that cannot be deduplicated as it is (the message says where and why)."""


def _check_encoding(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"ligne {line} : encodage invalide (UTF-8 attendu), octet "
                         f"0x{data[exc.start]:02X} en position {exc.start}") from None


def _header(text: str) -> tuple[list[str], str]:
    first = text.split("\n", 1)[0].rstrip("\r")
    if not first.strip():
        raise InputError("ligne 1 : en-tête vide (colonnes attendues : " + ", ".join(COLUMNS) + ")")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = [h.strip().lower() for h in next(csv.reader(io.StringIO(first), delimiter=delimiter))]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(f"ligne 1 : colonne(s) manquante(s) : {', '.join(missing)} "
                         f"(colonnes lues : {', '.join(header)})")
    return header, delimiter


def load_csv(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Load ``path`` into the ``raw`` table (all text, with each record's line number);
    returns the number of records. Raises ``InputError`` naming the line at fault."""
    data = path.read_bytes()
    text = _check_encoding(data)
    del data
    _, delimiter = _header(text)
    del text
    try:
        con.execute(
            "CREATE OR REPLACE TABLE raw AS SELECT row_number() OVER () + 1 AS line, "
            + ", ".join(f"trim({c}) AS {c}" for c in COLUMNS)
            + " FROM read_csv(?, header = true, all_varchar = true, delim = ?, quote = '\"', "
            "normalize_names = true, strict_mode = true, null_padding = false)",
            [str(path), delimiter])
    except duckdb.Error as exc:
        raise InputError(f"fichier CSV illisible : {str(exc).splitlines()[0]}") from None
    return _validate(con)


def load_records(con: duckdb.DuckDBPyConnection, records: Iterable[Mapping[str, object]]) -> int:
    """Load records given as dicts (the real-time path) into the ``raw`` table."""
    con.execute("CREATE OR REPLACE TABLE raw (line BIGINT, "
                + ", ".join(f"{c} VARCHAR" for c in COLUMNS) + ")")
    rows = [[i + 1, *(_text(r.get(c)) for c in COLUMNS)] for i, r in enumerate(records)]
    for i, row in enumerate(rows):
        if row[1] is None:
            row[1] = f"#{i + 1}"
    if rows:
        con.executemany(f"INSERT INTO raw VALUES ({', '.join('?' * (len(COLUMNS) + 1))})", rows)
    return _validate(con)


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


_DATE_SQL = ("coalesce(try_strptime(birth_date, '%Y-%m-%d'), try_strptime(birth_date, '%d/%m/%Y'))"
             "::DATE")
_SEX_SQL = """CASE WHEN upper(sex) IN ('1', 'M', 'H', 'MASCULIN', 'HOMME') THEN '1'
    WHEN upper(sex) IN ('2', 'F', 'FEMININ', 'FÉMININ', 'FEMME') THEN '2' END"""


def _validate(con: duckdb.DuckDBPyConnection) -> int:
    checks = (
        ("record_id IS NULL", "record_id", "record_id vide"),
        (f"birth_date IS NOT NULL AND {_DATE_SQL} IS NULL", "birth_date",
         "date de naissance illisible ou impossible (AAAA-MM-JJ ou JJ/MM/AAAA attendu)"),
        ("sex IS NOT NULL AND upper(sex) NOT IN ('I', 'U', 'INCONNU') AND " + _SEX_SQL + " IS NULL",
         "sex", "sexe inconnu (M, F, 1, 2 ou I attendu)"),
    )
    for where, column, message in checks:
        bad = con.execute(f"SELECT line, {column} FROM raw WHERE {where} ORDER BY line LIMIT 1").fetchone()
        if bad:
            shown = f" : « {bad[1]} »" if bad[1] else ""
            raise InputError(f"ligne {bad[0]} : {message}{shown}")
    duplicate = con.execute("SELECT record_id, min(line), max(line) FROM raw GROUP BY record_id "
                            "HAVING count(*) > 1 ORDER BY 2 LIMIT 1").fetchone()
    if duplicate:
        raise InputError(f"ligne {duplicate[2]} : record_id « {duplicate[0]} » déjà vu ligne {duplicate[1]}")
    (count,) = con.execute("SELECT count(*) FROM raw").fetchone() or (0,)
    return int(count)


def normalise_sql(column: str) -> str:
    """``normalise_name`` in SQL (the same result, tested): upper case, no accents, letters
    and single spaces."""
    text = f"upper(strip_accents(replace(replace(replace({column}, 'œ', 'oe'), 'æ', 'ae'), 'ß', 'ss')))"
    text = f"replace(replace({text}, 'Œ', 'OE'), 'Æ', 'AE')"
    return f"nullif(trim(regexp_replace(regexp_replace({text}, '[^A-Z ]+', ' ', 'g'), ' +', ' ', 'g')), '')"


def _phonetic_table(con: duckdb.DuckDBPyConnection) -> None:
    """Phonetic keys of every distinct normalised name (far fewer than the records)."""
    values = [v for (v,) in con.execute(
        "SELECT DISTINCT v FROM (SELECT bn_c AS v FROM norm UNION ALL SELECT un_c FROM norm "
        "UNION ALL SELECT f1 FROM norm) WHERE v IS NOT NULL").fetchall()]
    table = {"v": np.array(values, dtype=object),
             "ph": np.array([phonetic_key(v) for v in values], dtype=object)}
    con.register("phonetic_view", table)
    con.execute("CREATE OR REPLACE TEMP TABLE phonetic AS SELECT * FROM phonetic_view")
    con.unregister("phonetic_view")


def build_records(con: duckdb.DuckDBPyConnection, *, term_frequencies: bool = True) -> None:
    """The ``rec`` table: one row per record, normalised, with phonetic keys, the NIR's
    checks (key, agreement with the record's own sex and birth month/year) and the term
    frequencies of its birth name and first first name."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE norm AS SELECT *, replace(bn, ' ', '') AS bn_c,
        replace(un, ' ', '') AS un_c, replace(fn, ' ', '') AS fn_c, split_part(fn, ' ', 1) AS f1
      FROM (SELECT line, {normalise_sql('birth_name')} AS bn, {normalise_sql('used_name')} AS un,
                   {normalise_sql('first_names')} AS fn FROM raw)""")
    _phonetic_table(con)
    con.execute(f"""
    CREATE OR REPLACE TABLE rec AS
    WITH base AS (
      SELECT row_number() OVER (ORDER BY r.line) - 1 AS rid, r.record_id,
        n.bn, n.un, n.fn, n.f1, n.bn_c, n.un_c, n.fn_c,
        pb.ph AS bn_ph, pu.ph AS un_ph, pf.ph AS f1_ph,
        {_SEX_SQL} AS sex, {_DATE_SQL} AS dob,
        nullif(upper(r.birth_place), '') AS place,
        CASE WHEN regexp_full_match(t.v, '[12378][0-9]{{4}}([0-9]{{2}}|2A|2B)[0-9]{{8}}') THEN t.v END AS nir
      FROM raw r JOIN norm n USING (line)
      LEFT JOIN phonetic pb ON pb.v = n.bn_c
      LEFT JOIN phonetic pu ON pu.v = n.un_c
      LEFT JOIN phonetic pf ON pf.v = n.f1
      CROSS JOIN LATERAL (SELECT upper(regexp_replace(r.nir, '[\\s.\\-]', '', 'g')) AS v) t
    )
    SELECT *, year(dob) AS y, month(dob) AS m, day(dob) AS d,
      CASE WHEN left(place, 2) = '99' THEN place WHEN left(place, 2) IN ('97', '98')
           THEN left(place, 3) ELSE left(place, 2) END AS dept,
      string_split(bn, ' ') AS bn_tokens, string_split(fn, ' ') AS fn_tokens,
      left(nir, 13) AS nir13,
      97 - (replace(replace(left(nir, 13), '2A', '19'), '2B', '18')::HUGEINT % 97)
        = right(nir, 2)::INT AS nir_key_ok,
      (sex IS NULL OR (left(nir, 1) IN ('1', '3', '7') AND sex = '1')
                   OR (left(nir, 1) IN ('2', '4', '8') AND sex = '2'))
      AND (dob IS NULL OR substr(nir, 2, 2) = strftime(dob, '%y'))
      AND (dob IS NULL OR substr(nir, 4, 2)::INT = month(dob) OR substr(nir, 4, 2)::INT > 12)
        AS nir_traits_ok,
      {"count(*) OVER (PARTITION BY bn_c) / count(*) OVER ()" if term_frequencies else "NULL::DOUBLE"}
        AS tf_bn,
      {"count(*) OVER (PARTITION BY f1) / count(*) OVER ()" if term_frequencies else "NULL::DOUBLE"}
        AS tf_f1
    FROM base
    """)
