"""The Parquet lake: a store's measurements and verdicts as Parquet files (pyarrow), in
the hive layout, partitioned by the measurement's UTC day and its country, so that
DuckDB, Spark, Trino or BigQuery read them in place (docs/lake.md):

    DIR/measurements/date=2022-03-14/cc=RU/part-0.parquet
    DIR/verdicts/date=2022-03-14/cc=RU/part-0.parquet

Each file holds the store's own columns (store.database, the one place they are
declared); `date` and `cc` are in the paths only (`cc` is ZZ where the country is not
known). An export replaces the partitions it writes, so exporting again gives the same
lake. `open_lake` reads a lake through DuckDB views with the store's table names, so
every command that reads a store reads a lake too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from censorscope.errors import StoreError
from censorscope.store.database import COLUMNS, Store
from censorscope.store.sql import literal

TABLES = ("measurements", "verdicts")
TIME = {"measurements": "measurement_start_time", "verdicts": "time"}
COUNTRY = {"measurements": "probe_cc", "verdicts": "country"}
PARTITIONS = pa.schema([("date", pa.string()), ("cc", pa.string())])
BATCH = 65_536  # rows per Arrow batch read from the store: memory stays bounded
UNKNOWN_COUNTRY = "ZZ"


def export(
    store: Store, out: str | Path, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Write the store's measurements and verdicts under `out` (what waits in its buffer
    written first); rows written per table."""
    store.flush()
    written: dict[str, int] = {}
    for table in TABLES:
        cols = ", ".join(name for name, _ in COLUMNS[table])
        query = (
            f"SELECT {cols}, strftime({TIME[table]}, '%Y-%m-%d') AS date,"
            f" coalesce(nullif(upper({COUNTRY[table]}), ''), '{UNKNOWN_COUNTRY}') AS cc"
            f" FROM {table}"
        )
        reader = store.db.sql(query).to_arrow_reader(BATCH)
        count = _Counted(reader, table, progress)
        try:
            ds.write_dataset(
                ds.Scanner.from_batches(count, schema=reader.schema),
                Path(out) / table,
                format="parquet",
                partitioning=ds.partitioning(PARTITIONS, flavor="hive"),
                existing_data_behavior="delete_matching",
                basename_template="part-{i}.parquet",
                file_options=ds.ParquetFileFormat().make_write_options(compression="zstd"),
                max_rows_per_group=BATCH,
            )
        except (OSError, pa.ArrowException) as exc:
            raise StoreError(f"{out}: cannot write the lake: {exc}") from exc
        written[table] = count.rows
    return written


class _Counted:
    """The reader's batches, counted as they go by (for the progress line)."""

    def __init__(
        self,
        reader: pa.RecordBatchReader,
        table: str,
        progress: Callable[[str, int], None] | None,
    ) -> None:
        self.reader, self.table, self.progress, self.rows = reader, table, progress, 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self.reader:
            self.rows += batch.num_rows
            if self.progress:
                self.progress(self.table, self.rows)
            yield batch


def not_a_lake(lake: str | Path, tables: tuple[str, ...] = TABLES) -> StoreError:
    """What is said of a folder without the lake's `tables` in it, by either engine."""
    folders = " and ".join(f"{t}/" for t in tables) + (" folders" if len(tables) > 1 else " folder")
    return StoreError(
        f"{lake}: not a lake (no {folders} in it): "
        "write one with `censorscope lake export --db F --out DIR`"
    )


def open_lake(lake: str | Path) -> Store:
    """A read-only store over a lake: DuckDB views with the store's table names."""
    root = Path(lake)
    if not all((root / t).is_dir() for t in TABLES):
        raise not_a_lake(lake)
    db = duckdb.connect(":memory:")
    try:
        for table in TABLES:
            files = literal(str(root / table / "**" / "*.parquet"))
            db.execute(
                f"CREATE VIEW {table} AS SELECT * EXCLUDE (date, cc) FROM read_parquet("
                f"{files}, hive_partitioning = true, union_by_name = true)"
            )
    except duckdb.Error as exc:
        db.close()
        why = str(exc).split("\n", 1)[0]  # DuckDB's reason, not the SQL it quotes after
        raise StoreError(
            f"{lake}: cannot read the lake: {why} (write it again with `censorscope lake"
            " export --db F --out DIR`)"
        ) from exc
    return Store(":memory:", connection=db)  # closing the store closes the views
