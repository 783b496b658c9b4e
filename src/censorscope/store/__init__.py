"""The measurement store (DuckDB) and the importers of other tools' data."""

from censorscope.store.database import Store

__all__ = ["Store"]
