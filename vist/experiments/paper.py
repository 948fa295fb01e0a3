"""Reference values from the poster (Wu et al., ECCV 2024): real salamander data, pretrained
DINOv2 weights. They appear in tables only as labelled reference columns, never as our results."""

PAPER_SOURCE = "poster (real data, pretrained DINOv2)"

GENERALIZATION_CC: dict[str, dict[str, float | None]] = {
    "CRNN": {"mov1→mov1": 0.857, "mov2→mov2": 0.718, "mov1→mov2": None, "mov2→mov1": None},
    "I3D+MS-TCN": {"mov1→mov1": 0.846, "mov2→mov2": 0.668, "mov1→mov2": 0.108, "mov2→mov1": 0.074},
    "DINOv2+MS-TCN": {"mov1→mov1": 0.849, "mov2→mov2": 0.672, "mov1→mov2": 0.101, "mov2→mov1": 0.100},
    "Vi-ST": {"mov1→mov1": 0.789, "mov2→mov2": 0.570, "mov1→mov2": 0.334, "mov2→mov1": 0.281},
}
"""The poster's "Better Generalization" table: mean CC per model and train→test movie."""

COMPLEMENTARY_TOP8_CC: dict[int, tuple[float, float]] = {
    1: (0.11, 0.17), 8: (0.38, 0.31), 16: (0.42, 0.34), 32: (0.45, 0.40), 64: (0.58, 0.38), 90: (0.54, 0.39),
}
"""Mean CC of the top-8 cells by population size (movie 1, movie 2), read off the poster's figure."""
