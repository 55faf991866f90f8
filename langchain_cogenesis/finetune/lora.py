"""LoRA fine-tuning of the local model on context-aware examples (paper appendix B).

The base weights come from a local file only: the GGUF the package runs (transformers
dequantizes supported architectures, Gemma 3 among them) or a Hugging Face folder.
Each learning rate of a list is tried; within a run, the dev split's loss decides
early stopping, and the best adapter over all runs is kept. The loss is the mean
negative log-likelihood of the reference tokens given the prompt.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from langchain_cogenesis.errors import ConfigurationError, LocalModelError, MissingExtra
from langchain_cogenesis.finetune.examples import TrainingExample

TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class LoraSettings:
    """Hyper-parameters of a fine-tuning run.

    The paper fine-tunes whole models with learning rates {5e-6, 8e-6, 1e-5, 2e-5,
    5e-5}; LoRA updates far fewer weights and takes larger ones, hence the default.
    """

    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = TARGET_MODULES
    learning_rates: tuple[float, ...] = (1e-4, 2e-4, 5e-4)
    max_epochs: int = 3
    patience: int = 1
    """Evaluations without a better dev loss before a run stops."""
    batch_size: int = 4
    """Examples per optimizer step (accumulated one at a time: no padding)."""
    max_length: int = 1024
    """Prompt + answer tokens; longer answers are cut, over-long prompts skipped."""
    max_steps: int | None = None
    """Optimizer steps per learning rate, at most (small runs)."""
    eval_every: int | None = None
    """Optimizer steps between dev evaluations; default once per epoch."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.rank < 1 or self.batch_size < 1 or self.max_epochs < 1 or self.max_length < 16:
            raise ConfigurationError(
                "rank, batch_size and max_epochs must be >= 1, max_length >= 16"
            )
        if not self.learning_rates or any(lr <= 0 for lr in self.learning_rates):
            raise ConfigurationError("learning_rates must be a non-empty list of positive numbers")


@dataclass
class FinetuneResult:
    """What a run produced and measured."""

    adapter_dir: Path
    """The best adapter in PEFT's format."""
    gguf_path: Path | None
    """The same adapter for llama.cpp (``lora_path``); ``None`` if not exported."""
    learning_rate: float
    dev_nll_before: float
    dev_nll_after: float
    train_seconds: float
    train_examples: int
    dev_examples: int
    skipped_examples: int
    history: list[dict[str, float]] = field(default_factory=list)
    """Every dev evaluation: learning rate, optimizer step, dev NLL per token."""

    def to_json(self) -> dict[str, Any]:
        """The figures as JSON-ready values."""
        values = asdict(self)
        values["adapter_dir"] = str(self.adapter_dir)
        values["gguf_path"] = str(self.gguf_path) if self.gguf_path else None
        return values


def _lora_config(settings: LoraSettings, dropout: float) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=dropout,
        target_modules=list(settings.target_modules),
        task_type="CAUSAL_LM",
    )


def load_base_model(path: Path | str) -> tuple[Any, Any]:
    """Model and tokenizer from a local GGUF file or Hugging Face folder; never downloads.

    Raises:
        LocalModelError: the path is neither, or transformers cannot read it.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may be fetched
    with MissingExtra.if_absent("train", "Fine-tuning the local model"):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path)
    try:
        if path.is_file() and path.suffix == ".gguf":
            options: dict[str, Any] = {"gguf_file": path.name, "local_files_only": True}
            with _one_gguf_parse():
                tokenizer = AutoTokenizer.from_pretrained(str(path.parent), **options)
                model = AutoModelForCausalLM.from_pretrained(
                    str(path.parent), dtype=torch.float32, **options
                )
        elif path.is_dir():
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(
                str(path), dtype=torch.float32, local_files_only=True
            )
        else:
            raise LocalModelError(
                f"{path} is neither a .gguf file nor a Hugging Face model folder."
            )
    except (OSError, ValueError, KeyError) as error:
        raise LocalModelError(f"Cannot load base weights from {path}: {error}") from None
    model.config.use_cache = False
    return model, tokenizer


@contextmanager
def _one_gguf_parse() -> Iterator[None]:
    """Read a GGUF's metadata once while transformers loads it.

    transformers opens the file three times (config, tokenizer, weights), and gguf's
    reader walks every field in Python: a 262,144-token vocabulary costs about 35 s
    a walk on two cores. The readers are read-only memory maps, so one per file serves
    all three; metadata-only results are shared the same way.
    """
    import gguf
    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    read: Any = gguf.GGUFReader
    load: Any = gguf_utils.load_gguf_checkpoint
    readers: dict[str, Any] = {}
    metadata: dict[str, Any] = {}

    def reader(path: Any, *args: Any, **kwargs: Any) -> Any:
        key = str(path)
        if args or kwargs or key not in readers:
            readers[key] = read(path, *args, **kwargs)
        return readers[key]

    def checkpoint(path: Any, return_tensors: bool = False, **kwargs: Any) -> Any:
        if return_tensors or kwargs:
            return load(path, return_tensors=return_tensors, **kwargs)
        if str(path) not in metadata:
            metadata[str(path)] = load(path, return_tensors=False)
        return copy.deepcopy(metadata[str(path)])

    setattr(gguf, "GGUFReader", reader)  # noqa: B010 - swapped back on the way out
    setattr(gguf_utils, "load_gguf_checkpoint", checkpoint)  # noqa: B010
    try:
        yield
    finally:
        setattr(gguf, "GGUFReader", read)  # noqa: B010
        setattr(gguf_utils, "load_gguf_checkpoint", load)  # noqa: B010


@dataclass
class _Encoded:
    input_ids: list[int]
    answer_start: int
    """Index of the first answer token; the loss covers the tokens from there on."""


def encode(tokenizer: Any, example: TrainingExample, max_length: int) -> _Encoded | None:
    """Tokens of prompt (with BOS, as llama.cpp adds it) and answer; ``None`` when the
    prompt leaves no room for the answer."""
    prompt = tokenizer(example.prompt, add_special_tokens=True)["input_ids"]
    answer = tokenizer(example.response, add_special_tokens=False)["input_ids"]
    room = max_length - len(prompt)
    if room < 8:
        return None
    return _Encoded(input_ids=[*prompt, *answer[:room]], answer_start=len(prompt))


def answer_nll(model: Any, encoded: _Encoded) -> tuple[Any, int]:
    """Summed negative log-likelihood of the answer tokens, and their count.

    The vocabulary projection runs on the answer positions only: Gemma's 262,144-token
    vocabulary makes full-sequence logits the largest tensor of a step.
    """
    import torch

    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    ids = torch.tensor([encoded.input_ids])
    hidden = causal.model(input_ids=ids).last_hidden_state[0]
    positions = slice(encoded.answer_start - 1, len(encoded.input_ids) - 1)
    logits = causal.lm_head(hidden[positions]).float()
    cap = getattr(causal.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    targets = ids[0, encoded.answer_start :]
    nll = torch.nn.functional.cross_entropy(logits, targets, reduction="sum")
    return nll, int(targets.numel())


def mean_nll(model: Any, encoded: Sequence[_Encoded]) -> float:
    """Negative log-likelihood per answer token over ``encoded`` (no gradients)."""
    import torch

    total, tokens = 0.0, 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for item in encoded:
            nll, count = answer_nll(model, item)
            total, tokens = total + float(nll), tokens + count
    model.train(was_training)
    return total / max(1, tokens)


def response_nll(
    model: Any, tokenizer: Any, examples: Sequence[TrainingExample], max_length: int = 2048
) -> float:
    """Held-out NLL per token of the reference answers given the inference prompts."""
    encoded = [e for e in (encode(tokenizer, x, max_length) for x in examples) if e]
    return mean_nll(model, encoded)


def finetune(
    train: Sequence[TrainingExample],
    dev: Sequence[TrainingExample],
    base: Path | str,
    out_dir: Path | str,
    settings: LoraSettings | None = None,
    *,
    export_gguf: bool = True,
    show_progress: bool = True,
    loaded: tuple[Any, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> FinetuneResult:
    """Train LoRA adapters for each learning rate; keep and export the best.

    Writes ``out_dir/checkpoints/lr-<lr>/step-<n>/`` at each improvement,
    ``out_dir/adapter/`` (the best, PEFT format), ``out_dir/adapter.gguf`` (llama.cpp)
    and ``out_dir/finetune.json`` (the figures).

    Args:
        base: the base weights: a ``.gguf`` file or a Hugging Face folder.
        loaded: an already loaded ``(model, tokenizer)`` of ``base`` (saves the load).
    """
    with MissingExtra.if_absent("train", "Fine-tuning the local model"):
        import torch
        from peft import get_peft_model, set_peft_model_state_dict
        from peft.utils import get_peft_model_state_dict
    from tqdm.auto import tqdm

    settings = settings or LoraSettings()
    if not train or not dev:
        raise ConfigurationError(
            f"Fine-tuning needs train and dev examples (got {len(train)} and {len(dev)})."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = log or (lambda message: None)
    model, tokenizer = loaded or load_base_model(base)
    encoded_train = [encode(tokenizer, example, settings.max_length) for example in train]
    encoded_dev = [encode(tokenizer, example, settings.max_length) for example in dev]
    kept_train = [e for e in encoded_train if e]
    kept_dev = [e for e in encoded_dev if e]
    skipped = len(encoded_train) + len(encoded_dev) - len(kept_train) - len(kept_dev)
    if not kept_train or not kept_dev:
        raise ConfigurationError(
            f"No example fits max_length={settings.max_length}; raise it or retrieve less (k)."
        )
    dev_before = mean_nll(model, kept_dev)
    say(f"dev NLL/token before fine-tuning: {dev_before:.3f}")
    steps_per_epoch = math.ceil(len(kept_train) / settings.batch_size)
    eval_every = settings.eval_every or steps_per_epoch
    total_steps = steps_per_epoch * settings.max_epochs
    if settings.max_steps is not None:
        total_steps = min(total_steps, settings.max_steps)
    best: dict[str, Any] = {"nll": math.inf}
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    for learning_rate in settings.learning_rates:
        torch.manual_seed(settings.seed)
        peft_model = get_peft_model(model, _lora_config(settings, settings.dropout))
        peft_model.train()
        trainable = [p for p in peft_model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=0.0)
        generator = torch.Generator().manual_seed(settings.seed)
        run_best, waited, step = math.inf, 0, 0
        bar = tqdm(total=total_steps, desc=f"lr {learning_rate:g}", disable=not show_progress)
        stop = False
        while step < total_steps and not stop:
            order = torch.randperm(len(kept_train), generator=generator).tolist()
            for first in range(0, len(order), settings.batch_size):
                batch = [kept_train[i] for i in order[first : first + settings.batch_size]]
                optimizer.zero_grad(set_to_none=True)
                loss_sum = 0.0
                for item in batch:
                    nll, count = answer_nll(peft_model, item)
                    loss = nll / max(1, count) / len(batch)
                    loss.backward()
                    loss_sum += loss.item()
                optimizer.step()
                step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{loss_sum:.3f}")
                if step % eval_every == 0 or step == total_steps:
                    dev_nll = mean_nll(peft_model, kept_dev)
                    history.append(
                        {"learning_rate": learning_rate, "step": step, "dev_nll": dev_nll}
                    )
                    say(f"lr {learning_rate:g} step {step}: dev NLL/token {dev_nll:.3f}")
                    if dev_nll < run_best:
                        run_best, waited = dev_nll, 0
                        checkpoint = out / "checkpoints" / f"lr-{learning_rate:g}" / f"step-{step}"
                        peft_model.save_pretrained(str(checkpoint))
                        if dev_nll < best["nll"]:
                            best = {
                                "nll": dev_nll,
                                "lr": learning_rate,
                                "state": {
                                    k: v.detach().clone()
                                    for k, v in get_peft_model_state_dict(peft_model).items()
                                },
                            }
                    else:
                        waited += 1
                        if waited > settings.patience:
                            stop = True  # early stopping on the dev split
                if step >= total_steps or stop:
                    break
        bar.close()
        model = peft_model.unload()  # the base again, for the next learning rate
    train_seconds = time.perf_counter() - started
    if "state" not in best:
        raise LocalModelError("Training diverged: no dev evaluation gave a finite loss.")
    final = get_peft_model(model, _lora_config(settings, dropout=0.0))
    set_peft_model_state_dict(final, best["state"])
    final.eval()
    adapter_dir = out / "adapter"
    final.save_pretrained(str(adapter_dir))
    gguf_path = None
    if export_gguf:
        from langchain_cogenesis.finetune.gguf_adapter import export_gguf_lora

        gguf_path = export_gguf_lora(final, out / "adapter.gguf")
    result = FinetuneResult(
        adapter_dir=adapter_dir,
        gguf_path=gguf_path,
        learning_rate=float(best["lr"]),
        dev_nll_before=dev_before,
        dev_nll_after=float(best["nll"]),
        train_seconds=train_seconds,
        train_examples=len(kept_train),
        dev_examples=len(kept_dev),
        skipped_examples=skipped,
        history=history,
    )
    (out / "finetune.json").write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")
    final.unload()
    return result
