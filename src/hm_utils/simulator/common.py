"""Shared pieces of the simulator: options, the time window, seeded generators and Arrow builders.

Everything is vectorised: ids, strings and nested values are built with numpy and pyarrow
compute, never row by row. Timestamps are int64 microseconds since the epoch (UTC).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hm_utils.system_schema import arrow_schema

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_HOUR = 3600 * US_PER_SECOND
US_PER_DAY = 24 * US_PER_HOUR
TIMESTAMP = pa.timestamp("us", tz="UTC")
STRING = pa.string()
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class SimulationOptions:
    """What to simulate: account size, window, seed, volume and injected problems.

    `end` is the account's "now" (naive UTC): every table holds what it would show at that instant,
    i.e. events up to `end` minus the table's latency (see `latency`). None means the start of the
    current hour (`hm simulate` and the simulate step pass `clock.now`'s hour).
    The window starts at midnight `days - 1` days before `end`'s date. `scale` sets rows per day
    independent of the workspace count: at 1.0 one day holds about 500,000 billing.usage rows,
    50,000 job_run_timeline rows, 1,000,000 access.audit rows and 100,000 query.history rows.
    """

    workspaces: int = 8
    days: int = 90
    end: datetime | None = None
    seed: int = 42
    scale: float = 0.002
    defects: bool = True
    incidents: bool = True

    def __post_init__(self) -> None:
        if self.workspaces < 1 or self.days < 1 or self.scale <= 0:
            raise ValueError("workspaces and days must be >= 1 and scale > 0")


@dataclass(frozen=True)
class SimulationSummary:
    """Rows written per table key (by this run), incidents recorded, wall time and whether the run
    appended to an existing account (`appended_after` = the previous end) or wrote it whole."""

    rows: dict[str, int] = field(default_factory=dict)
    incidents: int = 0
    seconds: float = 0.0
    appended_after: datetime | None = None


# Days generated before the previous end when appending: longer than the latest a row can arrive
# (billing corrections, see billing.py), so every row that becomes visible after it is regenerated.
APPEND_LEAD_DAYS = 14


@dataclass(frozen=True)
class Window:
    """The simulated period: days from `first` up to the instant `end_us` (the account's "now").

    In append mode `after_us` is the previous end: only rows that became visible after it are kept,
    and generation starts APPEND_LEAD_DAYS before it.
    """

    first: date
    end_us: int
    after_us: int | None = None

    @classmethod
    def from_options(
        cls, options: SimulationOptions, first: date | None = None, after: datetime | None = None
    ) -> Window:
        end = resolve_end(options)
        first = first or end.date() - timedelta(days=options.days - 1)
        return cls(first=first, end_us=to_us(end), after_us=None if after is None else to_us(after))

    @property
    def first_day(self) -> int:
        return (self.first - _EPOCH).days

    @property
    def last_day(self) -> int:
        """The day of `end_us` (possibly partly simulated)."""
        return self.end_us // US_PER_DAY

    @property
    def last(self) -> date:
        return _EPOCH + timedelta(days=self.last_day)

    @property
    def start_us(self) -> int:
        return self.first_day * US_PER_DAY

    @property
    def generated_first_day(self) -> int:
        """First day whose activity is generated (the window's, or the append lead's)."""
        if self.after_us is None:
            return self.first_day
        return max(self.first_day, self.after_us // US_PER_DAY - APPEND_LEAD_DAYS)

    def days(self, lead: int = 0) -> range:
        """Epoch-day numbers generated, starting `lead` days early (for carry-over)."""
        return range(self.generated_first_day - lead, self.last_day + 1)


def resolve_end(options: SimulationOptions) -> datetime:
    """The account's "now" to the minute: `options.end`, else the start of the current UTC hour."""
    if options.end is None:
        return datetime.now(timezone.utc).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    return options.end.replace(second=0, microsecond=0)


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of a naive UTC datetime."""
    return int((moment - datetime(1970, 1, 1)).total_seconds()) * US_PER_SECOND


def stable_int(*parts: object) -> int:
    """A 63-bit integer that depends only on `parts` (stable across processes, unlike hash())."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def day_rng(options: SimulationOptions, day: int, domain: str) -> np.random.Generator:
    """Generator for one (day, domain): a day's data depends only on seed, size and that day."""
    return np.random.default_rng(
        [options.seed, options.workspaces, stable_int(options.scale), day + 1_000_000, stable_int(domain)]
    )


def fixed_rng(options: SimulationOptions, domain: str) -> np.random.Generator:
    """Generator for things that do not belong to a day (entities, prices)."""
    return day_rng(options, -1, domain)


def weekday_of(day: np.ndarray | int) -> np.ndarray | int:
    """0 = Monday … 6 = Sunday for epoch-day numbers (1970-01-01 was a Thursday)."""
    return (np.asarray(day) + 3) % 7 if isinstance(day, np.ndarray) else (day + 3) % 7


def activity_factor(day: int) -> float:
    """Weekly seasonality (weekends quieter) times gentle growth (linear 2024 → 2028)."""
    growth = 0.7 + 0.6 * np.clip((day - 19723) / 1461.0, 0.0, 1.0)  # 19723 = 2024-01-01
    return float(growth * (0.45 if weekday_of(day) >= 5 else 1.0))


def scaled_count(rng: np.random.Generator, expected: float) -> int:
    """A Poisson count with mean `expected` (at least 0)."""
    return int(rng.poisson(max(expected, 0.0)))


# ---------------------------------------------------------------- Arrow builders

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def fixed_width_strings(chars: np.ndarray) -> pa.Array:
    """A string array from an (n, width) uint8 matrix of ASCII codes, without Python loops."""
    n, width = chars.shape
    offsets = np.arange(n + 1, dtype=np.int32) * width
    data = np.ascontiguousarray(chars, dtype=np.uint8)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def uuid_strings(rng: np.random.Generator, n: int) -> pa.Array:
    """n random UUID-looking strings (8-4-4-4-12 lowercase hex)."""
    digits = _HEX[rng.integers(0, 16, size=(n, 32), dtype=np.uint8)]
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    for target, source in ((0, 0), (9, 8), (14, 12), (19, 16), (24, 20)):
        span = {0: 8, 9: 4, 14: 4, 19: 4, 24: 12}[target]
        chars[:, target : target + span] = digits[:, source : source + span]
    chars[:, 14] = ord("4")
    return fixed_width_strings(chars)


def hex_strings(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    """n random lowercase hex strings of `width` characters."""
    return fixed_width_strings(_HEX[rng.integers(0, 16, size=(n, width), dtype=np.uint8)])


def int_strings(values: np.ndarray) -> pa.Array:
    """Decimal text of integers (ids are numeric-looking strings in system tables)."""
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def concat_strings(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and literals."""
    return pc.binary_join_element_wise(*parts, "")


def take_strings(options: list[str] | pa.Array, index: np.ndarray) -> pa.Array:
    """options[index] as a string array (None entries stay null)."""
    source = options if isinstance(options, pa.Array) else pa.array(options, pa.string())
    return source.take(pa.array(np.asarray(index, dtype=np.int64)))


def timestamps(micros: np.ndarray) -> pa.Array:
    """A UTC timestamp array from int64 microseconds."""
    return pa.array(np.asarray(micros, dtype=np.int64), type=TIMESTAMP)


def dates(micros_or_days: np.ndarray, *, from_micros: bool = True) -> pa.Array:
    """A date32 array from microsecond timestamps (or from epoch-day numbers)."""
    values = np.asarray(micros_or_days, dtype=np.int64)
    days = values // US_PER_DAY if from_micros else values
    return pa.array(days.astype(np.int32), type=pa.date32())


def decimals(units: np.ndarray, unit_scale: int, arrow_type: pa.DataType) -> pa.Array:
    """Exact decimals from integer multiples of 10**-unit_scale (e.g. micro-DBUs, scale 6)."""
    values = np.asarray(units, dtype=np.int64)
    words = np.empty((values.size, 2), dtype=np.int64)
    words[:, 0] = values
    words[:, 1] = values >> 63  # sign extension to 128 bits
    raw = pa.Array.from_buffers(pa.decimal128(38, unit_scale), values.size, [None, pa.py_buffer(words.tobytes())])
    return raw.cast(arrow_type)


def map_array(keys: list[str], values: list[pa.Array], value_type: pa.DataType = STRING) -> pa.Array:
    """A map array with the same `keys` on every row, values given per key (nulls allowed)."""
    n = len(values[0]) if values else 0
    width = len(keys)
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * width)
    if width == 0:
        return pa.MapArray.from_arrays(offsets, pa.array([], pa.string()), pa.array([], value_type))
    order = (np.arange(n)[:, None] + np.arange(width)[None, :] * n).ravel()
    items = pa.concat_arrays([v.cast(value_type) for v in values]).take(pa.array(order))
    key_column = pa.array(np.tile(np.array(keys, dtype=object), n), pa.string())
    return pa.MapArray.from_arrays(offsets, key_column, items)


def empty_maps(n: int) -> pa.Array:
    """n empty string→string maps."""
    return pa.MapArray.from_arrays(
        pa.array(np.zeros(n + 1, np.int32)), pa.array([], pa.string()), pa.array([], pa.string())
    )


def dict_catalog(entries: list[dict[str, str] | None], value_type: pa.DataType = STRING) -> pa.Array:
    """A small map array holding one dict per entry, to be `take`n by index."""
    return pa.array([None if e is None else list(e.items()) for e in entries], pa.map_(pa.string(), value_type))


def build_table(table: str, n: int, columns: dict[str, object]) -> pa.Table:
    """A table with the reference schema of `table`; `columns` maps names or dotted struct paths
    (e.g. "usage_metadata.job_id") to arrays; anything not given is null."""
    schema = arrow_schema(table)
    arrays = [_build_column(f.name, f.type, n, columns) for f in schema]
    unknown = {k for k in columns if not k.endswith(".__null__")} - _paths(schema)
    if unknown:
        raise KeyError(f"{table}: unknown columns {sorted(unknown)}")
    return pa.Table.from_arrays(arrays, schema=schema)


def _paths(schema: pa.Schema) -> set[str]:
    paths: set[str] = set()

    def walk(prefix: str, arrow_type: pa.DataType) -> None:
        paths.add(prefix)
        if pa.types.is_struct(arrow_type):
            for i in range(arrow_type.num_fields):
                walk(f"{prefix}.{arrow_type.field(i).name}", arrow_type.field(i).type)

    for f in schema:
        walk(f.name, f.type)
    return paths


def _build_column(path: str, arrow_type: pa.DataType, n: int, columns: dict[str, object]) -> pa.Array:
    if path in columns:
        return _to_arrow(columns[path], arrow_type, n, path)
    if pa.types.is_struct(arrow_type):
        prefix = path + "."
        if not any(key.startswith(prefix) for key in columns):
            return pa.nulls(n, arrow_type)
        children = [
            _build_column(prefix + arrow_type.field(i).name, arrow_type.field(i).type, n, columns)
            for i in range(arrow_type.num_fields)
        ]
        mask = columns.get(path + ".__null__")
        return pa.StructArray.from_arrays(
            children,
            fields=list(arrow_type),
            mask=None if mask is None else pa.array(np.asarray(mask, dtype=bool)),
        )
    return pa.nulls(n, arrow_type)


def _to_arrow(value: object, arrow_type: pa.DataType, n: int, path: str) -> pa.Array:
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if isinstance(value, pa.Array):
        array = value if value.type == arrow_type else value.cast(arrow_type)
    elif isinstance(value, np.ndarray):
        array = pa.array(value, type=arrow_type)
    elif value is None or isinstance(value, (str, int, float, bool)):
        array = pa.array([value] * n, type=arrow_type) if n else pa.array([], arrow_type)
    else:
        array = pa.array(value, type=arrow_type)
    if len(array) != n:
        raise ValueError(f"column {path}: {len(array)} values for {n} rows")
    return array


def keep_rows(table: pa.Table, keep: np.ndarray) -> pa.Table:
    """The rows of `table` where `keep` is true (the table itself when all are: filtering nested
    columns is costly, and most snapshot filters keep every row)."""
    return table if bool(np.all(keep)) else table.filter(pa.array(keep))


def repeat_scalar(value: str | None, n: int) -> pa.Array:
    """A string array of `n` copies of `value`."""
    return pa.repeat(pa.scalar(value, pa.string()), n)


def split_into_hours(start_us: np.ndarray, end_us: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clock-hour slices of intervals: returns (interval index, slice start, slice end).

    10:30→12:10 gives 10:30–11:00, 11:00–12:00, 12:00–12:10; a zero-length interval gives one slice.
    """
    first_hour = start_us // US_PER_HOUR
    last_hour = np.maximum((end_us - 1) // US_PER_HOUR, first_hour)
    counts = (last_hour - first_hour + 1).astype(np.int64)
    owner = np.repeat(np.arange(start_us.size), counts)
    position = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    hour = first_hour[owner] + position
    slice_start = np.maximum(start_us[owner], hour * US_PER_HOUR)
    slice_end = np.minimum(end_us[owner], (hour + 1) * US_PER_HOUR)
    return owner, slice_start, slice_end


# ---------------------------------------------------------------- content hashing (per-row ids)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def mix64(*keys: np.ndarray | int) -> np.ndarray:
    """SplitMix64 hash of the given integer columns: ids derived from content, not from order."""
    with np.errstate(over="ignore"):
        h = np.zeros(1, dtype=np.uint64)
        for key in keys:
            h = h ^ (np.asarray(key).astype(np.uint64) + _GOLDEN)
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            h = h ^ (h >> np.uint64(31))
    return h


def unit_hash(*keys: np.ndarray | int) -> np.ndarray:
    """A uniform [0, 1) number per row, derived from `keys` (stable when the window moves)."""
    return (mix64(*keys) >> np.uint64(11)).astype(np.float64) / float(2**53)


def hashed_uuids(*keys: np.ndarray | int) -> pa.Array:
    """UUID-looking strings derived from `keys` (same keys → same id)."""
    high, low = mix64(*keys, 1), mix64(*keys, 2)
    shifts = np.arange(60, -1, -4, dtype=np.uint64)
    digits = np.concatenate(
        [(high[:, None] >> shifts) & np.uint64(15), (low[:, None] >> shifts) & np.uint64(15)], axis=1
    )
    hexed = _HEX[digits.astype(np.uint8)]
    chars = np.full((hexed.shape[0], 36), ord("-"), dtype=np.uint8)
    chars[:, 0:8], chars[:, 9:13], chars[:, 14:18] = hexed[:, 0:8], hexed[:, 8:12], hexed[:, 12:16]
    chars[:, 19:23], chars[:, 24:36] = hexed[:, 16:20], hexed[:, 20:32]
    chars[:, 14] = ord("4")
    return fixed_width_strings(chars)


def hashed_hex(width: int, *keys: np.ndarray | int) -> pa.Array:
    """Lowercase hex strings of `width` (≤ 32) characters derived from `keys`."""
    high, low = mix64(*keys, 3), mix64(*keys, 4)
    shifts = np.arange(60, -1, -4, dtype=np.uint64)
    digits = np.concatenate(
        [(high[:, None] >> shifts) & np.uint64(15), (low[:, None] >> shifts) & np.uint64(15)], axis=1
    )
    return fixed_width_strings(_HEX[digits[:, :width].astype(np.uint8)])
