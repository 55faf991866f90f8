"""Logit-based CoGenesis (paper §3.3): scorers, combiners, the decoding loop, a chat model.

Needs the ``fusion`` extra (``pip install "langchain-cogenesis[fusion]"``): every fused
step is numpy arithmetic. Without it, importing this package or any module in it
raises :class:`~langchain_cogenesis.errors.MissingExtra` naming the extra.
"""

from langchain_cogenesis.errors import MissingExtra

# checked here, before any submodule runs, so `import langchain_cogenesis.fusion.x`
# fails with the typed error too (a package's __init__ runs before its modules)
with MissingExtra.if_absent("fusion", "Fused decoding (ChatCoGenesisFusion, mode='fusion')"):
    import numpy  # noqa: F401

from langchain_cogenesis.fusion.chat_model import ChatCoGenesisFusion
from langchain_cogenesis.fusion.combiners import (
    Combiner,
    LearnedCombiner,
    MaxCombiner,
    MeanCombiner,
    load_combiner,
)
from langchain_cogenesis.fusion.decoding import fused_generate
from langchain_cogenesis.fusion.sampling import FusionResult
from langchain_cogenesis.fusion.scorers import LlamaCppScorer, RemoteCompletionScorer, TokenScorer
from langchain_cogenesis.fusion.tokenizer import check_same_tokenizer

__all__ = [
    "ChatCoGenesisFusion",
    "Combiner",
    "FusionResult",
    "LearnedCombiner",
    "LlamaCppScorer",
    "MaxCombiner",
    "MeanCombiner",
    "RemoteCompletionScorer",
    "TokenScorer",
    "check_same_tokenizer",
    "fused_generate",
    "load_combiner",
]
