//! Layers, losses and optimizers of Wengert (filled in by the nn issue).
