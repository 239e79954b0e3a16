"""The run folder: everything a run writes, and how it writes it so that a folder is never half-written.

    transaction.py  the folder's lock, and claiming a folder for a run (`claim`; overwrite set aside until commit)
    journal.py      the commit journal: outputs staged, then moved in together (rolled forward or back)
    checkpoint.py   checkpoints of the training state, written and found for train.resume
    report.py       the printed lines and the run's files (metrics.json, costs.csv, params.npz, figures)
    plots.py        the line plots (learning curves, ROC), matplotlib, prepared in the drawing process
    inspection.py   pictures of a run's inputs and weights (Pillow): weights.png, mistakes.png
    loggers.py      experiment trackers (TensorBoard, MLflow, CSV) behind one interface
    summary.py      a sweep's or multirun's runs read back, tabulated and ranked
    results.py      a results file: the tables a benchmark or study printed, with command, date, machine

Nothing here trains: the pipelines call these with what a run produced.
"""
