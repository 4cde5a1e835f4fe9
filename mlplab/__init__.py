"""mlplab: the lecture's neural networks, executable, exact and fast.

>>> import mlplab
>>> net = mlplab.Network([2, 2, 1], activation="sigmoid", loss="mse", seed=1)
>>> X, Y = mlplab.datasets.xor()
>>> history = net.fit(X, Y, optimizer="gd", learning_rate=1.0, epsilon=1e-4, max_epochs=50_000)
>>> net.score(X, Y)
1.0
"""

from . import callbacks, datasets, metrics, regularizers
from .callbacks import Callback, EarlyStopping, EpochHook, TerminateOnNaN
from .checkpoint import load_checkpoint
from .estimators import MLPClassifier, MLPRegressor
from .errors import (ConfigError, DataError, DivergenceError, MlplabError, ModelFileError,
                     NotFittedError)
from .gradcheck import gradcheck
from .io import load, save
from .network import Network
from .perceptron import Perceptron
from .trace import trace
from .training import History, fit

__version__ = "0.1.0"
__all__ = [
    "Network", "Perceptron", "MLPClassifier", "MLPRegressor", "fit", "History", "gradcheck",
    "trace", "save", "load", "load_checkpoint", "datasets", "callbacks", "metrics",
    "regularizers",
    "Callback", "EarlyStopping", "EpochHook", "TerminateOnNaN",
    "MlplabError", "ConfigError", "DataError", "ModelFileError", "DivergenceError",
    "NotFittedError", "__version__",
]
