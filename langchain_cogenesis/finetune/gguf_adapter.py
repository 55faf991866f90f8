"""A PEFT LoRA adapter written as a GGUF adapter that llama.cpp loads (``lora_path``).

llama.cpp reads ``general.type = adapter``, ``adapter.type = lora`` and
``adapter.lora.alpha``, and for each adapted weight ``W`` (GGUF name, e.g.
``blk.0.attn_q.weight``) two tensors ``W.lora_a`` (rank x in) and ``W.lora_b``
(out x rank); it adds ``alpha / rank * B @ A`` to ``W``, as PEFT does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_cogenesis.errors import LocalModelError, MissingExtra


def gguf_arch(model_type: str) -> Any:
    """The GGUF architecture of a transformers ``model_type`` (``gemma3_text`` -> gemma3)."""
    import gguf

    wanted = model_type.removesuffix("_text")
    for arch, name in gguf.MODEL_ARCH_NAMES.items():
        if name == wanted:
            return arch
    raise LocalModelError(f"No GGUF architecture is known for model type {model_type!r}.")


def export_gguf_lora(peft_model: Any, path: Path | str) -> Path:
    """Write ``peft_model``'s LoRA weights to ``path`` as a GGUF adapter."""
    with MissingExtra.if_absent("train", "Exporting a GGUF adapter"):
        import gguf
        from peft.utils import get_peft_model_state_dict

    path = Path(path)
    config = peft_model.peft_config["default"]
    base_config = peft_model.get_base_model().config
    arch = gguf_arch(base_config.model_type)
    names = gguf.get_tensor_name_map(arch, base_config.num_hidden_layers)
    writer = gguf.GGUFWriter(str(path), arch=gguf.MODEL_ARCH_NAMES[arch])
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(config.lora_alpha))
    written = 0
    for key, tensor in sorted(get_peft_model_state_dict(peft_model).items()):
        # base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight
        module, _, rest = key.removeprefix("base_model.model.").partition(".lora_")
        target = names.get_name(module)
        if target is None or rest not in ("A.weight", "B.weight"):
            raise LocalModelError(f"Cannot place the adapter tensor {key} in a GGUF model.")
        suffix = ".lora_a" if rest.startswith("A") else ".lora_b"
        writer.add_tensor(f"{target}.weight{suffix}", tensor.detach().float().contiguous().numpy())
        written += 1
    if not written:
        raise LocalModelError("The model carries no LoRA weights to export.")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
