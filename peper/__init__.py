"""Peper in a notebook: `import peper`, then `peper.open_recording(path)` or `peper.open_catalog(path)`.

Consumes what Peper wrote (a recording, a training catalog), read-only; produces pandas DataFrames
(`peper.frames`). See `examples/demo.ipynb` for a tour on the demo's outputs.
"""

from peper.frames import Catalog as Catalog
from peper.frames import Recording as Recording
from peper.frames import open_catalog as open_catalog
from peper.frames import open_recording as open_recording

__all__ = ["Catalog", "Recording", "open_catalog", "open_recording"]
