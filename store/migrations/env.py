"""Alembic environment: runs on the connection handed in by store.db.migrate, or makes its own
(sync) connection for `alembic` command-line use during development."""
from alembic import context
from sqlalchemy import create_engine

from store.db import include_object, schema_metadata

config = context.config
target_metadata = schema_metadata()


def run(connection) -> None:  # noqa: ANN001
    context.configure(connection=connection, target_metadata=target_metadata,
                      include_object=include_object,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = config.get_main_option("sqlalchemy.url").replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")
    with create_engine(url).connect() as conn:
        run(conn)
        conn.commit()
