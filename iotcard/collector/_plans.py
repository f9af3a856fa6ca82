"""``plans import FILE.csv``: the card provider's plan list, checked row by row, bad rows reported by line.

Columns (header required, any order): ``iccid``, ``plan_name``, ``total_mb`` and optionally ``cycle_start``,
``cycle_end``, ``expiry`` (ISO dates, YYYY-MM-DD), ``card_type``, ``company``, ``device_category`` (``personal``
个人设备, ``enterprise`` 企业设备, ``maintenance`` 维护设备), and the carrier's own usage figure for the cycle,
``carrier_used_mb`` with ``carrier_as_of`` (RFC 3339, e.g. 2026-12-01T08:00:00Z), which the card shows beside the
device meter's (流量校验). A bad row is reported with its line
number and skipped; the good rows are imported. A file that cannot be read, or whose header lacks a required
column or names an unknown one, imports nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ._errors import PlanImportError
from ._store import MIB, PlanRow

__all__ = ["COLUMNS", "DEVICE_CATEGORIES", "PlanProblem", "parse_plans"]

REQUIRED = ("iccid", "plan_name", "total_mb")
COLUMNS = (
    *REQUIRED,
    "cycle_start",
    "cycle_end",
    "expiry",
    "card_type",
    "company",
    "device_category",
    "carrier_used_mb",
    "carrier_as_of",
)
DEVICE_CATEGORIES = ("personal", "enterprise", "maintenance")


@dataclass(frozen=True, slots=True)
class PlanProblem:
    line: int
    message: str


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    iccid: str = Field(pattern=r"^[0-9A-Fa-f]{18,22}$")
    plan_name: str = Field(min_length=1, max_length=128)
    total_mb: float = Field(gt=0, le=10_000_000)
    cycle_start: date | None = None
    cycle_end: date | None = None
    expiry: date | None = None
    card_type: str | None = Field(default=None, max_length=64)
    company: str | None = Field(default=None, max_length=128)
    device_category: Literal["personal", "enterprise", "maintenance"] | None = None
    carrier_used_mb: float | None = Field(default=None, ge=0, le=10_000_000)
    carrier_as_of: AwareDatetime | None = None

    @field_validator(
        "cycle_start",
        "cycle_end",
        "expiry",
        "card_type",
        "company",
        "device_category",
        "carrier_used_mb",
        "carrier_as_of",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _cycle_order(self) -> _Row:
        if (self.cycle_start is None) != (self.cycle_end is None):
            raise ValueError("cycle_start and cycle_end go together")
        if self.cycle_start and self.cycle_end and self.cycle_end < self.cycle_start:
            raise ValueError(f"cycle_end {self.cycle_end} is before cycle_start {self.cycle_start}")
        if (self.carrier_used_mb is None) != (self.carrier_as_of is None):
            raise ValueError("carrier_used_mb and carrier_as_of go together")
        return self


def _problem(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        text = item["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {text}" if where else text)
    return "; ".join(parts)


def parse_plans(text: str, name: str = "the file") -> tuple[list[PlanRow], list[PlanProblem]]:
    """The good rows and the problems (by line); raises :class:`PlanImportError` for an unusable header."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), skipinitialspace=True)
    header = [column.strip().lower() for column in reader.fieldnames or ()]
    if not header:
        raise PlanImportError(f"{name} is empty", hint=f"the first line names the columns: {', '.join(COLUMNS)}")
    missing = [column for column in REQUIRED if column not in header]
    unknown = [column for column in header if column not in COLUMNS]
    if missing or unknown:
        said = (f"lacks {', '.join(missing)}" if missing else "") + ("; " if missing and unknown else "")
        said += f"has unknown column(s) {', '.join(unknown)}" if unknown else ""
        raise PlanImportError(f"the header of {name} {said}", hint=f"columns: {', '.join(COLUMNS)}")
    reader.fieldnames = header
    rows: dict[str, tuple[int, PlanRow]] = {}
    problems: list[PlanProblem] = []
    for record in reader:
        line = reader.line_num
        if None in record:
            problems.append(
                PlanProblem(line, f"{len(header) + len(record[None])} fields, the header has {len(header)}")
            )
            continue
        try:
            row = _Row.model_validate({k: v for k, v in record.items() if v is not None})
        except ValidationError as exc:
            problems.append(PlanProblem(line, _problem(exc)))
            continue
        iccid = row.iccid.upper()
        if iccid in rows:
            problems.append(PlanProblem(line, f"ICCID {iccid} is already on line {rows[iccid][0]}"))
            continue
        rows[iccid] = (
            line,
            PlanRow(
                iccid,
                row.plan_name,
                row.total_mb,
                row.cycle_start,
                row.cycle_end,
                row.expiry,
                row.card_type,
                row.company,
                row.device_category,
                round(row.carrier_used_mb * MIB) if row.carrier_used_mb is not None else None,
                row.carrier_as_of,
            ),
        )
    return [row for _, row in rows.values()], problems
