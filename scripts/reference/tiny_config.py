"""Shared constants of the reference fixtures: the tiny vocabulary's special ids,
the compute dtype, the two tiny model configurations and the distillation loss
weights (see make_fixtures.py for what they are used for)."""

import torch

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
