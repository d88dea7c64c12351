"""Per-op golden values (inputs, output, upstream gradient, input gradients)
for the unit tests of the individual kernels: ops.safetensors / ops.json."""

import math

import torch
import torch.nn.functional as F

from tiny_config import DTYPE, IGNORE, LN_EPS, NEG, TEMPERATURE


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
