"""Golden fixtures for untied MLM decoders (config.json "tie_word_embeddings": false): the tiny
BERT and DistilBERT of make_fixtures.py, each given a decoder weight of its own
(cls.predictions.decoder.weight, vocab_projector.weight) that differs from the word embeddings.

Run after make_fixtures.py:  /usr/bin/python3 scripts/reference/make_untied_fixtures.py test/fixtures

Files written under OUT:
  tiny-bert-untied/{config.json, model.safetensors}
  tiny-distilbert-untied/{config.json, model.safetensors}
  untied.safetensors
      for each model (prefix bert. / distilbert.): the logits of forward.safetensors' batch, the
      masked-LM loss on its mlm_labels, and the gradient of that loss w.r.t. every parameter,
      the decoder weight included ("<prefix>grad.<name>").
Computed in float64 from float32 weights, as make_fixtures.py.
"""

import os
import sys

import torch
import torch.nn.functional as F

from hf_models import BertForMaskedLM, DistilBertForMaskedLM, gelu
from st_io import load_safetensors, save_safetensors, write_json
from tiny_config import DTYPE, IGNORE, STUDENT_CFG, TEACHER_CFG
from make_fixtures import bert_config_json, distilbert_config_json


def load_into(model, tensors):
    state = {k: v.to(DTYPE) for k, v in tensors.items() if k in dict(model.named_parameters())}
    missing = set(dict(model.named_parameters())) - set(state)
    assert not missing, missing
    model.load_state_dict(state, strict=False)


def decoder_weight(gen, vocab, width):
    """A decoder matrix of its own, drawn in float32 so the stored values are exact."""
    return (torch.randn(vocab, width, generator=gen, dtype=torch.float32) * 0.05).to(DTYPE)


def mlm(logits, labels):
    V = logits.shape[-1]
    return F.cross_entropy(logits.view(-1, V), labels.view(-1), ignore_index=IGNORE)


def main(out_dir):
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(31337)
    fwd, _ = load_safetensors(os.path.join(out_dir, "forward.safetensors"))
    ids, attn, labels = fwd["input_ids"].long(), fwd["attention_mask"].long(), fwd["mlm_labels"].long()
    out = {}

    bert = BertForMaskedLM(TEACHER_CFG).to(DTYPE)
    load_into(bert, load_safetensors(os.path.join(out_dir, "tiny-bert", "model.safetensors"))[0])
    dec = torch.nn.Parameter(decoder_weight(gen, TEACHER_CFG["vocab_size"], TEACHER_CFG["hidden_size"]))
    hidden = bert.bert(ids, attn, torch.zeros_like(ids))
    logits = bert.cls.predictions(hidden[-1], dec)  # the decoder is its own matrix now
    loss = mlm(logits, labels)
    loss.backward()
    params = dict(bert.named_parameters())
    params["cls.predictions.decoder.weight"] = dec
    d = os.path.join(out_dir, "tiny-bert-untied")
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "config.json"), {**bert_config_json(), "tie_word_embeddings": False})
    save_safetensors(os.path.join(d, "model.safetensors"), {k: v.detach().float() for k, v in params.items()}, {"format": "pt"})
    out["bert.logits"] = logits.detach()
    out["bert.loss"] = loss.detach().reshape(1)
    for k, v in params.items():
        out[f"bert.grad.{k}"] = v.grad

    student = DistilBertForMaskedLM(STUDENT_CFG).to(DTYPE)
    load_into(student, load_safetensors(os.path.join(out_dir, "tiny-distilbert", "model.safetensors"))[0])
    proj = torch.nn.Parameter(decoder_weight(gen, STUDENT_CFG["vocab_size"], STUDENT_CFG["dim"]))
    s_hidden = student.distilbert(ids, attn)
    x = student.vocab_layer_norm(gelu(student.vocab_transform(s_hidden[-1])))
    s_logits = student.vocab_projector(x, proj)
    s_loss = mlm(s_logits, labels)
    s_loss.backward()
    s_params = dict(student.named_parameters())
    s_params["vocab_projector.weight"] = proj
    d = os.path.join(out_dir, "tiny-distilbert-untied")
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "config.json"), {**distilbert_config_json(), "tie_word_embeddings": False, "tie_weights_": False})
    save_safetensors(os.path.join(d, "model.safetensors"), {k: v.detach().float() for k, v in s_params.items()}, {"format": "pt"})
    out["distilbert.logits"] = s_logits.detach()
    out["distilbert.loss"] = s_loss.detach().reshape(1)
    for k, v in s_params.items():
        out[f"distilbert.grad.{k}"] = v.grad

    save_safetensors(os.path.join(out_dir, "untied.safetensors"), {k: v.float() for k, v in out.items()}, {"format": "pt"})


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_untied_fixtures.py OUT_DIR")
    main(sys.argv[1])
