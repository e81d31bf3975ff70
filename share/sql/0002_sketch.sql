-- Functions on the serialised sketch of request_rollup_1m (DESIGN 4), the
-- form written by dm::stats::Sketch::serialize() (lib/dm/stats/sketch.hpp):
-- 12-byte entries, each a big-endian int4 key and a big-endian int8 count > 0,
-- sorted by key with unique keys, no header; key -2147483648 holds the count of
-- zeros; the empty bytea is the empty sketch. A NULL sketch reads as empty.
--
-- Plain SQL, so they run wherever the schema does (no extension to install)
-- and dm.sketch_entries is inlined into the queries that use it.

-- Raises the error for a sketch whose length is not a whole number of
-- entries. IMMUTABLE (it always raises) so that the IMMUTABLE functions below
-- that call it stay inlinable; the planner reaches it only for such a length.
CREATE FUNCTION dm.sketch_malformed(sketch bytea) RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
  RAISE EXCEPTION 'sketch of % bytes is not a whole number of 12-byte entries', octet_length(sketch)
    USING ERRCODE = 'invalid_binary_representation';
END
$$;

-- The entries of a sketch, in stored order. A truncated sketch raises
-- (dm.sketch_malformed) rather than losing its last entry; order and
-- uniqueness are not checked: dm.sketch_merge sums per key and sorts, so it
-- normalises any order.
CREATE FUNCTION dm.sketch_entries(sketch bytea, OUT key integer, OUT count bigint)
RETURNS SETOF record
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT
    -- The first byte of each field is signed (two's complement), the rest not;
    -- the products stay within int4 and int8, so no shift can overflow.
    (get_byte(sketch, o) - CASE WHEN get_byte(sketch, o) >= 128 THEN 256 ELSE 0 END) * 16777216
      + get_byte(sketch, o + 1) * 65536 + get_byte(sketch, o + 2) * 256 + get_byte(sketch, o + 3),
    (get_byte(sketch, o + 4) - CASE WHEN get_byte(sketch, o + 4) >= 128 THEN 256 ELSE 0 END)::bigint
        * 72057594037927936
      + get_byte(sketch, o + 5)::bigint * 281474976710656
      + get_byte(sketch, o + 6)::bigint * 1099511627776
      + get_byte(sketch, o + 7)::bigint * 4294967296
      + get_byte(sketch, o + 8)::bigint * 16777216
      + get_byte(sketch, o + 9) * 65536 + get_byte(sketch, o + 10) * 256 + get_byte(sketch, o + 11)
  FROM generate_series(0,
                       CASE WHEN octet_length(sketch) % 12 <> 0 THEN dm.sketch_malformed(sketch)
                            ELSE octet_length(sketch) END - 12,
                       12) AS o
$$;

-- The sum of two sketches, in the canonical form (sorted, one entry per key).
-- Used by the ingest upsert:
--   INSERT ... ON CONFLICT (bucket, service, endpoint)
--   DO UPDATE SET sketch = dm.sketch_merge(t.sketch, excluded.sketch)
-- A count beyond int8 raises 'bigint out of range' rather than wrapping.
CREATE FUNCTION dm.sketch_merge(a bytea, b bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT coalesce(string_agg(int4send(key) || int8send(total), ''::bytea ORDER BY key), ''::bytea)
  FROM (
    SELECT key, sum(count)::bigint AS total
    FROM (SELECT * FROM dm.sketch_entries(a) UNION ALL SELECT * FROM dm.sketch_entries(b)) AS e
    GROUP BY key
  ) AS s
$$;

-- The sum of many sketches, decoded and re-encoded once: use this (with
-- array_agg) to merge thousands of rows, where dm.sketch_merge_agg re-encodes
-- its growing state for every row.
CREATE FUNCTION dm.sketch_merge_all(sketches bytea[]) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT coalesce(string_agg(int4send(key) || int8send(total), ''::bytea ORDER BY key), ''::bytea)
  FROM (
    SELECT e.key, sum(e.count)::bigint AS total
    FROM unnest(sketches) AS s(sketch), dm.sketch_entries(s.sketch) AS e
    GROUP BY e.key
  ) AS t
$$;

-- Aggregate form of dm.sketch_merge: the empty sketch over no rows, NULL rows
-- ignored. Each row costs a decode and re-encode of the state, so prefer
-- dm.sketch_merge_all(array_agg(sketch)) over thousands of rows.
CREATE AGGREGATE dm.sketch_merge_agg(bytea) (
  SFUNC = dm.sketch_merge,
  STYPE = bytea,
  INITCOND = '',
  COMBINEFUNC = dm.sketch_merge,
  PARALLEL = SAFE
);

-- How many values a sketch counts (0 for the empty or NULL sketch).
CREATE FUNCTION dm.sketch_count(sketch bytea) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT coalesce(sum(count), 0)::bigint FROM dm.sketch_entries(sketch)
$$;
