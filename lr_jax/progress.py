"""A tqdm progress bar for `train.fit`'s `on_chunk` callback: iterations, the latest cost, examples/s.

The compiled loop stays whole: `fit` runs it in chunks (of `train.log_every` steps) and the bar advances
between chunks, on the host.
"""

from __future__ import annotations

from tqdm.auto import tqdm


class ProgressBar:
    """`with ProgressBar(num_steps, m) as bar: fit(..., on_chunk=[bar.update])`; silent when disabled."""

    def __init__(self, num_steps: int, examples_per_step: int, enabled: bool = True, file=None):
        self.examples_per_step = examples_per_step
        # disable=None: shown on a terminal only, so logs and CI output stay clean.
        self.bar = tqdm(total=num_steps, unit="it", desc="train", file=file,
                        disable=None if enabled else True)

    @property
    def visible(self) -> bool:
        return not self.bar.disable

    def update(self, state, costs_n) -> None:
        """Advance by one chunk; show the last cost of the chunk and the throughput so far."""
        if self.bar.disable:
            return
        self.bar.update(len(costs_n))
        rate = self.bar.format_dict.get("rate") or 0.0  # tqdm's smoothed iterations per second
        self.bar.set_postfix(cost=f"{float(costs_n[-1]):.6f}", examples_per_s=f"{rate * self.examples_per_step:.3g}")

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()
