"""Plain-PyTorch modules with Hugging Face semantics and parameter names
(BertForMaskedLM teacher, DistilBertForMaskedLM student) and their seeded
weight initialisation (HF _init_weights, student extraction from the teacher)."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from tiny_config import LN_EPS, NEG, PAD_ID


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
    """docs/method.md §3 (extract_distilbert.py): copy embeddings, the chosen
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
