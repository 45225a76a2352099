"""unique among books in the catalogue: withdrawn books free their title and ISBN

Revision ID: 0003
Revises: 0002

"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

IN_CATALOGUE = sa.text("withdrawn_at IS NULL")


def upgrade():
    with op.batch_alter_table("books", schema=None) as batch_op:
        batch_op.drop_constraint("uq_books_isbn", type_="unique")
        batch_op.drop_constraint("uq_books_title_author", type_="unique")
    for name, columns in (
        ("uq_books_isbn", ["isbn"]),
        ("uq_books_title_author", ["title", "author"]),
    ):
        op.create_index(
            name,
            "books",
            columns,
            unique=True,
            sqlite_where=IN_CATALOGUE,
            postgresql_where=IN_CATALOGUE,
        )


def downgrade():
    # Fails if two books now share a title and author or an ISBN (one of them withdrawn).
    op.drop_index("uq_books_title_author", table_name="books")
    op.drop_index("uq_books_isbn", table_name="books")
    with op.batch_alter_table("books", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_books_title_author", ["title", "author"])
        batch_op.create_unique_constraint("uq_books_isbn", ["isbn"])
