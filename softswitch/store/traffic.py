"""Traffic by the hour, as an exchange measures it: the calls offered and what became of them,
the traffic carried in erlangs, and what overload control refused (`cdrs`, `refusals`)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from .errors import InvalidValueError

HOUR = 3600
MAX_HOURS = 24 * 366  # one report covers at most a year, hour by hour
# An answered call counts towards the hours it was up in; a record is looked for this long
# before the report's first hour, so that the index on the start time can be used.
LONGEST_CALL = 24 * HOUR


@dataclass(frozen=True, slots=True)
class TrafficHour:
    """One hour: `start` in epoch seconds, a whole hour."""

    start: float
    calls: int  # attempts with a call record, started in the hour
    answered: int  # by the called line, a far exchange, or an operator
    busy: int
    no_answer: int
    failed: int  # no route, refused by the far end, or failed on the way
    abandoned: int  # the caller gave up: cancelled, or left an operator queue
    refused: int  # new calls refused with 503 in overload: no record of their own
    registrations_refused: int
    erlangs: float  # traffic carried: the seconds answered calls were up in the hour / 3600

    @property
    def offered(self) -> int:
        return self.calls + self.refused


async def record_refusals(
    pool: asyncpg.Pool,
    node: str,
    started_at: float,
    ended_at: float,
    invites: int,
    registrations: int,
) -> None:
    """Requests `node` refused in overload between `started_at` and `ended_at`."""
    await pool.execute(
        """
        INSERT INTO refusals (node, started_at, ended_at, invites, registrations)
        VALUES ($1, to_timestamp($2::float8), to_timestamp($3::float8), $4, $5)
        ON CONFLICT (node, started_at) DO UPDATE
            SET ended_at = greatest(refusals.ended_at, EXCLUDED.ended_at),
                invites = refusals.invites + EXCLUDED.invites,
                registrations = refusals.registrations + EXCLUDED.registrations
        """,
        node,
        started_at,
        ended_at,
        invites,
        registrations,
    )


# $1 and $2: the first hour and the one after the last, counted from the epoch in hours that
# start $3 seconds after UTC's (the local zone's offset within an hour: India's hours start at
# half past UTC's).
_TRAFFIC = f"""
WITH hours AS (
    SELECT k * {HOUR} + $3::bigint AS start FROM generate_series($1::bigint, $2::bigint - 1) AS k
), attempts AS (
    SELECT floor((extract(epoch FROM started_at) - $3::bigint) / {HOUR})::bigint * {HOUR}
               + $3::bigint AS start,
           count(*) AS calls,
           count(*) FILTER (WHERE answered_at IS NOT NULL) AS answered,
           count(*) FILTER (WHERE disposition = 'busy') AS busy,
           count(*) FILTER (WHERE disposition = 'no answer') AS no_answer,
           count(*) FILTER (WHERE disposition IN ('rejected', 'failed')) AS failed,
           count(*) FILTER (WHERE disposition IN ('cancelled', 'abandoned in queue'))
               AS abandoned
    FROM cdrs
    WHERE started_at >= to_timestamp($1::bigint * {HOUR} + $3::bigint)
      AND started_at < to_timestamp($2::bigint * {HOUR} + $3::bigint)
    GROUP BY 1
), up AS (  -- each answered call's time up, cut to the report's hours
    SELECT greatest(extract(epoch FROM answered_at), $1::bigint * {HOUR} + $3::bigint)
               AS answered,
           least(extract(epoch FROM ended_at), $2::bigint * {HOUR} + $3::bigint) AS ended
    FROM cdrs
    WHERE answered_at IS NOT NULL AND ended_at IS NOT NULL
      AND started_at >= to_timestamp($1::bigint * {HOUR} + $3::bigint - {LONGEST_CALL})
      AND started_at < to_timestamp($2::bigint * {HOUR} + $3::bigint)
), carried AS (
    SELECT k * {HOUR} + $3::bigint AS start,
           sum(least(up.ended, (k + 1) * {HOUR} + $3::bigint)
               - greatest(up.answered, k * {HOUR} + $3::bigint)) / {HOUR} AS erlangs
    FROM up, generate_series(
        floor((up.answered - $3::bigint) / {HOUR})::bigint,
        ceil((up.ended - $3::bigint) / {HOUR})::bigint - 1
    ) AS k
    WHERE up.ended > up.answered
    GROUP BY 1
), refused AS (
    SELECT floor((extract(epoch FROM started_at) - $3::bigint) / {HOUR})::bigint * {HOUR}
               + $3::bigint AS start,
           sum(invites) AS invites, sum(registrations) AS registrations
    FROM refusals
    WHERE started_at >= to_timestamp($1::bigint * {HOUR} + $3::bigint)
      AND started_at < to_timestamp($2::bigint * {HOUR} + $3::bigint)
    GROUP BY 1
)
SELECT hours.start::float8 AS start,
       coalesce(a.calls, 0)::int AS calls, coalesce(a.answered, 0)::int AS answered,
       coalesce(a.busy, 0)::int AS busy, coalesce(a.no_answer, 0)::int AS no_answer,
       coalesce(a.failed, 0)::int AS failed, coalesce(a.abandoned, 0)::int AS abandoned,
       coalesce(r.invites, 0)::int AS refused,
       coalesce(r.registrations, 0)::int AS registrations_refused,
       coalesce(c.erlangs, 0)::float8 AS erlangs
FROM hours
LEFT JOIN attempts a USING (start)
LEFT JOIN carried c USING (start)
LEFT JOIN refused r USING (start)
ORDER BY hours.start
"""


async def traffic(
    pool: asyncpg.Pool, since: float, until: float, utc_offset: int = 0
) -> list[TrafficHour]:
    """Every hour from the one `since` falls in to the one before `until` (epoch seconds;
    an `until` inside an hour includes that hour), the hours without calls too. The hours are
    those of a clock `utc_offset` seconds ahead of UTC: a zone's hours start on the half hour
    of UTC's where its offset has a half hour in it."""
    shift = utc_offset % HOUR
    first = int((since - shift) // HOUR)
    end = -int(-(until - shift) // HOUR)  # the hour `until` falls in, unless it is a whole hour
    if end <= first:
        raise InvalidValueError("the report must end after it starts")
    if end - first > MAX_HOURS:
        raise InvalidValueError(f"a report covers at most {MAX_HOURS // 24} days")
    rows = await pool.fetch(_TRAFFIC, first, end, shift)
    return [TrafficHour(**dict(row.items())) for row in rows]
