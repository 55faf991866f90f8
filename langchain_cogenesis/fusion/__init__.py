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
    Fused,
    LearnedCombiner,
    MaxCombiner,
    MeanCombiner,
    build_comb_model,
    combiner_features,
    load_combiner,
    union_probs,
)
from langchain_cogenesis.fusion.decoding import fused_generate, fused_tokens
from langchain_cogenesis.fusion.sampling import FusionResult, Sampling, TokenTrace
from langchain_cogenesis.fusion.scorers import (
    LlamaCppScorer,
    RemoteCompletionScorer,
    TokenScorer,
    TopK,
    score_positions,
    top_k_of_logits,
)
from langchain_cogenesis.fusion.tokenizer import (
    TokenizerFingerprint,
    check_remote_tokenizer,
    check_same_tokenizer,
    fingerprint,
)

__all__ = [
    "ChatCoGenesisFusion",
    "Combiner",
    "Fused",
    "FusionResult",
    "LearnedCombiner",
    "LlamaCppScorer",
    "MaxCombiner",
    "MeanCombiner",
    "RemoteCompletionScorer",
    "Sampling",
    "TokenScorer",
    "TokenTrace",
    "TokenizerFingerprint",
    "TopK",
    "build_comb_model",
    "check_remote_tokenizer",
    "check_same_tokenizer",
    "combiner_features",
    "fingerprint",
    "fused_generate",
    "fused_tokens",
    "load_combiner",
    "score_positions",
    "top_k_of_logits",
    "union_probs",
]
