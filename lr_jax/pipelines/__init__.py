"""The pipelines: a run as stages in order, and the entry points built from those stages.

    stages.py      the stages of a run (runtime, inputs, state, resume, placement, fit, evaluate)
    hooks.py       what runs between compiled chunks: checkpoints, progress, early stopping, interrupts
    sizes.py       the memory a run needs, estimated from its config and refused up front beyond what is free
    spec.py        RunSpec: the model, optimizer spec and dtype built once from the config; the stages take it
    experiment.py  train_and_evaluate(config, workdir): one run (the CLI, the tests and notebooks call it)
    sweep.py       sweep_and_evaluate: a grid of learning rates x seeds trained as one vmapped program
    studies.py     the activation and scale studies, built on sweeps

The stages use the core (train, evaluate), the data and the run folder; nothing below imports this wing.
"""
