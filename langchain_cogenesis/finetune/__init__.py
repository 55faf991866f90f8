"""Specializing the local model (paper §4.2, appendix B): LoRA on context-aware data.

Needs the ``train`` extra (transformers, peft, gguf). The result is a GGUF adapter
that the local model and its token scorer load (``lora_path``), so the fine-tuned
model runs in the sketch graph and in fusion like the base one.
"""

from langchain_cogenesis.finetune.examples import build_examples
from langchain_cogenesis.finetune.gguf_adapter import export_gguf_lora
from langchain_cogenesis.finetune.lora import FinetuneResult, LoraSettings, finetune

__all__ = [
    "FinetuneResult",
    "LoraSettings",
    "build_examples",
    "export_gguf_lora",
    "finetune",
]
