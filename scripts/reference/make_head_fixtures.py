#!/usr/bin/env python3
"""Golden fixtures for the downstream heads (docs/method.md §2, issue 4).

Run:  /usr/bin/python3 scripts/reference/make_head_fixtures.py test/fixtures
 (after make_fixtures.py, whose tiny-bert/, tiny-distilbert/ and
 forward.safetensors it reads; its modules and helpers are imported, not copied)

Plain-PyTorch versions of the Hugging Face heads, with HF parameter names:
  distilbert_cls  DistilBertForSequenceClassification, 3 labels:
                  h[CLS] -> pre_classifier -> ReLU -> dropout -> classifier
  distilbert_reg  the same with num_labels 1 (problem_type regression, MSELoss)
  bert_cls        BertForSequenceClassification, 3 labels:
                  pooler tanh(dense(h[CLS])) -> dropout -> classifier
  distilbert_qa   DistilBertForQuestionAnswering: dropout -> qa_outputs (dim -> 2)
  bert_qa         BertForQuestionAnswering (no pooler, no dropout): qa_outputs
Encoders: the weights of tiny-distilbert / tiny-bert. Head-only parameters
(pre_classifier, classifier, qa_outputs, bert.pooler.dense) are drawn here,
seeded: weights N(0, 0.2^2) (larger than HF's 0.02 so the logits, and thus the
gradients reaching the encoder, are O(1)), biases 0.1 * N(0, 1) (non-zero so a
missing bias would show). Dropout is 0 (eval semantics).

Batch: input_ids / attention_mask of forward.safetensors (B 3, T 12, rows of
length 12, 9, 5); the BERT heads also get its token_type_ids (row 0 has a
second segment). Labels (heads.json): classification [2, 0, 1]; regression
[0.5, -1.25, 2.0]; QA start [3, 1, 15], end [6, 0, 4]: start 15 is out of range,
clamped to T = 12 and ignored (HF: clamp(0, T), CrossEntropyLoss(ignore_index=T)),
so the start loss averages two rows. Padded positions are not masked in the
QA logits (HF does not either).

Written under OUT:
  heads.safetensors  <head>.logits (classification, (B, L)),
                     <head>.start_logits / <head>.end_logits (QA, (B, T)),
                     <head>.param.<name>  each head-only parameter,
                     <head>.grad.<name>   d(loss)/d(param) for EVERY parameter;
                       for the word / position embedding tables only the rows
                       the batch reads: word_rows (I64, sorted batch ids) and
                       0..T-1; every other row of those gradients is 0
  heads.json         per head: architecture, base directory, num_labels,
                     problem_type, labels / positions, loss, head parameter names
Computed in float64 from float32 weights, saved as F32 (as make_fixtures.py).
"""

import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402  (the tiny configs, models and file helpers)

HEAD_STD = 0.2
BIAS_NOISE = 0.1
CLS_LABELS = [2, 0, 1]
REG_LABELS = [0.5, -1.25, 2.0]  # exact in float32
QA_START = [3, 1, 15]  # 15 >= T: ignored
QA_END = [6, 0, 4]


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, h):  # [B,T,C] -> [B,C]
        return torch.tanh(self.dense(h[:, 0]))


class BertModelWithPooler(mf.BertModel):
    """HF BertModel(add_pooling_layer=True), as BertForSequenceClassification builds it."""

    def __init__(self, c):
        super().__init__(c)
        self.pooler = BertPooler(c)


class DistilBertForSequenceClassification(nn.Module):
    def __init__(self, c, num_labels):
        super().__init__()
        self.num_labels = num_labels
        self.distilbert = mf.DistilBertModel(c)
        self.pre_classifier = nn.Linear(c["dim"], c["dim"])
        self.classifier = nn.Linear(c["dim"], num_labels)
        self.dropout = nn.Dropout(0.0)  # seq_classif_dropout; 0 here

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        hidden = self.distilbert(input_ids, attention_mask)
        pooled = self.dropout(torch.relu(self.pre_classifier(hidden[-1][:, 0])))  # [B,C]
        return self.classifier(pooled)  # [B,L]


class BertForSequenceClassification(nn.Module):
    def __init__(self, c, num_labels):
        super().__init__()
        self.num_labels = num_labels
        self.bert = BertModelWithPooler(c)
        self.dropout = nn.Dropout(0.0)  # classifier_dropout or hidden_dropout_prob; 0 here
        self.classifier = nn.Linear(c["hidden_size"], num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.bert(input_ids, attention_mask, token_type_ids)
        return self.classifier(self.dropout(self.bert.pooler(hidden[-1])))  # [B,L]


class DistilBertForQuestionAnswering(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.distilbert = mf.DistilBertModel(c)
        self.qa_outputs = nn.Linear(c["dim"], 2)
        self.dropout = nn.Dropout(0.0)  # qa_dropout; 0 here

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        h = self.dropout(self.distilbert(input_ids, attention_mask)[-1])
        start, end = self.qa_outputs(h).split(1, dim=-1)  # [B,T,1] each
        return start.squeeze(-1), end.squeeze(-1)


class BertForQuestionAnswering(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = mf.BertModel(c)  # add_pooling_layer=False in HF
        self.qa_outputs = nn.Linear(c["hidden_size"], 2)

    def forward(self, input_ids, attention_mask, token_type_ids):
        start, end = self.qa_outputs(self.bert(input_ids, attention_mask, token_type_ids)[-1]).split(1, dim=-1)
        return start.squeeze(-1), end.squeeze(-1)


def sequence_classification_loss(logits, labels, num_labels):
    """HF: problem_type regression when num_labels == 1 (MSELoss, mean), else
    single_label_classification for integer labels (CrossEntropyLoss, mean)."""
    if num_labels == 1:
        return F.mse_loss(logits.squeeze(), labels.squeeze())
    return F.cross_entropy(logits.view(-1, num_labels), labels.view(-1))


def question_answering_loss(start, end, start_positions, end_positions):
    ignored = start.size(1)
    sp = start_positions.clamp(0, ignored)
    ep = end_positions.clamp(0, ignored)
    return (F.cross_entropy(start, sp, ignore_index=ignored) + F.cross_entropy(end, ep, ignore_index=ignored)) / 2


@torch.no_grad()
def load_encoder(model, prefix, weights):
    """Copy the `prefix`* tensors of a tiny checkpoint into `model` (strict for those)."""
    own = dict(model.named_parameters())
    for name, t in weights.items():
        if name.startswith(prefix):
            assert own[name].shape == t.shape, name
            own[name].copy_(t)
    return sorted(n for n in own if n not in weights)


def stored_grad(name, g, word_rows, T):
    """Embedding-table gradients are zero outside the rows the batch reads; only
    those rows are stored (word_embeddings: the rows `word_rows`; position_embeddings:
    rows 0..T-1), which keeps the file under 600 KB. The rest is checked to be 0."""
    if name.endswith("word_embeddings.weight"):
        rows = word_rows
    elif name.endswith("position_embeddings.weight"):
        rows = torch.arange(T)
    else:
        return g
    rest = torch.ones(g.shape[0], dtype=torch.bool)
    rest[rows] = False
    assert not g[rest].any(), name
    return g[rows]


@torch.no_grad()
def init_head(model, names, gen):
    own = dict(model.named_parameters())
    for n in names:  # sorted, so the draws do not depend on module order
        p = own[n]
        if n.endswith("bias"):
            p.copy_(BIAS_NOISE * torch.randn(p.shape, generator=gen))
        else:
            p.copy_(HEAD_STD * torch.randn(p.shape, generator=gen))


def main(out_dir):
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(20191003)
    fwd, _ = mf.load_safetensors(os.path.join(out_dir, "forward.safetensors"))
    ids, attn, tt = fwd["input_ids"], fwd["attention_mask"], fwd["token_type_ids"]
    T = ids.shape[1]
    word_rows = torch.unique(ids)  # sorted ids present in the batch (pad included)
    tensors = {"word_rows": word_rows}
    bases = {
        "tiny-distilbert": (mf.STUDENT_CFG, "distilbert."),
        "tiny-bert": (mf.TEACHER_CFG, "bert."),
    }
    heads = [
        ("distilbert_cls", "DistilBertForSequenceClassification", "tiny-distilbert",
         lambda c: DistilBertForSequenceClassification(c, 3)),
        ("distilbert_reg", "DistilBertForSequenceClassification", "tiny-distilbert",
         lambda c: DistilBertForSequenceClassification(c, 1)),
        ("bert_cls", "BertForSequenceClassification", "tiny-bert", lambda c: BertForSequenceClassification(c, 3)),
        ("distilbert_qa", "DistilBertForQuestionAnswering", "tiny-distilbert", DistilBertForQuestionAnswering),
        ("bert_qa", "BertForQuestionAnswering", "tiny-bert", BertForQuestionAnswering),
    ]
    info = {}
    for key, arch, base, build in heads:
        cfg, prefix = bases[base]
        weights, _ = mf.load_safetensors(os.path.join(out_dir, base, "model.safetensors"))
        model = build(cfg)
        head_names = load_encoder(model, prefix, weights)
        init_head(model, head_names, gen)
        for n in head_names:
            tensors[f"{key}.param.{n}"] = dict(model.named_parameters())[n].detach().clone()
        model = model.to(mf.DTYPE).eval()
        model.zero_grad(set_to_none=True)
        entry = {"architecture": arch, "base": base, "head_params": head_names}
        if arch.endswith("SequenceClassification"):
            n_labels = model.num_labels
            if n_labels == 1:
                labels = torch.tensor(REG_LABELS, dtype=mf.DTYPE)
                entry.update(problem_type="regression", labels=REG_LABELS)
            else:
                labels = torch.tensor(CLS_LABELS, dtype=torch.int64)
                entry.update(problem_type="single_label_classification", labels=CLS_LABELS)
            logits = model(ids, attn, tt)
            loss = sequence_classification_loss(logits, labels, n_labels)
            tensors[f"{key}.logits"] = logits
            entry["num_labels"] = n_labels
        else:
            start, end = model(ids, attn, tt)
            sp = torch.tensor(QA_START, dtype=torch.int64)
            ep = torch.tensor(QA_END, dtype=torch.int64)
            loss = question_answering_loss(start, end, sp, ep)
            tensors[f"{key}.start_logits"] = start
            tensors[f"{key}.end_logits"] = end
            entry.update(start_positions=QA_START, end_positions=QA_END, ignored_index=T)
        loss.backward()
        entry["loss"] = float(loss)
        entry["token_type_ids"] = base == "tiny-bert"
        for n, p in model.named_parameters():
            tensors[f"{key}.grad.{n}"] = stored_grad(n, p.grad.detach().clone(), word_rows, T)
        info[key] = entry
        print(f"{key:16s} loss {float(loss):.6f}  head params {head_names}")

    path = os.path.join(out_dir, "heads.safetensors")
    mf.save_safetensors(path, tensors, {"note": "<head>.logits | start_logits | end_logits, "
                                                "<head>.param.<head-only param>, <head>.grad.<every param>; "
                                                "embedding grads: rows word_rows / 0..T-1 only, others 0"})
    mf.write_json(os.path.join(out_dir, "heads.json"), {
        "note": "inputs: forward.safetensors input_ids / attention_mask (+ token_type_ids for the BERT heads); "
                "encoder weights: <base>/model.safetensors; head-only weights: heads.safetensors <head>.param.*; "
                "dropout 0; float64 reference rounded to F32; the grads of *word_embeddings.weight hold only the rows "
                "listed in word_rows, those of *position_embeddings.weight only rows 0..T-1 (all other rows are 0)",
        "head_std": HEAD_STD, "bias_noise": BIAS_NOISE,
        "heads": info,
    })
    mf.load_safetensors(path)  # round-trip check
    print(f"heads.safetensors {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_head_fixtures.py OUT_DIR")
    main(sys.argv[1])
