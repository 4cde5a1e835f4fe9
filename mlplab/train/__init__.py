"""Training: the lecture's 7 steps (:mod:`~mlplab.train.loop`) and everything that watches them
(callbacks, regularizers, clipping, the gradient monitor, the divergence guard)."""
