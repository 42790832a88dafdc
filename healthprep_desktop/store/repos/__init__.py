"""Typed repositories over tenant-scoped tables; each is built on a ``ScopedTable`` only."""
