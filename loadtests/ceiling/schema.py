"""The ceiling app's tables and seed data, as SQL run by ``ceilings.py`` (no Django migrations:
the database is a scratch one, created and dropped around each measurement)."""

from __future__ import annotations

#: rows of ``ceiling_row`` (the one-row read picks one of them by primary key)
ROWS = 100_000
#: rows of ``ceiling_counter`` (the write updates one of them: few collisions, like repayments
#: spread over many loans)
COUNTERS = 1_000

CREATE_TABLES = """
CREATE TABLE ceiling_row (
    id bigint PRIMARY KEY,
    borrower_name varchar(100) NOT NULL,
    district varchar(20) NOT NULL,
    principal numeric(14, 2) NOT NULL,
    opened_on date NOT NULL
);
CREATE TABLE ceiling_counter (
    id bigint PRIMARY KEY,
    value bigint NOT NULL,
    amount_total numeric(14, 2) NOT NULL
);
CREATE TABLE ceiling_event (
    id bigserial PRIMARY KEY,
    counter_id bigint NOT NULL REFERENCES ceiling_counter (id),
    amount numeric(14, 2) NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX ceiling_event_counter ON ceiling_event (counter_id);
"""

#: (statement, parameters): bulk, inside the server (generate_series), no round trip per row
SEED: list[tuple[str, tuple[int, ...]]] = [
    (
        """INSERT INTO ceiling_row (id, borrower_name, district, principal, opened_on)
           SELECT n, 'Borrower ' || n, (ARRAY['berea', 'leribe', 'maseru', 'mafeteng'])[1 + mod(n, 4)],
                  (1000 + mod(n, 20000))::numeric(14, 2), DATE '2026-01-01' + mod(n, 300)
           FROM generate_series(1, %s) AS n""",
        (ROWS,),
    ),
    (
        "INSERT INTO ceiling_counter (id, value, amount_total) SELECT n, 0, 0 FROM generate_series(1, %s) AS n",
        (COUNTERS,),
    ),
]
