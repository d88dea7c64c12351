#!/usr/bin/env python3
"""Golden fixtures for distilbert-ts, produced by a plain-PyTorch reference.

Run:  npm run fixtures
 (=   /usr/bin/python3 scripts/reference/make_fixtures.py test/fixtures)

Needs only torch (Debian's 1.13 is enough) and numpy: no `transformers`, no
`safetensors` package. The modules beside it (hf_models.py) reproduce the
Hugging Face BertForMaskedLM / DistilBertForMaskedLM forward passes and
parameter names, and this script the triple loss / optimiser of the HF
`distillation` research project (distiller.py), so the TypeScript side can be checked against them without
network access. Everything is seeded, so a rerun rewrites identical bytes.

Files written under OUT (all small, < 1 MB in total):
  tiny-bert/config.json, tiny-bert/model.safetensors
      teacher BertForMaskedLM (vocab 99, hidden 32, 4 layers, 4 heads, FFN 64,
      40 positions, 2 token types); decoder weight not stored (tied).
  tiny-distilbert/config.json, tiny-distilbert/model.safetensors
      student DistilBertForMaskedLM (2 layers), initialised from teacher layers
      [0, 2] as docs/method.md §3 says, then perturbed so student != teacher;
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

import math
import os
import sys

import torch
import torch.nn.functional as F

# The pieces live in modules beside this script; they are re-exported here so
# that `import make_fixtures as mf` (make_head_fixtures.py) keeps working.
from tiny_config import (  # noqa: F401
    PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID, FIRST_WORD_ID, IGNORE, NEG, DTYPE, LN_EPS,
    TEACHER_CFG, STUDENT_CFG, TEACHER_LAYERS_FOR_STUDENT,
    ALPHA_CE, ALPHA_MLM, ALPHA_COS, ALPHA_MSE, TEMPERATURE,
)
from st_io import save_safetensors, load_safetensors, write_json  # noqa: F401
from hf_models import (  # noqa: F401
    gelu, BertModel, BertForMaskedLM, DistilBertModel, DistilBertForMaskedLM,
    init_teacher, student_from_teacher,
)
from op_fixtures import make_ops


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
    # attention_mask only, so token types are all zero here (docs/method.md §4).
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
