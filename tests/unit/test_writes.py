"""One statement from many CTE parts (ioc/db/writes.py): placeholders and arguments line up."""

from __future__ import annotations

import pytest

from ioc.db.writes import Writes


def test_each_part_keeps_its_own_placeholders_after_the_previous_parts_arguments() -> None:
    writes = Writes()
    writes.add("a AS (INSERT INTO a SELECT * FROM unnest($1::int[], $2::text[]))", [1], ["x"])
    writes.add("b AS (INSERT INTO b VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12))", *range(12))
    writes.add("c AS (INSERT INTO c VALUES ($2, $1))", "second", "first")

    assert writes.sql == (
        "WITH a AS (INSERT INTO a SELECT * FROM unnest($1::int[], $2::text[])),\n"
        "b AS (INSERT INTO b VALUES ($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)),\n"
        "c AS (INSERT INTO c VALUES ($16, $15))\n"
        "SELECT 1"
    )
    assert writes._args == [[1], ["x"], *range(12), "second", "first"]


def test_an_empty_statement_is_false_so_callers_can_skip_it() -> None:
    writes = Writes()
    assert not writes
    writes.add("a AS (SELECT $1)", 1)
    assert writes


@pytest.mark.parametrize(
    ("ctes", "args"),
    [
        pytest.param("a AS (SELECT $1, $2)", (1,), id="one placeholder too many"),
        pytest.param("a AS (SELECT $1)", (1, 2), id="one argument too many"),
        pytest.param("a AS (SELECT $2)", (1, 2), id="a gap"),
    ],
)
def test_a_part_whose_placeholders_do_not_match_its_arguments_is_refused(
    ctes: str, args: tuple[int, ...]
) -> None:
    """Accepted, it would shift every later part onto the wrong arguments."""
    with pytest.raises(ValueError, match=r"must use \$1"):
        Writes().add(ctes, *args)
