"""The core: the lecture's equations, each once, in plain array code.

activations (g and g'), losses (the cost and δ⁽ᴸ⁾), initializers, layers (forward and backward
only), network (the forward pass and the δ recursion), optimizers (each update rule once),
gradcheck and trace. Nothing here is written for speed: :mod:`mlplab.accel` holds that.
"""
