"""Serving a trained run: predictions on new images, and the model exported for other runtimes.

predict.py  load a run folder and predict images (`load_run`, `predict_images`)
export.py   the trained model as StableHLO or ONNX (`export_run`)
"""
