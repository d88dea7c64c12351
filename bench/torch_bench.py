"""PyTorch side of `npm run bench`: the same workloads as bench/bench.ts, in plain PyTorch.

Run by bench.ts (never by the tests) with the fair settings of bench/README.md:
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset and OMP_WAIT_POLICY=PASSIVE, two threads.
The models are BERT-base and DistilBERT with random weights and Hugging Face semantics (post-LN,
exact-erf GELU, LayerNorm eps 1e-12). Prints one JSON object on the last line of stdout.

usage: /usr/bin/python3 bench/torch_bench.py [--onnx-dir DIR] [--quick] [--pretrain-small]
  --onnx-dir DIR    also export both encoders to DIR/{bert,distilbert}.onnx (opset 14) plus
                    DIR/ids_b{1,8}.i32 for the onnxruntime-node runs in bench.ts
  --quick           fewer repetitions (smoke test of the script)
  --pretrain-small  only the small-model pretraining step of bench/pretrain_small.ts: BERT 6 x 256
                    (4 heads, FFN 1024, vocab 30,522), 128 x 128 tokens, masked-LM on 15% of the
                    positions (projected alone), AdamW (weight decay 0.01) with clipping, fp32
                    (torch 1.13's CPU bf16 autocast does not cover this model's LayerNorm)
"""
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))

VOCAB, MAX_POS = 30522, 512
BASE = (768, 12, 3072)  # hidden, heads, FFN of BERT-base and DistilBERT
SMALL = (256, 4, 1024)  # the 6 x 256 teacher of experiments/teacher-6x256.json
HIDDEN = BASE[0]
MASK_ID = 103


class Layer(nn.Module):
    """Post-LN encoder layer: attention -> add & norm -> FFN (GELU) -> add & norm."""

    def __init__(self, dims=BASE):
        super().__init__()
        hidden, heads, ffn = dims
        self.heads, self.head_dim = heads, hidden // heads
        self.q, self.k, self.v, self.o = (nn.Linear(hidden, hidden) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(hidden, eps=1e-12), nn.LayerNorm(hidden, eps=1e-12)
        self.ffn1, self.ffn2 = nn.Linear(hidden, ffn), nn.Linear(ffn, hidden)
        self.drop = nn.Dropout(0.1)

    def forward(self, x, additive_mask):
        B, T, C = x.shape

        def heads(t):  # (B, T, C) -> (B, H, T, D)
            return t.view(B, T, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + additive_mask  # (B, H, T, T)
        ctx = (self.drop(scores.softmax(-1)) @ v).transpose(1, 2).reshape(B, T, C)
        x = self.ln1(x + self.drop(self.o(ctx)))
        return self.ln2(x + self.drop(self.ffn2(F.gelu(self.ffn1(x)))))


class MaskedLM(nn.Module):
    """Embeddings (+ token types for BERT) -> layers -> MLM head tied to the word embeddings."""

    def __init__(self, layers, token_types, dims=BASE):
        super().__init__()
        self.hidden = hidden = dims[0]
        self.word = nn.Embedding(VOCAB, hidden)
        self.pos = nn.Embedding(MAX_POS, hidden)
        self.types = nn.Embedding(2, hidden) if token_types else None
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        self.drop = nn.Dropout(0.1)
        self.layers = nn.ModuleList(Layer(dims) for _ in range(layers))
        self.head_dense, self.head_ln = nn.Linear(hidden, hidden), nn.LayerNorm(hidden, eps=1e-12)
        self.head_bias = nn.Parameter(torch.zeros(VOCAB))
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)

    def encode(self, ids, mask):
        B, T = ids.shape
        x = self.word(ids) + self.pos(torch.arange(T)[None])
        if self.types is not None:
            x = x + self.types(torch.zeros_like(ids))
        x = self.drop(self.ln(x))
        additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, additive)
        return x

    def forward(self, ids, mask, positions=None):
        h = self.encode(ids, mask)
        rows = h.view(-1, self.hidden) if positions is None else h.view(-1, self.hidden)[positions]
        logits = F.linear(self.head_ln(F.gelu(self.head_dense(rows))), self.word.weight, self.head_bias)
        return h, logits


class Encoder(nn.Module):
    """The bare encoder, for inference timing and ONNX export (last_hidden_state only)."""

    def __init__(self, mlm):
        super().__init__()
        self.mlm = mlm

    def forward(self, ids, mask):
        return self.mlm.encode(ids, mask)


def random_ids(B, T, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1000, 30000, (B, T), generator=g)


def masked_batch(B, T):
    """Random ids (no padding) with 15% of the positions replaced by [MASK]: (ids, mask, inputs, flat target positions)."""
    ids = random_ids(B, T)
    selected = torch.rand(B, T, generator=torch.Generator().manual_seed(2)) < 0.15
    return ids, torch.ones_like(ids), ids.masked_fill(selected, MASK_ID), selected.view(-1).nonzero().squeeze(1)


def median_ms(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def blas_backend():
    """The BLAS library actually mapped into this process (Debian switches it by alternatives:
    the reference libblas is ~100x slower than OpenBLAS, which makes any comparison unfair)."""
    torch.ones(8, 8) @ torch.ones(8, 8)
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "blas" in line.lower()}
    return ",".join(sorted(os.path.basename(os.path.dirname(p)) + "/" + os.path.basename(p) for p in libs)) or "unknown"


def pretrain_small():
    """Median step time of masked-LM pretraining of the 6 x 256 BERT at 128 x 128 (bench/pretrain_small.ts)."""
    B, T = 128, 128
    model = MaskedLM(6, True, SMALL).train()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01)
    ids, mask, inputs, positions = masked_batch(B, T)
    targets = ids.view(-1)[positions]

    def step():
        _, logits = model(inputs, mask, positions)
        loss = F.cross_entropy(logits, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    step_ms = median_ms(step, 5, warmup=2)
    return {"torch_pretrain_small_step_ms": step_ms, "torch_pretrain_small_tokens_per_s": B * T / (step_ms / 1e3),
            "torch_threads": torch.get_num_threads(), "torch_blas": blas_backend()}


def main():
    if "--pretrain-small" in sys.argv:
        print(json.dumps(pretrain_small()))
        return
    quick = "--quick" in sys.argv
    onnx_dir = sys.argv[sys.argv.index("--onnx-dir") + 1] if "--onnx-dir" in sys.argv else None
    reps1, reps8, reps_step = (3, 2, 2) if quick else (15, 5, 5)
    teacher, student = MaskedLM(12, True).eval(), MaskedLM(6, False)
    out = {"torch_version": torch.__version__, "torch_threads": torch.get_num_threads(), "torch_blas": blas_backend()}

    with torch.no_grad():
        for name, model in (("bert", teacher), ("distilbert", student.eval())):
            enc = Encoder(model)
            ids1, ids8 = random_ids(1, 128), random_ids(8, 128)
            ones1, ones8 = torch.ones_like(ids1), torch.ones_like(ids8)
            out[f"torch_{name}_b1_ms"] = median_ms(lambda: enc(ids1, ones1), reps1)
            out[f"torch_{name}_b8_seq_per_s"] = 8e3 / median_ms(lambda: enc(ids8, ones8), reps8)
            if onnx_dir:
                os.makedirs(onnx_dir, exist_ok=True)
                torch.onnx.export(enc, (ids1, ones1), os.path.join(onnx_dir, f"{name}.onnx"), opset_version=14,
                                  input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                                  dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                                "attention_mask": {0: "batch", 1: "seq"}})
                for B, ids in ((1, ids1), (8, ids8)):
                    ids.numpy().astype("int32").tofile(os.path.join(onnx_dir, f"ids_b{B}.i32"))

    # One distillation step, 8 x 128, vocabulary projection on the ~15% masked positions only,
    # triple loss (docs/method.md §6, restrict_ce_to_mask), AdamW (docs/method.md §7) - the workload of bench.ts.
    B, T, temp = 8, 128, 2.0
    student.train()
    opt = torch.optim.AdamW(student.parameters(), lr=5e-4, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.0)
    ids, mask, inputs, positions = masked_batch(B, T)

    def step():
        with torch.no_grad():
            t_hidden, t_logits = teacher(inputs, mask, positions)
        s_hidden, s_logits = student(inputs, mask, positions)
        loss_ce = F.kl_div(F.log_softmax(s_logits / temp, -1), F.softmax(t_logits / temp, -1),
                           reduction="batchmean") * temp ** 2
        loss_mlm = F.cross_entropy(s_logits, ids.view(-1)[positions])
        loss_cos = F.cosine_embedding_loss(s_hidden.view(-1, HIDDEN), t_hidden.view(-1, HIDDEN), torch.ones(B * T))
        loss = 5.0 * loss_ce + 2.0 * loss_mlm + 1.0 * loss_cos
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 5.0)
        opt.step()

    step_ms = median_ms(step, reps_step, warmup=1)
    out["torch_distill_step_ms"] = step_ms
    out["torch_distill_tokens_per_s"] = B * T / (step_ms / 1e3)
    out["torch_distill_projected_positions"] = int(positions.numel())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
