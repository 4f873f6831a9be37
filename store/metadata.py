"""The one MetaData every table module declares on, and the id type they share.

Its own module so that store/schema.py and store/billing_schema.py both build on it without
importing each other; store/schema.py then imports the billing tables so that its
``metadata`` is the whole schema (what the migrations build and a test compares).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# A 64-bit integer primary key that is SQLite's rowid there (so autoincrement is cheap).
BigId = BigInteger().with_variant(Integer(), "sqlite")
