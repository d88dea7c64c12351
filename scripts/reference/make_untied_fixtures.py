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


def untie(model, decoder, head, directory, config_json, prefix, ids, attn, labels, out):
    """Give `model` the untied decoder matrix `decoder` (HF key `head`), run the batch, store the
    model directory and the logits, loss and gradients under `prefix`."""
    dec = torch.nn.Parameter(decoder)
    logits = model(ids, attn, dec)
    loss = mlm(logits, labels)
    loss.backward()
    params = dict(model.named_parameters())
    params[head] = dec
    os.makedirs(directory, exist_ok=True)
    write_json(os.path.join(directory, "config.json"), config_json)
    save_safetensors(os.path.join(directory, "model.safetensors"), {k: v.detach().float() for k, v in params.items()}, {"format": "pt"})
    out[f"{prefix}.logits"] = logits.detach()
    out[f"{prefix}.loss"] = loss.detach().reshape(1)
    for k, v in params.items():
        out[f"{prefix}.grad.{k}"] = v.grad


class UntiedBert(BertForMaskedLM):
    def forward(self, ids, attn, decoder):
        return self.cls.predictions(self.bert(ids, attn, torch.zeros_like(ids))[-1], decoder)


class UntiedDistilBert(DistilBertForMaskedLM):
    def forward(self, ids, attn, projector):
        x = self.vocab_layer_norm(gelu(self.vocab_transform(self.distilbert(ids, attn)[-1])))
        return self.vocab_projector(x, projector)


def main(out_dir):
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(31337)
    fwd, _ = load_safetensors(os.path.join(out_dir, "forward.safetensors"))
    batch = fwd["input_ids"].long(), fwd["attention_mask"].long(), fwd["mlm_labels"].long()
    out = {}
    for cls, cfg, tied_dir, head, config_json, prefix, width in (
        (UntiedBert, TEACHER_CFG, "tiny-bert", "cls.predictions.decoder.weight",
         {**bert_config_json(), "tie_word_embeddings": False}, "bert", TEACHER_CFG["hidden_size"]),
        (UntiedDistilBert, STUDENT_CFG, "tiny-distilbert", "vocab_projector.weight",
         {**distilbert_config_json(), "tie_word_embeddings": False, "tie_weights_": False}, "distilbert", STUDENT_CFG["dim"]),
    ):
        model = cls(cfg).to(DTYPE)
        load_into(model, load_safetensors(os.path.join(out_dir, tied_dir, "model.safetensors"))[0])
        untie(model, decoder_weight(gen, cfg["vocab_size"], width), head, os.path.join(out_dir, f"{tied_dir}-untied"),
              config_json, prefix, *batch, out)
    save_safetensors(os.path.join(out_dir, "untied.safetensors"), {k: v.float() for k, v in out.items()}, {"format": "pt"})


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_untied_fixtures.py OUT_DIR")
    main(sys.argv[1])
