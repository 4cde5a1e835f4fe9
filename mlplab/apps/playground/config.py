"""What a playground session is made of, declared once with its bounds (pydantic models),
and the server's limits.

FastAPI validates every request against these models, so an out-of-range or malformed
parameter is refused with a 4xx naming the field before any engine code runs. Types are
strict (no string, boolean or fraction is converted), every float must be finite, and
``-0.0`` is read as ``0.0`` (NumPy refuses a noise scale of ``-0.0``).
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_HIDDEN_LAYERS = 6
MAX_NEURONS = 8
MAX_POINTS = 2000
MAX_COORD = 1e4  # |x1|, |x2| and |label| of any point, drawn or uploaded
MAX_BODY_BYTES = 1_000_000  # any request body larger than this is refused with 413
# the stream: commands are {"cmd": "pause"}-sized; caps keep one tab from starving the others
MAX_COMMAND_BYTES = 256  # a WebSocket message larger than this is closed with 1009
MAX_STREAMS_PER_SESSION = 4
MAX_STREAMS = 64
COMMANDS_PER_SECOND = 20  # per socket, with bursts of twice that

# name: (kind, classes, default generator noise σ); the slider's 0.5 is the default σ.
DATASETS = {
    "circles": ("classification", 2, 0.1), "xor": ("classification", 2, 0.3),
    "blobs": ("classification", 2, 1.0), "spiral": ("classification", 2, 0.1),
    "moons": ("classification", 2, 0.2), "two_curves": ("classification", 2, 0.05),
    "three_blobs": ("classification", 3, 0.6), "three_spirals": ("classification", 3, 0.1),
    "plane": ("regression", 0, 0.05), "bumps": ("regression", 0, 0.05),
    "ripple": ("regression", 0, 0.05),
}
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)")
Dataset = Literal["circles", "xor", "blobs", "spiral", "moons", "two_curves", "three_blobs",
                  "three_spirals", "plane", "bumps", "ripple"]
Feature = Literal["x1", "x2", "x1^2", "x2^2", "x1x2", "sin(x1)", "sin(x2)"]
HiddenActivation = Literal["sigmoid", "tanh", "relu", "leaky_relu", "identity", "step"]


class Strict(BaseModel):
    """Unknown fields, NaN/inf and wrong JSON types are refused (strict: "0.1", true or 2.5
    are not taken for 0.1, 1 or an integer; a whole number is a valid float)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_negative_zero(cls, value):
        return value + 0.0 if type(value) is float else value  # -0.0 + 0.0 is 0.0


class PlaygroundConfig(Strict):
    """Everything that defines a run; the shareable URL holds exactly this."""

    dataset: Dataset = "circles"
    n_points: int = Field(500, ge=10, le=MAX_POINTS)
    noise: float = Field(0.5, ge=0, le=1, description="σ = noise × 2 × the generator default")
    train_ratio: float = Field(0.5, ge=0.1, le=0.9)
    batch_size: int = Field(10, ge=1, le=MAX_POINTS)
    features: list[Feature] = Field(default_factory=lambda: ["x1", "x2"], min_length=1,
                                    max_length=len(FEATURES))
    hidden: list[int] = Field(default_factory=lambda: [4, 2], max_length=MAX_HIDDEN_LAYERS)
    activations: list[HiddenActivation] = Field(default_factory=lambda: ["tanh", "tanh"],
                                                max_length=MAX_HIDDEN_LAYERS)
    output: Literal["auto", "step"] = "auto"
    loss: Literal["mse", "cross_entropy"] = "cross_entropy"
    optimizer: Literal["sgd", "momentum", "nesterov", "adam"] = "sgd"
    learning_rate: float = Field(0.1, gt=0, le=1)
    regularization: Literal["none", "l1", "l2", "dropout"] = "none"
    reg_rate: float = Field(0.0, ge=0, le=0.9)
    stop_epochs: Optional[int] = Field(None, ge=1, le=1_000_000)
    seed: int = Field(0, ge=0, le=2**31 - 1)

    @model_validator(mode="after")
    def _consistent(self):
        if len(set(self.features)) != len(self.features):
            raise ValueError("features must not repeat")
        for n in self.hidden:
            if not 1 <= n <= MAX_NEURONS:
                raise ValueError(f"each hidden layer needs 1 to {MAX_NEURONS} neurons, got {n}")
        if len(self.activations) != len(self.hidden):
            raise ValueError(f"activations lists one per hidden layer: {len(self.hidden)} "
                             f"layer(s) but {len(self.activations)} activation(s)")
        if "step" in self.activations:
            raise ValueError("step cannot be trained by backpropagation (its derivative is 0): "
                             "use it as the output of a network with no hidden layer "
                             "(output='step', the perceptron rule)")
        kind, classes, _ = DATASETS[self.dataset]
        if self.output == "step" and (self.hidden or kind != "classification" or classes != 2):
            raise ValueError("output='step' (the perceptron rule) needs no hidden layer and "
                             "a two-class data set")
        if kind == "regression" and self.loss == "cross_entropy":
            raise ValueError(f"{self.dataset} is a regression data set: use loss 'mse'")
        if self.regularization in ("l1", "l2") and self.reg_rate > 0.1:
            raise ValueError("an L1/L2 strength λ above 0.1 wipes out every weight; use ≤ 0.1")
        return self


class WeightEdit(Strict):
    """Set one weight ``w_ij`` of ``W⁽ˡ⁾`` (``j = None``: the bias ``b_i``)."""

    layer: int = Field(ge=1, le=MAX_HIDDEN_LAYERS + 1)
    i: int = Field(ge=0, lt=MAX_NEURONS)
    j: Optional[int] = Field(None, ge=0, lt=max(MAX_NEURONS, len(FEATURES)))
    value: float = Field(ge=-100, le=100)


class PointEdit(Strict):
    """Add a point of class/target ``label`` at ``(x1, x2)``, or remove the nearest point."""

    action: Literal["add", "remove"]
    x1: float = Field(ge=-MAX_COORD, le=MAX_COORD)
    x2: float = Field(ge=-MAX_COORD, le=MAX_COORD)
    label: float = Field(0, ge=-MAX_COORD, le=MAX_COORD)
    subset: Literal["train", "test"] = "train"


class ViewOptions(Strict):
    """What the client wants drawn: which hidden layer the warp view shows (0: the input)."""

    warp_layer: int = Field(1, ge=0, le=MAX_HIDDEN_LAYERS)


class TraceRequest(Strict):
    """A data point by subset and index: its trace (forward values, backward deltas)."""

    subset: Literal["train", "test"] = "train"
    index: int = Field(ge=0, lt=MAX_POINTS + 1000)
