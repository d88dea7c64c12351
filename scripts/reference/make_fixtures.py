#!/usr/bin/env python3
"""Golden fixtures for distilbert-ts, produced by a plain-PyTorch reference.

Run:  npm run fixtures
 (=   /usr/bin/python3 scripts/reference/make_fixtures.py test/fixtures)

Needs only torch (Debian's 1.13 is enough) and numpy: no `transformers`, no
`safetensors` package. The modules below reproduce the Hugging Face
BertForMaskedLM / DistilBertForMaskedLM forward passes and parameter names, and
the triple loss / optimiser of the HF `distillation` research project
(distiller.py), so the TypeScript side can be checked against them without
network access. Everything is seeded, so a rerun rewrites identical bytes.

Files written under OUT (all small, < 1 MB in total):
  tiny-bert/config.json, tiny-bert/model.safetensors
      teacher BertForMaskedLM (vocab 99, hidden 32, 4 layers, 4 heads, FFN 64,
      40 positions, 2 token types); decoder weight not stored (tied).
  tiny-distilbert/config.json, tiny-distilbert/model.safetensors
      student DistilBertForMaskedLM (2 layers), initialised from teacher layers
      [0, 2] as SPEC section 3 says, then perturbed so student != teacher;
      vocab_projector.weight not stored (tied).
  forward.safetensors
      a padded batch (input_ids, attention_mask, token_type_ids, mlm_labels) and
      both models' hidden states (embedding output + every layer) and logits.
  triple_loss.safetensors, triple_loss.json
      one distillation loss (ce + mlm + cos + mse) with and without
      restrict_ce_to_mask, and the gradient of the total w.r.t. every student
      parameter.
  adamw.json, adamw_final.safetensors
      5 AdamW steps (distiller.py parameter groups, grad clipping at 5.0).
  ops.safetensors, ops.json
      per-op values (inputs, output, upstream gradient, input gradients) for
      unit tests of the individual kernels.

Precision: parameters and inputs are drawn in float32 (so the stored F32 values
are exact); all computations then run in float64 and the results are rounded to
float32 when saved. The golden values are thus the exact answer for the stored
inputs, not torch's own float32 rounding of it; a float32 implementation
should match to float32 accumulation error (~1e-6 relative).
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# Special ids of the tiny vocabulary (real BERT uses 0/100/101/102/103).
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = 0, 1, 2, 3, 4
FIRST_WORD_ID = 5  # ids below this are special
IGNORE = -100  # label value ignored by the MLM cross-entropy
# HF fills masked attention scores with the float32 minimum (not -10000 as in
# older releases); we keep the float32 constant even when computing in float64
# so the masked logits are the same numbers the float32 model sees.
NEG = torch.finfo(torch.float32).min
DTYPE = torch.float64  # compute dtype, see the module docstring
LN_EPS = 1e-12

TEACHER_CFG = dict(vocab_size=99, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
                   intermediate_size=64, max_position_embeddings=40, type_vocab_size=2)
STUDENT_CFG = dict(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                   max_position_embeddings=40)
TEACHER_LAYERS_FOR_STUDENT = [0, 2]

# Loss weights of the released model, except alpha_mse which is switched on
# (the released model uses 0) so that the MSE term is exercised too.
ALPHA_CE, ALPHA_MLM, ALPHA_COS, ALPHA_MSE = 5.0, 2.0, 1.0, 0.5
TEMPERATURE = 2.0


# --------------------------------------------------------------------------
# safetensors, written by hand (the python package is not installed)
# --------------------------------------------------------------------------

def save_safetensors(path, tensors, metadata=None):
    """Write {name: tensor} as a .safetensors file.

    Layout: u64 little-endian header length N, N bytes of JSON header, raw data.
    Floating tensors are stored as F32 (casting from float64), integer ones as
    I64. The header is space-padded so the data starts at a multiple of 8.
    """
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.is_floating_point():
            arr, dtype = t.to(torch.float32).numpy().astype("<f4"), "F32"
        elif t.dtype in (torch.int64, torch.int32, torch.bool):
            arr, dtype = t.to(torch.int64).numpy().astype("<i8"), "I64"
        else:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        raw = arr.tobytes(order="C")
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((8 - (8 + len(head)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for raw in blobs:
            f.write(raw)


def load_safetensors(path):
    """Inverse of save_safetensors; used only to self-check the files."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        np_dtype = {"F32": "<f4", "I64": "<i8"}[info["dtype"]]
        arr = np.frombuffer(data[base + begin:base + end], dtype=np_dtype).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out, meta


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


# --------------------------------------------------------------------------
# Teacher: BertForMaskedLM (HF module tree, so named_parameters() gives HF keys)
# --------------------------------------------------------------------------

def gelu(x):
    # HF "gelu" is the exact erf form, not the tanh approximation.
    return F.gelu(x)


class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        # padding_idx as in HF: the pad row gets no gradient from the lookup.
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=PAD_ID)
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=LN_EPS)
        self.dropout = nn.Dropout(0.0)

    def forward(self, input_ids, token_type_ids):  # ids [B,T] -> [B,T,C]
        T = input_ids.shape[1]
        pos = torch.arange(T, device=input_ids.device)[None, :]  # absolute, starting at 0
        x = self.word_embeddings(input_ids) + self.position_embeddings(pos) \
            + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        C = c["hidden_size"]
        self.n_heads = c["num_attention_heads"]
        self.query = nn.Linear(C, C)
        self.key = nn.Linear(C, C)
        self.value = nn.Linear(C, C)
        self.dropout = nn.Dropout(0.0)

    def forward(self, h, add_mask):  # h [B,T,C], add_mask [B,1,1,T] -> [B,T,C]
        B, T, C = h.shape
        H, D = self.n_heads, C // self.n_heads

        def split(x):  # [B,T,C] -> [B,H,T,D]
            return x.view(B, T, H, D).transpose(1, 2)

        q, k, v = split(self.query(h)), split(self.key(h)), split(self.value(h))
        # BERT scales the scores (DistilBERT scales q instead; same maths).
        scores = q @ k.transpose(-1, -2) / math.sqrt(D) + add_mask  # [B,H,T,T]
        probs = self.dropout(torch.softmax(scores, dim=-1))
        return (probs @ v).transpose(1, 2).reshape(B, T, C)


class BertSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=LN_EPS)
        self.dropout = nn.Dropout(0.0)

    def forward(self, ctx, residual):  # post-LN
        return self.LayerNorm(self.dropout(self.dense(ctx)) + residual)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)  # HF really names it "self"
        self.output = BertSelfOutput(c)

    def forward(self, h, add_mask):
        return self.output(self.self(h, add_mask), h)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

    def forward(self, x):
        return gelu(self.dense(x))


class BertOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["intermediate_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=LN_EPS)
        self.dropout = nn.Dropout(0.0)

    def forward(self, inter, residual):
        return self.LayerNorm(self.dropout(self.dense(inter)) + residual)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, h, add_mask):
        a = self.attention(h, add_mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c["num_hidden_layers"])])


class BertModel(nn.Module):
    # BertForMaskedLM builds its BertModel without the pooler.
    def __init__(self, c):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)

    def forward(self, input_ids, attention_mask, token_type_ids):
        # get_extended_attention_mask: (1 - mask) * finfo.min, added to scores.
        dt = self.embeddings.word_embeddings.weight.dtype
        add_mask = (1.0 - attention_mask[:, None, None, :].to(dt)) * NEG  # [B,1,1,T]
        h = self.embeddings(input_ids, token_type_ids)
        hidden = [h]  # HF hidden_states: embedding output, then each layer
        for layer in self.encoder.layer:
            h = layer(h, add_mask)
            hidden.append(h)
        return hidden


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=LN_EPS)

    def forward(self, x):
        return self.LayerNorm(gelu(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transform = BertPredictionHeadTransform(c)
        # The decoder weight is the word-embedding matrix (tied), so only the
        # bias is a parameter of its own: key "cls.predictions.bias".
        self.bias = nn.Parameter(torch.zeros(c["vocab_size"]))

    def forward(self, h, word_embeddings):  # [B,T,C] -> [B,T,V]
        return F.linear(self.transform(h), word_embeddings) + self.bias


class BertOnlyMLMHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.predictions = BertLMPredictionHead(c)


class BertForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c)
        self.cls = BertOnlyMLMHead(c)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        if token_type_ids is None:  # HF default when none are passed
            token_type_ids = torch.zeros_like(input_ids)
        hidden = self.bert(input_ids, attention_mask, token_type_ids)
        logits = self.cls.predictions(hidden[-1], self.bert.embeddings.word_embeddings.weight)
        return logits, hidden


# --------------------------------------------------------------------------
# Student: DistilBertForMaskedLM
# --------------------------------------------------------------------------

class DistilEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["dim"], padding_idx=PAD_ID)
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["dim"])
        self.LayerNorm = nn.LayerNorm(c["dim"], eps=LN_EPS)
        self.dropout = nn.Dropout(0.0)

    def forward(self, input_ids):  # no token types in DistilBERT
        T = input_ids.shape[1]
        pos = torch.arange(T, device=input_ids.device)[None, :]
        return self.dropout(self.LayerNorm(self.word_embeddings(input_ids) + self.position_embeddings(pos)))


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        C = c["dim"]
        self.n_heads = c["n_heads"]
        self.q_lin = nn.Linear(C, C)
        self.k_lin = nn.Linear(C, C)
        self.v_lin = nn.Linear(C, C)
        self.out_lin = nn.Linear(C, C)
        self.dropout = nn.Dropout(0.0)

    def forward(self, x, mask):  # x [B,T,C], mask [B,T] 1 = real token
        B, T, C = x.shape
        H, D = self.n_heads, C // self.n_heads

        def split(t):  # [B,T,C] -> [B,H,T,D]
            return t.view(B, T, H, D).transpose(1, 2)

        q = split(self.q_lin(x)) / math.sqrt(D)  # DistilBERT scales q, not the scores
        k, v = split(self.k_lin(x)), split(self.v_lin(x))
        scores = q @ k.transpose(-1, -2)  # [B,H,T,T]
        # masked_fill (replace), where BERT adds: same softmax for real rows.
        scores = scores.masked_fill((mask == 0)[:, None, None, :], NEG)
        w = self.dropout(torch.softmax(scores, dim=-1))
        return self.out_lin((w @ v).transpose(1, 2).reshape(B, T, C))


class FFN(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.lin1 = nn.Linear(c["dim"], c["hidden_dim"])
        self.lin2 = nn.Linear(c["hidden_dim"], c["dim"])
        self.dropout = nn.Dropout(0.0)

    def forward(self, x):
        return self.dropout(self.lin2(gelu(self.lin1(x))))


class TransformerBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = MultiHeadSelfAttention(c)
        self.sa_layer_norm = nn.LayerNorm(c["dim"], eps=LN_EPS)
        self.ffn = FFN(c)
        self.output_layer_norm = nn.LayerNorm(c["dim"], eps=LN_EPS)

    def forward(self, x, mask):  # post-LN, like BERT
        sa = self.sa_layer_norm(self.attention(x, mask) + x)
        return self.output_layer_norm(self.ffn(sa) + sa)


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([TransformerBlock(c) for _ in range(c["n_layers"])])


class DistilBertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = DistilEmbeddings(c)
        self.transformer = Transformer(c)

    def forward(self, input_ids, attention_mask):
        h = self.embeddings(input_ids)
        hidden = [h]
        for layer in self.transformer.layer:
            h = layer(h, attention_mask)
            hidden.append(h)
        return hidden


class TiedProjector(nn.Module):
    """vocab_projector: its weight is the word-embedding matrix, only the bias
    is its own parameter (key "vocab_projector.bias")."""

    def __init__(self, vocab_size):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, x, weight):
        return F.linear(x, weight, self.bias)


class DistilBertForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.distilbert = DistilBertModel(c)
        self.vocab_transform = nn.Linear(c["dim"], c["dim"])
        self.vocab_layer_norm = nn.LayerNorm(c["dim"], eps=LN_EPS)
        self.vocab_projector = TiedProjector(c["vocab_size"])

    def forward(self, input_ids, attention_mask):
        hidden = self.distilbert(input_ids, attention_mask)
        x = self.vocab_layer_norm(gelu(self.vocab_transform(hidden[-1])))
        logits = self.vocab_projector(x, self.distilbert.embeddings.word_embeddings.weight)
        return logits, hidden


# --------------------------------------------------------------------------
# Initialisation
# --------------------------------------------------------------------------

@torch.no_grad()
def init_teacher(model, gen):
    """HF _init_weights (normal 0.02, zero biases, LN = 1/0, pad row = 0), then
    +0.1*randn on every bias and LayerNorm parameter: with zero biases and unit
    LN weights some gradient checks would pass trivially."""
    ln_params = set()
    for m in model.modules():
        if isinstance(m, nn.Linear):
            m.weight.normal_(0.0, 0.02, generator=gen)
            m.bias.zero_()
        elif isinstance(m, nn.Embedding):
            m.weight.normal_(0.0, 0.02, generator=gen)
            if m.padding_idx is not None:
                m.weight[m.padding_idx].zero_()
        elif isinstance(m, nn.LayerNorm):
            m.weight.fill_(1.0)
            m.bias.zero_()
            ln_params.update({id(m.weight), id(m.bias)})
    for name, p in model.named_parameters():
        if name.endswith("bias") or id(p) in ln_params:
            p.add_(0.1 * torch.randn(p.shape, generator=gen))


@torch.no_grad()
def student_from_teacher(teacher, student, layers, gen):
    """SPEC section 3 (extract_distilbert.py): copy embeddings, the chosen
    teacher layers and the MLM head; then +0.01*randn on every student
    parameter so the student's outputs differ from any teacher sub-network."""
    t = dict(teacher.named_parameters())
    s = dict(student.named_parameters())
    mapping = {}
    for part in ["word_embeddings.weight", "position_embeddings.weight",
                 "LayerNorm.weight", "LayerNorm.bias"]:
        mapping[f"distilbert.embeddings.{part}"] = f"bert.embeddings.{part}"
    layer_map = {
        "attention.q_lin": "attention.self.query",
        "attention.k_lin": "attention.self.key",
        "attention.v_lin": "attention.self.value",
        "attention.out_lin": "attention.output.dense",
        "sa_layer_norm": "attention.output.LayerNorm",
        "ffn.lin1": "intermediate.dense",
        "ffn.lin2": "output.dense",
        "output_layer_norm": "output.LayerNorm",
    }
    for si, ti in enumerate(layers):
        for sn, tn in layer_map.items():
            for w in ("weight", "bias"):
                mapping[f"distilbert.transformer.layer.{si}.{sn}.{w}"] = f"bert.encoder.layer.{ti}.{tn}.{w}"
    for w in ("weight", "bias"):
        mapping[f"vocab_transform.{w}"] = f"cls.predictions.transform.dense.{w}"
        mapping[f"vocab_layer_norm.{w}"] = f"cls.predictions.transform.LayerNorm.{w}"
    mapping["vocab_projector.bias"] = "cls.predictions.bias"
    # (vocab_projector.weight is the word embedding, copied above.)
    assert set(mapping) == set(s), set(s) ^ set(mapping)
    for sn, tn in mapping.items():
        s[sn].copy_(t[tn])
    for name, p in student.named_parameters():
        p.add_(0.01 * torch.randn(p.shape, generator=gen))


# --------------------------------------------------------------------------
# Batch with MLM targets
# --------------------------------------------------------------------------

def make_batch(gen, B=3, T=12, lengths=(12, 9, 5), vocab=99):
    """Rows are [CLS] w.. [SEP] pad..; targets ~15% of the word positions (at
    least 2 per row). Target handling, fixed instead of drawn so that all three
    BERT cases occur: the first target of each row -> [MASK]; the other targets,
    in batch order, cycle keep / random / [MASK]."""
    ids = torch.full((B, T), PAD_ID, dtype=torch.int64)
    attn = torch.zeros((B, T), dtype=torch.int64)
    tt = torch.zeros((B, T), dtype=torch.int64)
    tt[0, T // 2:] = 1  # row 0: a second segment, to exercise token types
    for b, n in enumerate(lengths):
        ids[b, 0] = CLS_ID
        ids[b, 1:n - 1] = torch.randint(FIRST_WORD_ID, vocab, (n - 2,), generator=gen)
        ids[b, n - 1] = SEP_ID
        attn[b, :n] = 1
    labels = torch.full((B, T), IGNORE, dtype=torch.int64)
    inputs = ids.clone()
    cycle = ["keep", "random", "mask"]
    k = 0
    for b, n in enumerate(lengths):
        cand = torch.arange(1, n - 1)  # not [CLS]/[SEP]/pad
        n_tgt = max(2, math.ceil(0.15 * len(cand)))
        pos = cand[torch.randperm(len(cand), generator=gen)[:n_tgt]].sort().values
        for j, p in enumerate(pos.tolist()):
            labels[b, p] = ids[b, p]
            if j == 0:
                inputs[b, p] = MASK_ID
                continue
            case = cycle[k % 3]
            k += 1
            if case == "mask":
                inputs[b, p] = MASK_ID
            elif case == "random":  # a different word id, so the swap is visible
                r = int(ids[b, p])
                while r == int(ids[b, p]):
                    r = int(torch.randint(FIRST_WORD_ID, vocab, (1,), generator=gen))
                inputs[b, p] = r
            # "keep": input stays the original id
    return inputs, attn, tt, labels


# --------------------------------------------------------------------------
# Triple loss (distiller.py step)
# --------------------------------------------------------------------------

def triple_loss(student, t_logits, t_last, input_ids, attn, labels, restrict):
    """Returns (total, parts). t_logits [B,T,V] and t_last [B,T,C] come from the
    teacher run without gradients."""
    s_logits, s_hidden = student(input_ids, attn)  # [B,T,V], all positions
    V = s_logits.shape[-1]
    sel = (labels != IGNORE) if restrict else attn.bool()  # [B,T]
    sel_v = sel.unsqueeze(-1).expand_as(s_logits)
    s_sl = torch.masked_select(s_logits, sel_v).view(-1, V)  # [N,V]
    t_sl = torch.masked_select(t_logits, sel_v).view(-1, V)
    T_ = TEMPERATURE
    # batchmean: summed KL divided by the number of selected positions N.
    loss_ce = F.kl_div(F.log_softmax(s_sl / T_, dim=-1), F.softmax(t_sl / T_, dim=-1),
                       reduction="batchmean") * T_ ** 2
    loss_mlm = F.cross_entropy(s_logits.view(-1, V), labels.view(-1), ignore_index=IGNORE)
    loss_mse = F.mse_loss(s_sl, t_sl, reduction="sum") / s_sl.shape[0]
    # Cosine on the last hidden states, always over every non-pad position.
    s_last = s_hidden[-1]
    C = s_last.shape[-1]
    m = attn.bool().unsqueeze(-1).expand_as(s_last)
    s_h = torch.masked_select(s_last, m).view(-1, C)
    t_h = torch.masked_select(t_last, m).view(-1, C)
    target = torch.ones(s_h.shape[0], dtype=s_h.dtype)
    loss_cos = F.cosine_embedding_loss(s_h, t_h, target, reduction="mean")
    loss = ALPHA_CE * loss_ce + ALPHA_MLM * loss_mlm + ALPHA_COS * loss_cos + ALPHA_MSE * loss_mse
    parts = {"loss": loss, "loss_ce": loss_ce, "loss_mlm": loss_mlm,
             "loss_cos": loss_cos, "loss_mse": loss_mse}
    return loss, parts


# --------------------------------------------------------------------------
# Per-op fixtures
# --------------------------------------------------------------------------

def make_ops(gen):
    tensors, spec = {}, {}

    def rnd(*shape, scale=1.0):
        # float32 draw first, so the stored F32 inputs equal what we compute on
        return (scale * torch.randn(shape, generator=gen)).to(torch.float32).to(DTYPE)

    def record(op, inputs, fn, attrs=None, loss=False, int_inputs=None):
        """inputs: {name: float tensor} differentiated; int_inputs: not."""
        leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
        out = fn(**leaves, **(int_inputs or {}))
        dout = torch.ones_like(out) if loss else rnd(*out.shape)
        grads = torch.autograd.grad(out, list(leaves.values()), grad_outputs=dout)
        names = []

        def put(what, t):
            # Scalars are stored as shape [1]; their values are also in ops.json.
            t = t.detach()
            tensors[f"{op}.{what}"] = t.reshape(1) if t.dim() == 0 else t
            names.append(f"{op}.{what}")

        for k, v in inputs.items():
            put(k, v)
        for k, v in (int_inputs or {}).items():
            put(k, v)
        put("out", out)
        put("dout", dout)
        for k, g in zip(leaves, grads):
            put(f"grad_{k}", g)
        entry = {"tensors": names, "attrs": attrs or {}}
        if loss:
            entry["out"] = float(out)
        spec[op] = entry

    record("linear", {"x": rnd(5, 7), "weight": rnd(6, 7, scale=0.5), "bias": rnd(6)},
           lambda x, weight, bias: F.linear(x, weight, bias),
           {"note": "out = x @ weight^T + bias; weight [out,in]"})
    record("matmul_nt", {"a": rnd(2, 3, 4, 5), "b": rnd(2, 3, 6, 5)},
           lambda a, b: a @ b.transpose(-1, -2), {"note": "out = a @ b^T over the last two dims"})
    record("matmul_tn", {"a": rnd(2, 5, 4), "b": rnd(2, 5, 6)},
           lambda a, b: a.transpose(-1, -2) @ b, {"note": "out = a^T @ b over the last two dims"})
    record("layernorm", {"x": rnd(6, 10, scale=2.0) + 0.5, "weight": 1.0 + rnd(10, scale=0.2),
                         "bias": rnd(10, scale=0.2)},
           lambda x, weight, bias: F.layer_norm(x, (10,), weight, bias, eps=LN_EPS),
           {"eps": LN_EPS, "note": "over the last dim, biased variance"})
    gx = torch.linspace(-6.0, 6.0, 50, dtype=torch.float32).to(DTYPE)
    record("gelu", {"x": gx}, lambda x: F.gelu(x), {"note": "exact erf form: x/2*(1+erf(x/sqrt2))"})

    # Some padded keys in each row but never a fully masked row (a fully masked
    # row degenerates to a uniform softmax in float32 only).
    smask = torch.tensor([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], dtype=torch.int64)
    record("softmax_masked", {"scores": rnd(2, 3, 4, 5, scale=2.0)},
           lambda scores, mask: torch.softmax(
               scores + (1.0 - mask[:, None, None, :].to(DTYPE)) * NEG, dim=-1),
           {"mask_fill": NEG, "note": "softmax(scores + (1-mask)*finfo(f32).min) over the last dim; "
                                      "mask [B,Tk] broadcast over heads and queries"},
           int_inputs={"mask": smask})

    def attention(q, k, v, mask, heads=2):
        B, T, C = q.shape
        D = C // heads

        def split(t):
            return t.view(B, T, heads, D).transpose(1, 2)

        s = split(q) @ split(k).transpose(-1, -2) / math.sqrt(D) \
            + (1.0 - mask[:, None, None, :].to(DTYPE)) * NEG
        return (torch.softmax(s, dim=-1) @ split(v)).transpose(1, 2).reshape(B, T, C)

    amask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.int64)
    record("attention", {"q": rnd(2, 5, 8), "k": rnd(2, 5, 8), "v": rnd(2, 5, 8)}, attention,
           {"heads": 2, "head_dim": 4, "scale": 0.5,
            "note": "[B,T,C] with heads split as view(B,T,H,D); softmax(q k^T/sqrt(D) + (1-mask)*min) v; "
                    "heads concatenated back to C"},
           int_inputs={"mask": amask})

    eids = torch.tensor([[1, 3, 3, 0, 10], [2, 2, 2, 7, 1], [10, 4, 5, 6, 3]], dtype=torch.int64)
    record("embedding", {"weight": rnd(11, 4)}, lambda weight, ids: F.embedding(ids, weight),
           {"padding_idx": None, "note": "plain lookup; gradients of repeated ids accumulate"},
           int_inputs={"ids": eids})

    ce_t = torch.tensor([3, IGNORE, 0, 8, IGNORE, 5], dtype=torch.int64)
    record("cross_entropy", {"logits": rnd(6, 9, scale=2.0)},
           lambda logits, targets: F.cross_entropy(logits, targets, ignore_index=IGNORE),
           {"ignore_index": IGNORE, "reduction": "mean over non-ignored rows"}, loss=True,
           int_inputs={"targets": ce_t})

    kl_t = rnd(5, 9, scale=2.0)

    def kl(s, t=kl_t, T_=TEMPERATURE):
        return F.kl_div(F.log_softmax(s / T_, dim=-1), F.softmax(t / T_, dim=-1),
                        reduction="batchmean") * T_ ** 2

    record("kl_temperature", {"s": rnd(5, 9, scale=2.0)}, kl,
           {"T": TEMPERATURE, "reduction": "batchmean (sum / rows) times T^2",
            "note": "t is a constant input (no gradient): kl_temperature.t"}, loss=True)
    tensors["kl_temperature.t"] = kl_t
    spec["kl_temperature"]["tensors"].insert(1, "kl_temperature.t")

    record("cosine_embedding", {"a": rnd(6, 8), "b": rnd(6, 8)},
           lambda a, b: F.cosine_embedding_loss(a, b, torch.ones(6, dtype=DTYPE), reduction="mean"),
           {"target": 1, "reduction": "mean", "eps": 1e-12,
            "note": "mean(1 - cos); torch adds eps to each squared norm"}, loss=True)

    mse_b = rnd(4, 9)
    record("mse", {"a": rnd(4, 9)}, lambda a, b=mse_b: F.mse_loss(a, b, reduction="sum"),
           {"reduction": "sum", "note": "b is a constant input (no gradient): mse.b"}, loss=True)
    tensors["mse.b"] = mse_b
    spec["mse"]["tensors"].insert(1, "mse.b")

    record("tanh", {"x": rnd(20, scale=2.0)}, lambda x: torch.tanh(x))
    rx = rnd(20)
    rx[rx.abs() < 1e-3] = 0.5  # keep away from the kink at 0
    record("relu", {"x": rx}, lambda x: torch.relu(x))
    return tensors, spec


# --------------------------------------------------------------------------

def bert_config_json():
    c = TEACHER_CFG
    return {
        "model_type": "bert",
        "architectures": ["BertForMaskedLM"],
        "vocab_size": c["vocab_size"],
        "hidden_size": c["hidden_size"],
        "num_hidden_layers": c["num_hidden_layers"],
        "num_attention_heads": c["num_attention_heads"],
        "intermediate_size": c["intermediate_size"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "max_position_embeddings": c["max_position_embeddings"],
        "type_vocab_size": c["type_vocab_size"],
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": PAD_ID,
        "position_embedding_type": "absolute",
    }


def distilbert_config_json():
    c = STUDENT_CFG
    return {
        "model_type": "distilbert",
        "architectures": ["DistilBertForMaskedLM"],
        "vocab_size": c["vocab_size"],
        "dim": c["dim"],
        "n_layers": c["n_layers"],
        "n_heads": c["n_heads"],
        "hidden_dim": c["hidden_dim"],
        "dropout": 0.0,
        "attention_dropout": 0.0,
        "activation": "gelu",
        "max_position_embeddings": c["max_position_embeddings"],
        "initializer_range": 0.02,
        "sinusoidal_pos_embds": False,
        "pad_token_id": PAD_ID,
        "qa_dropout": 0.1,
        "seq_classif_dropout": 0.2,
        "tie_weights_": True,
    }


def params_of(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def main(out_dir):
    torch.set_num_threads(1)  # shared machine; also keeps reductions in one order
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(20191002)  # every draw goes through gen
    os.makedirs(os.path.join(out_dir, "tiny-bert"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "tiny-distilbert"), exist_ok=True)
    meta = {"format": "pt"}

    # ---- models (drawn in float32 so the stored weights are exact) ----
    teacher = BertForMaskedLM(TEACHER_CFG)
    init_teacher(teacher, gen)
    student = DistilBertForMaskedLM(STUDENT_CFG)
    student_from_teacher(teacher, student, TEACHER_LAYERS_FOR_STUDENT, gen)
    teacher = teacher.to(DTYPE).eval()
    student = student.to(DTYPE).eval()  # dropout is 0, train/eval is moot
    for p in teacher.parameters():
        p.requires_grad_(False)

    write_json(os.path.join(out_dir, "tiny-bert", "config.json"), bert_config_json())
    save_safetensors(os.path.join(out_dir, "tiny-bert", "model.safetensors"), params_of(teacher), meta)
    write_json(os.path.join(out_dir, "tiny-distilbert", "config.json"), distilbert_config_json())
    student_init = params_of(student)
    save_safetensors(os.path.join(out_dir, "tiny-distilbert", "model.safetensors"), student_init, meta)

    # ---- batch and forward passes ----
    input_ids, attn, tt, labels = make_batch(gen)
    fwd = {"input_ids": input_ids, "attention_mask": attn, "token_type_ids": tt, "mlm_labels": labels}
    with torch.no_grad():
        t_logits_tt, t_hidden_tt = teacher(input_ids, attn, tt)
        s_logits, s_hidden = student(input_ids, attn)
    for k, h in enumerate(t_hidden_tt):
        fwd[f"teacher.hidden_states.{k}"] = h
    fwd["teacher.logits"] = t_logits_tt
    for k, h in enumerate(s_hidden):
        fwd[f"student.hidden_states.{k}"] = h
    fwd["student.logits"] = s_logits
    save_safetensors(os.path.join(out_dir, "forward.safetensors"), fwd,
                     {"note": "teacher run WITH token_type_ids; all positions incl. padding"})

    # ---- triple loss: distiller.py calls the teacher with input_ids and
    # attention_mask only, so token types are all zero here (SPEC section 4).
    with torch.no_grad():
        t_logits, t_hidden = teacher(input_ids, attn)
    t_last = t_hidden[-1]
    tl_json = {}
    tl_tensors = {"teacher.logits": t_logits, "teacher.last_hidden_state": t_last}
    for key, restrict in (("default", False), ("restrict", True)):
        student.zero_grad(set_to_none=True)
        loss, parts = triple_loss(student, t_logits, t_last, input_ids, attn, labels, restrict)
        loss.backward()
        tl_json[key] = {k: float(v) for k, v in parts.items()}
        for n, p in student.named_parameters():
            tl_tensors[f"grad.{key}.{n}"] = p.grad.detach().clone()
    tl_json.update({
        "alpha_ce": ALPHA_CE, "alpha_mlm": ALPHA_MLM, "alpha_cos": ALPHA_COS, "alpha_mse": ALPHA_MSE,
        "temperature": TEMPERATURE,
        "teacher_token_type_ids": "none passed (all zeros), as distiller.py",
        "inputs": "forward.safetensors input_ids / attention_mask / mlm_labels; "
                  "student weights tiny-distilbert, teacher weights tiny-bert",
        "selected_positions": {"default": int(attn.sum()), "restrict": int((labels != IGNORE).sum())},
    })
    write_json(os.path.join(out_dir, "triple_loss.json"), tl_json)
    save_safetensors(os.path.join(out_dir, "triple_loss.safetensors"), tl_tensors,
                     {"note": "grad.<variant>.<param>: d(total loss)/d(param); tied word "
                              "embedding grad includes the vocab_projector part"})

    # ---- AdamW: 5 steps on the same batch, default triple loss ----
    student.load_state_dict(student_init, strict=True)
    student.zero_grad(set_to_none=True)
    # distiller.py rule, applied literally: no decay if the name contains
    # "bias" or "LayerNorm.weight". In DistilBERT names only
    # distilbert.embeddings.LayerNorm.weight matches the second pattern; the
    # sa_layer_norm / output_layer_norm / vocab_layer_norm weights DO get decay,
    # as do word/position embeddings and every Linear weight.
    no_decay = ["bias", "LayerNorm.weight"]
    named = list(student.named_parameters())
    decay_names = [n for n, _ in named if not any(nd in n for nd in no_decay)]
    no_decay_names = [n for n, _ in named if any(nd in n for nd in no_decay)]
    opt_cfg = dict(lr=1e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01, max_grad_norm=5.0)
    optim = torch.optim.AdamW(
        [{"params": [p for n, p in named if n in decay_names], "weight_decay": opt_cfg["weight_decay"]},
         {"params": [p for n, p in named if n in no_decay_names], "weight_decay": 0.0}],
        lr=opt_cfg["lr"], betas=opt_cfg["betas"], eps=opt_cfg["eps"])
    losses, norms = [], []
    for _ in range(5):
        optim.zero_grad(set_to_none=True)
        loss, _ = triple_loss(student, t_logits, t_last, input_ids, attn, labels, False)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(student.parameters(), opt_cfg["max_grad_norm"])
        optim.step()
        losses.append(float(loss))
        norms.append(float(norm))
    with torch.no_grad():
        final_loss, _ = triple_loss(student, t_logits, t_last, input_ids, attn, labels, False)
    write_json(os.path.join(out_dir, "adamw.json"), {
        "lr": opt_cfg["lr"], "betas": list(opt_cfg["betas"]), "eps": opt_cfg["eps"],
        "weight_decay": opt_cfg["weight_decay"], "max_grad_norm": opt_cfg["max_grad_norm"],
        "losses": losses, "grad_norms": norms, "final_loss": float(final_loss),
        "loss": "default triple loss of triple_loss.json (alpha_mse 0.5), same batch every step",
        "schedule": "constant lr (no warmup/decay); torch AdamW: p *= 1 - lr*wd, then bias-corrected Adam",
        "clipping": "clip_grad_norm_ over all student params (global L2) before each step; "
                    "grad_norms are the pre-clip norms",
        "decay_params": decay_names, "no_decay_params": no_decay_names,
    })
    save_safetensors(os.path.join(out_dir, "adamw_final.safetensors"), params_of(student), meta)

    # ---- per-op fixtures ----
    op_tensors, op_spec = make_ops(gen)
    save_safetensors(os.path.join(out_dir, "ops.safetensors"), op_tensors,
                     {"note": "float64 results rounded to F32; scalars stored with shape [1]"})
    write_json(os.path.join(out_dir, "ops.json"), {
        "note": "tensor names <op>.<input>, <op>.out, <op>.dout (upstream gradient; 1 for losses), "
                "<op>.grad_<input>; computed in float64 from F32 inputs",
        "ops": op_spec})

    self_check(out_dir, input_ids, attn, s_logits)


def self_check(out_dir, input_ids, attn, s_logits):
    """Reload what was written and make sure it round-trips."""
    w, meta = load_safetensors(os.path.join(out_dir, "tiny-distilbert", "model.safetensors"))
    assert meta == {"format": "pt"}
    s2 = DistilBertForMaskedLM(STUDENT_CFG)
    s2.load_state_dict({k: v.to(torch.float32) for k, v in w.items()}, strict=True)
    s2 = s2.to(DTYPE).eval()
    with torch.no_grad():
        logits2, _ = s2(input_ids, attn)
    assert torch.equal(logits2, s_logits), "student reload mismatch"
    # float32 torch vs the float64 golden values: a hint for test tolerances.
    s32 = s2.to(torch.float32)
    with torch.no_grad():
        l32, _ = s32(input_ids, attn)
    diff = (l32.double() - s_logits).abs().max().item()
    total = 0
    for root, _, files in os.walk(out_dir):
        for f in sorted(files):
            p = os.path.join(root, f)
            size = os.path.getsize(p)
            total += size
            print(f"{os.path.relpath(p, out_dir):36s} {size:8d}")
            if f.endswith(".safetensors"):
                load_safetensors(p)
    print(f"{'total':36s} {total:8d}")
    print(f"student logits, torch float32 vs float64 reference: max |diff| = {diff:.3g}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_fixtures.py OUT_DIR")
    main(sys.argv[1])
