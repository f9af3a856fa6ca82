"""What every CLI handler gets: where to write, in which language, and how to fail with a stable code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from .schemas import ErrorDetail, ErrorOut

__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_PORT", "EXIT_UNRESPONSIVE", "EXIT_USAGE", "Context"]

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_PORT = 3
EXIT_UNRESPONSIVE = 4


@dataclass
class Context:
    out: TextIO
    err: TextIO
    lang: str
    json: bool = False

    def fail(self, code: str, message: str, hint: str | None, status: int) -> int:
        """Report an error as one sentence and a hint (stderr), or as ``{"error": ...}`` JSON (stdout)."""
        if self.json:
            detail = ErrorDetail(code=code, message=message, hint=hint or None)
            self.out.write(ErrorOut(error=detail).model_dump_json() + "\n")
        else:
            label = "错误" if self.lang == "zh" else "error"
            self.err.write(f"iotcard: {label}: {message}\n")
            if hint:
                self.err.write(f"  → {hint}\n")
        return status
