"""What several benchmarks share (not a benchmark: run_all.py skips names with ``_``)."""

from pathlib import Path

# the dev split the paper's authors released, kept beside the checkout, never shipped
DEV_SPLIT = Path(__file__).resolve().parents[2] / "shared/data/cogenesis-context-aware/dev.json"

# real chat requests with private units (PAPILLON's PUPA, MIT), beside the checkout, never shipped
PUPA = Path(__file__).resolve().parents[2] / "shared/data/pupa/PUPA_TNB.csv"
