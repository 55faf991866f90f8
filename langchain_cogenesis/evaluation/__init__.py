"""Evaluation: generated leak cases (more in later modules)."""

from langchain_cogenesis.evaluation.leak_cases import LeakCase, generate_leak_cases, leaked

__all__ = ["LeakCase", "generate_leak_cases", "leaked"]
