"""The two engines an extract runs on: DuckDB (embedded, default) and Apache Spark.

Both receive the same SQL: only the few functions whose names differ go through
``Dialect``. Heavy passes (histogram, final write) run on the engine; the lattice search runs
on the histogram in a local DuckDB whatever the engine, so both engines choose the same node.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import duckdb
import pyarrow as pa

from esante.datahub.pipeline.errors import PipelineError

EngineName = Literal["duckdb", "spark"]


@dataclass(frozen=True)
class Dialect:
    name: str

    def ident(self, name: str) -> str:
        if self.name == "spark":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def sha256_hex(self, blob_sql: str) -> str:
        return f"sha256({blob_sql})" if self.name == "duckdb" else f"sha2({blob_sql}, 256)"

    def utf8(self, text_sql: str) -> str:
        return f"encode({text_sql})" if self.name == "duckdb" else f"encode({text_sql}, 'UTF-8')"

    def hex_prefix_int(self, hex_sql: str, digits: int = 8) -> str:
        """The first ``digits`` hexadecimal digits of a hex string, as an integer."""
        if self.name == "duckdb":
            return f"CAST('0x' || substr({hex_sql}, 1, {digits}) AS BIGINT)"
        return f"CAST(conv(substr({hex_sql}, 1, {digits}), 16, 10) AS BIGINT)"

    def add_days(self, date_sql: str, days_sql: str) -> str:
        """A date moved by a number of days (a timestamp becomes its date)."""
        if self.name == "duckdb":
            return f"CAST({date_sql} AS DATE) + CAST({days_sql} AS INTEGER)"
        return f"date_add(CAST({date_sql} AS DATE), CAST({days_sql} AS INT))"

    def hmac_sha256_hex(self, key: bytes, value_sql: str) -> str:
        """HMAC-SHA-256 (RFC 2104) in plain SQL: sha256(K^opad || sha256(K^ipad || m))."""
        block = key.ljust(64, b"\0") if len(key) <= 64 else key
        ipad = bytes(b ^ 0x36 for b in block).hex()
        opad = bytes(b ^ 0x5C for b in block).hex()
        inner = self.sha256_hex(f"unhex('{ipad}') || {self.utf8(f'CAST({value_sql} AS STRING)')}")
        return self.sha256_hex(f"unhex('{opad}') || unhex({inner})")


class Engine(Protocol):
    dialect: Dialect

    def register_parquet(self, name: str, path: Path, columns: list[str]) -> None: ...
    def register_arrow(self, name: str, table: pa.Table) -> None: ...
    def query(self, sql: str) -> pa.Table: ...
    def write_parquet(self, sql: str, path: Path) -> int: ...
    def close(self) -> None: ...


def _check_columns(path: Path, present: list[str], requested: list[str]) -> None:
    missing = [c for c in requested if c not in present]
    if missing:
        raise PipelineError(
            f"colonne(s) absente(s) de {path.name} : {', '.join(missing)} (colonnes présentes : "
            f"{', '.join(present[:30])})",
            f"column(s) missing from {path.name}: {', '.join(missing)}",
            code="unknown-column",
        )


def _parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    if not path.exists():
        raise PipelineError(f"fichier introuvable : {path}", f"file not found: {path}", code="file-not-found")
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise PipelineError(f"aucun fichier Parquet dans {path}", f"no Parquet file in {path}")
    try:
        return list(pq.read_schema(files[0]).names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise PipelineError(
            f"fichier Parquet illisible : {files[0].name} ({exc})",
            f"malformed Parquet file: {files[0].name}",
            code="malformed-parquet",
        ) from None


def _parquet_glob(path: Path) -> str:
    return str(path / "*.parquet") if path.is_dir() else str(path)


def load_arrow(con: duckdb.DuckDBPyConnection, name: str, arrow_in: pa.Table) -> None:  # noqa: ARG001
    """An Arrow table copied into a DuckDB temporary table.

    Through DuckDB's replacement scan of the local variable: ``register`` would import pandas
    (seconds on a loaded machine) for nothing.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM arrow_in")


class DuckDBEngine:
    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.dialect = Dialect("duckdb")
        self.con = duckdb.connect(":memory:")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.con.execute("SET memory_limit = ?", [memory_limit])
        self.con.execute("SET preserve_insertion_order = false")

    def register_parquet(self, name: str, path: Path, columns: list[str]) -> None:
        _check_columns(path, _parquet_columns(path), columns)
        cols = ", ".join(f'"{c}"' for c in columns)
        try:
            src = _parquet_glob(path).replace("'", "''")
            self.con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT {cols} FROM read_parquet('{src}')")
            self.con.execute(f"SELECT * FROM {name} LIMIT 0")
        except duckdb.Error as exc:
            raise PipelineError(
                f"fichier Parquet illisible : {path.name} ({exc})", code="malformed-parquet"
            ) from None

    def register_arrow(self, name: str, table: pa.Table) -> None:
        load_arrow(self.con, name, table)

    def query(self, sql: str) -> pa.Table:
        try:
            return self.con.sql(sql).to_arrow_table()
        except duckdb.InvalidInputException as exc:
            raise PipelineError(f"données illisibles : {exc}", code="malformed-input") from None

    def materialise(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def define_view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def write_parquet(self, sql: str, path: Path) -> int:
        target = str(path).replace("'", "''")
        self.con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
        return int(self.con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchall()[0][0])

    def close(self) -> None:
        self.con.close()


class SparkEngine:
    """Spark through pyspark: local mode by default, a cluster with ``master='spark://...'``."""

    def __init__(self, *, master: str = "local[2]") -> None:
        from pyspark.sql import SparkSession

        self.dialect = Dialect("spark")
        self.spark: Any = (
            SparkSession.builder.master(master)
            .appName("esante-datahub")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.ansi.enabled", "false")
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")

    def register_parquet(self, name: str, path: Path, columns: list[str]) -> None:
        _check_columns(path, _parquet_columns(path), columns)
        self.spark.read.parquet(str(path)).select(*columns).createOrReplaceTempView(name)

    def register_arrow(self, name: str, table: pa.Table) -> None:
        self.spark.createDataFrame(table).createOrReplaceTempView(name)

    def query(self, sql: str) -> pa.Table:
        return self.spark.sql(sql).toArrow()

    def materialise(self, name: str, sql: str) -> None:
        self.spark.sql(sql).cache().createOrReplaceTempView(name)

    def define_view(self, name: str, sql: str) -> None:
        self.spark.sql(sql).createOrReplaceTempView(name)

    def write_parquet(self, sql: str, path: Path) -> int:
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=".spark-"))
        try:
            df = self.spark.sql(sql)
            df.coalesce(1).write.mode("overwrite").option("compression", "zstd").parquet(str(tmp / "out"))
            parts = sorted((tmp / "out").glob("part-*.parquet"))
            if len(parts) != 1:
                raise PipelineError(f"Spark a écrit {len(parts)} fichiers au lieu d'un", code="spark-output")
            parts[0].rename(path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)

    def close(self) -> None:
        # The session is shared by the process (getOrCreate); stopping it costs the next run ~10 s.
        for name in [t.name for t in self.spark.catalog.listTables() if t.isTemporary]:
            self.spark.catalog.dropTempView(name)


def open_engine(name: EngineName) -> DuckDBEngine | SparkEngine:
    if name == "duckdb":
        # A cap on DuckDB's memory for very large extracts (beyond it, DuckDB spills to disk).
        return DuckDBEngine(memory_limit=os.environ.get("ESANTE_DATAHUB_DUCKDB_MEMORY_LIMIT") or None)
    if name == "spark":
        return SparkEngine()
    raise PipelineError(f"moteur inconnu : {name} (duckdb ou spark)", f"unknown engine: {name}")
